"""Gait3D SMPL pickles and Gait3D-Parsing label PNGs into a store; depth PNG folders; refusals naming file and field."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.data.store import SequenceStore
from gaitforge.io.depth_png import import_depth_png
from gaitforge.io.gait3d import import_gait3d

KEYS = [("0000", "camid0_videoid2", "seq0"), ("0001", "camid3_videoid1", "seq1")]


def _smpl(root: Path, key: tuple[str, str, str], t: int, seed: int, width: int = 85) -> np.ndarray:
    folder = root.joinpath(*key)
    folder.mkdir(parents=True)
    vec = np.random.default_rng(seed).normal(size=(t, width))  # float64, as pretreatment_smpl.py writes it
    with open(folder / f"{key[2]}.pkl", "wb") as f:
        pickle.dump(vec, f)
    return vec


def _parsing(root: Path, key: tuple[str, str, str], t: int, seed: int, top: int = 11) -> np.ndarray:
    folder = root.joinpath(*key)
    folder.mkdir(parents=True)
    maps = np.random.default_rng(seed).integers(0, top + 1, (t, 32, 22)).astype(np.uint8)
    for k, m in enumerate(maps):
        assert cv2.imwrite(str(folder / f"{k:04d}.png"), m)
    return maps


def test_smpl_and_parsing_into_one_store(tmp_path: Path) -> None:
    smpl, pars = {}, {}
    for n, key in enumerate(KEYS):
        smpl[key] = _smpl(tmp_path / "smpls", key, 7 + n, n)
        pars[key] = _parsing(tmp_path / "pars", key, 7 + n, n)
    report = import_gait3d(tmp_path / "store", tmp_path / "smpls", tmp_path / "pars", workers=0, progress=False)
    assert report.ok and len(report.imported) == 2
    store = SequenceStore(tmp_path / "store")
    store.verify()
    for key in KEYS:
        i = store.index_of("/".join(key))
        got = store.array(i, "smpl")
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, smpl[key].astype(np.float32))
        np.testing.assert_array_equal(store.array(i, "parsing"), pars[key])


def test_parsing_resized_with_nearest_keeps_labels(tmp_path: Path) -> None:
    maps = _parsing(tmp_path / "pars", KEYS[0], 4, 0)
    report = import_gait3d(tmp_path / "store", parsing_root=tmp_path / "pars", size=(64, 44), workers=0, progress=False)
    assert report.ok
    got = SequenceStore(tmp_path / "store").array(0, "parsing")
    assert got.shape == (4, 64, 44) and set(np.unique(got)) <= set(np.unique(maps))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("smpl84", r"seq1\.pkl: field 'smpl' has 84 values per frame; expected \[T, 85\]"),
        ("smpl_nan", r"seq1\.pkl: field 'smpl' frame 2 has NaN or inf"),
        ("label14", r"0000\.png: field 'parsing' has label 14; expected Gait3D-Parsing labels 0\.\.11"),
    ],
)
def test_bad_files_skip_their_sequence_naming_file_and_field(tmp_path: Path, kind: str, message: str) -> None:
    roots = {"smpl_root": tmp_path / "smpls"} if kind.startswith("smpl") else {"parsing_root": tmp_path / "pars"}
    for n, key in enumerate(KEYS):
        bad = n == 1
        if kind.startswith("smpl"):
            vec = _smpl(tmp_path / "smpls", key, 6, n, 84 if bad and kind == "smpl84" else 85)
            if bad and kind == "smpl_nan":
                vec[2, 40] = np.nan
                with open(tmp_path.joinpath("smpls", *key, f"{key[2]}.pkl"), "wb") as f:
                    pickle.dump(vec, f)
        else:
            maps = _parsing(tmp_path / "pars", key, 6, n)
            if bad:
                maps[0, 3, 3] = 14
                cv2.imwrite(str(tmp_path.joinpath("pars", *key, "0000.png")), maps[0])
    report = import_gait3d(tmp_path / "store", **roots, workers=0, progress=False)
    assert report.imported == ["/".join(KEYS[0])]
    (problem,) = report.problems
    assert problem.where == "/".join(KEYS[1]) and "\n" not in problem.reason
    assert re.search(message, problem.reason), problem.reason
    store = SequenceStore(tmp_path / "store")
    store.verify()
    assert len(store) == 1


def test_a_pickle_that_is_not_an_array_is_refused(tmp_path: Path) -> None:
    folder = tmp_path.joinpath("smpls", *KEYS[0])
    folder.mkdir(parents=True)
    with open(folder / "seq0.pkl", "wb") as f:
        pickle.dump({"cam": np.zeros(3)}, f)
    report = import_gait3d(tmp_path / "store", smpl_root=tmp_path / "smpls", workers=0, progress=False)
    assert [p.kind for p in report.problems] == ["refused_pickle"] and "seq0.pkl" in report.problems[0].reason


def test_depth_pngs_16_bit_and_colour_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    good = tmp_path / "depth" / "001" / "nm-01" / "000"
    good.mkdir(parents=True)
    depth = rng.integers(0, 60000, (5, 24, 20)).astype(np.uint16)
    for k, d in enumerate(depth):
        cv2.imwrite(str(good / f"{k:03d}.png"), d)
    colour = tmp_path / "depth" / "002" / "nm-01" / "000"
    colour.mkdir(parents=True)
    for k in range(3):
        cv2.imwrite(str(colour / f"{k:03d}.png"), rng.integers(0, 255, (24, 20, 3)).astype(np.uint8))
    report = import_depth_png(tmp_path / "depth", tmp_path / "store", workers=0, progress=False)
    assert report.imported == ["001/nm-01/000"]
    assert "000.png: field 'depth' has 3 channels" in report.problems[0].reason
    assert "depth_rgb" in report.problems[0].reason
    np.testing.assert_array_equal(SequenceStore(tmp_path / "store").array(0, "depth"), depth)


def test_command_line_gait3d(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _smpl(tmp_path / "smpls", KEYS[0], 5, 0)
    rc = main(["-q", "import", "gait3d", "--smpl", str(tmp_path / "smpls"), "--out", str(tmp_path / "s"),
               "--workers", "0"])  # fmt: skip
    assert rc == 0 and "imported 1" in capsys.readouterr().out
    assert SequenceStore(tmp_path / "s").modalities == ["smpl"]
