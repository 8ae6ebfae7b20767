"""SUSTech1K's released pickles (point clouds, colour-mapped depths) into a store, and the refusals of bad files."""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.data.ragged import RaggedFrames
from gaitforge.data.store import SequenceStore
from gaitforge.io.safe_pickle import RefusedPickleError, load_numpy_pickle_list
from gaitforge.io.sustech1k import import_sustech1k


def _write_sequence(root: Path, subject: str, seq: str, view: str, t: int, seed: int, **bad: object) -> dict:
    """One sequence folder in the released layout: PCDs (list of float64 [N, 3]), PCDs_depths (uint8 [T,3,64,64]),
    a camera pickle the importer must ignore, and the -sync- variants (fewer frames)."""
    rng = np.random.default_rng(seed)
    folder = root / subject / seq / view
    folder.mkdir(parents=True)
    pcds = [rng.normal(0, 0.3, (int(rng.integers(50, 300)), 3)) + [8.0, 0.0, 0.8] for _ in range(t)]
    if "nan_frame" in bad:
        pcds[int(bad["nan_frame"])][3, 1] = np.nan
    if "empty_frame" in bad:
        pcds[int(bad["empty_frame"])] = np.zeros((0, 3))
    depths = rng.integers(0, 255, (bad.get("depth_frames", t), 3, 64, 64)).astype(np.uint8)
    with open(folder / f"00-{view}-LiDAR-PCDs.pkl", "wb") as f:
        pickle.dump(pcds, f)
    with open(folder / f"01-{view}-LiDAR-PCDs_depths.pkl", "wb") as f:
        pickle.dump(depths, f)
    with open(folder / f"03-{view}-Camera-Pose.pkl", "wb") as f:
        pickle.dump(np.zeros((t, 17, 3)), f)
    with open(folder / f"08-sync-{view}-LiDAR-PCDs.pkl", "wb") as f:
        pickle.dump(pcds[: t - 2], f)
    with open(folder / f"09-sync-{view}-LiDAR-PCDs_depths.pkl", "wb") as f:
        pickle.dump(depths[: t - 2], f)
    return {"points": pcds, "depth": depths}


def test_import_points_and_depths_in_the_released_layout(tmp_path: Path) -> None:
    src = tmp_path / "SUSTech1K-Released-pkl"
    a = _write_sequence(src, "0000", "00-nm", "000", 12, 0)
    b = _write_sequence(src, "0001", "01-bg", "090", 9, 1)
    report = import_sustech1k(src, tmp_path / "store", workers=0, progress=False)
    assert report.ok and sorted(report.imported) == ["0000/00-nm/000", "0001/01-bg/090"]
    store = SequenceStore(tmp_path / "store")
    store.verify()
    i = store.index_of("0000/00-nm/000")
    pts = store.array(i, "points")
    assert isinstance(pts, RaggedFrames) and len(pts) == 12 and pts.dtype == np.float32
    for k, frame in enumerate(a["points"]):
        np.testing.assert_array_equal(pts.frame(k), frame.astype(np.float32))
    np.testing.assert_array_equal(store.array(i, "depth_rgb"), a["depth"].transpose(0, 2, 3, 1))
    assert store.record(i).meta["files"] == {"points": "00-000-LiDAR-PCDs.pkl", "depth_rgb": "01-000-LiDAR-PCDs_depths.pkl"}
    j = store.index_of("0001/01-bg/090")
    assert store.frames(j, "points", [8]).frame(0).shape == b["points"][8].shape


def test_sync_pickles_and_points_only(tmp_path: Path) -> None:
    src = tmp_path / "pkl"
    _write_sequence(src, "0000", "00-nm", "000", 12, 0)
    report = import_sustech1k(src, tmp_path / "store", modalities=["points"], sync=True, workers=0, progress=False)
    assert report.ok
    store = SequenceStore(tmp_path / "store")
    assert store.modalities == ["points"] and store.lengths()[0] == 10


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"nan_frame": 4}, r"00-000-LiDAR-PCDs\.pkl: frame 4 of field 'points' has NaN or inf at point 3"),
        ({"empty_frame": 2}, r"00-000-LiDAR-PCDs\.pkl: frame 2 of field 'points' is empty"),
        ({"depth_frames": 11}, r"frame counts differ \(00-000-LiDAR-PCDs\.pkl: 12, 01-000-LiDAR-PCDs_depths\.pkl: 11\)"),
    ],
)
def test_bad_point_clouds_skip_the_sequence_naming_file_and_field(tmp_path: Path, bad: dict, message: str) -> None:
    src = tmp_path / "pkl"
    _write_sequence(src, "0000", "00-nm", "000", 12, 0)
    _write_sequence(src, "0001", "00-nm", "000", 12, 1, **bad)
    report = import_sustech1k(src, tmp_path / "store", workers=0, progress=False)
    assert report.imported == ["0000/00-nm/000"]
    (problem,) = report.problems
    assert problem.where == "0001/00-nm/000" and problem.kind == "invalid"
    assert "\n" not in problem.reason
    assert re.search(message, problem.reason), problem.reason
    store = SequenceStore(tmp_path / "store")
    store.verify()
    assert len(store) == 1  # nothing of the bad sequence


class _Evil:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("echo pwned",))


def test_a_pickle_with_code_is_refused_not_run(tmp_path: Path) -> None:
    src = tmp_path / "pkl"
    _write_sequence(src, "0000", "00-nm", "000", 5, 0)
    path = src / "0000" / "00-nm" / "000" / "00-000-LiDAR-PCDs.pkl"
    with open(path, "wb") as f:
        pickle.dump([np.zeros((3, 3)), _Evil()], f)
    report = import_sustech1k(src, tmp_path / "store", workers=0, progress=False)
    assert [p.kind for p in report.problems] == ["refused_pickle"]
    assert "refused global" in report.problems[0].reason and str(path) in report.problems[0].reason
    with pytest.raises(RefusedPickleError, match="together exceed 1000 bytes"):
        with open(path, "wb") as f:
            pickle.dump([np.zeros((40, 3)), np.zeros((40, 3))], f, protocol=5)  # arrays declared up front
        load_numpy_pickle_list(path, max_total=1000)
    with open(path, "wb") as f:
        pickle.dump([np.zeros((3, 3)), "text"], f)
    with pytest.raises(RefusedPickleError, match="item 1 is a str"):
        load_numpy_pickle_list(path)


def test_command_line_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "pkl"
    _write_sequence(src, "0000", "00-nm", "000", 6, 0)
    _write_sequence(src, "0001", "00-nm", "000", 6, 1, empty_frame=0)
    rc = main(["-q", "import", "sustech1k", str(src), "--out", str(tmp_path / "store"), "--workers", "0"])
    out = capsys.readouterr().out
    assert rc == 1 and "imported 1" in out and "frame 0 of field 'points' is empty" in out
    assert len(SequenceStore(tmp_path / "store")) == 1
    rc = main(["-q", "store", "info", str(tmp_path / "store")])
    info = json.loads(capsys.readouterr().out)
    assert rc == 0 and info["modalities"]["points"]["layouts"][0]["frame_shape"] == [None, 3]
