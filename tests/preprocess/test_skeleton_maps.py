"""Skeleton maps against the peer's fixtures (every case, every stage), errors, and the store converter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter
from gaitforge.preprocess import skeleton_maps as sm


def _cases(fixtures_dir: Path) -> list[str]:
    index = json.loads((fixtures_dir / "skeleton_maps" / "index.json").read_text())
    return [c["case"] for c in index["cases"]]


CASES = ["sk01_clean", "sk02_missing_joints", "sk03_missing_hips_many", "sk04_joint_missing_every_frame",
         "sk05_geometry_edges"]  # fmt: skip


def test_fixture_index_lists_the_cases_tested(fixtures_dir: Path) -> None:
    assert _cases(fixtures_dir) == CASES


def test_gray_lut_equals_the_fixture_table(fixtures_dir: Path) -> None:
    index = json.loads((fixtures_dir / "skeleton_maps" / "index.json").read_text())
    np.testing.assert_array_equal(sm.gray_lut(), np.array(index["gray_lut"]["table"], np.uint8))


@pytest.mark.parametrize("case", CASES)
def test_every_stage_equals_the_fixture(fixtures_dir: Path, case: str) -> None:
    z = np.load(fixtures_dir / "skeleton_maps" / f"{case}.npz")
    meta = json.loads((fixtures_dir / "skeleton_maps" / f"{case}.json").read_text())
    r = sm.render_detailed(z["keypoints"])
    assert r.imputation_applied == meta["imputation_applied"]
    np.testing.assert_allclose(r.imputed, z["intermediate_imputed"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.normalized, z["intermediate_normalized"], rtol=0, atol=1e-9)
    gray_diff = np.abs(r.gray.astype(int) - z["intermediate_gray128"].astype(int))
    assert gray_diff.max() <= 2 and (gray_diff > 0).mean() <= 5e-4
    out = sm.render(z["keypoints"])
    expected = z["expected_output"]
    assert out.dtype == np.uint8 and out.shape == expected.shape
    diff = np.abs(out.astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() <= 5e-4  # the fixture's tolerance; exact equality is the aim
    assert (diff == 0).all(), f"{case}: {int((diff > 0).sum())} pixels differ by 1 level"
    np.testing.assert_array_equal(out.sum(axis=(2, 3)), np.array(meta["per_frame_output_sum"]))


def test_imputation_fills_only_coordinates(fixtures_dir: Path) -> None:
    kp = np.load(fixtures_dir / "skeleton_maps" / "sk02_missing_joints.npz")["keypoints"]
    filled, applied = sm.impute_missing(kp)
    assert applied
    missing = kp[..., :2] == 0
    assert (filled[..., :2][missing] != 0).all()
    np.testing.assert_array_equal(filled[..., :2][~missing], kp[..., :2][~missing])
    np.testing.assert_array_equal(filled[..., 2], kp[..., 2])


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"shape \(4, 18, 3\); expected \[T, 17, 3\]"):
        sm.render(np.zeros((4, 18, 3)))
    flat = np.ones((2, 17, 3))
    flat[..., 0] = np.arange(17) + 1.0  # every joint at one height
    with pytest.raises(ValueError, match="zero vertical extent"):
        sm.render(flat)
    with pytest.raises(ValueError, match="NaN or inf"):
        sm.render(np.full((2, 17, 3), np.inf))


def test_add_skeleton_maps_copies_a_store(fixtures_dir: Path, tmp_path: Path) -> None:
    kp = np.load(fixtures_dir / "skeleton_maps" / "sk01_clean.npz")["keypoints"].astype(np.float32)
    sil = np.zeros((len(kp), 64, 64), np.uint8)
    with StoreWriter(tmp_path / "src") as w:
        w.add(Sequence("001", "nm-01", "090", {"sil": sil, "pose": kp}, {"note": "x"}))
        w.add(Sequence("002", "nm-01", "090", {"sil": sil}))
    (tmp_path / "src" / "partition.json").write_text('{"TRAIN_SET": ["001"], "TEST_SET": ["002"]}')
    result = sm.add_skeleton_maps(tmp_path / "src", tmp_path / "dst", progress=False)
    assert result["converted"] == 1 and result["skipped"] == [("002/nm-01/090", "no pose modality")]
    dst = SequenceStore(tmp_path / "dst")
    assert len(dst) == 1 and set(dst.record(0).modalities) == {"sil", "pose", "skeleton_map"}
    np.testing.assert_array_equal(dst.array(0, "skeleton_map"), sm.render(kp))
    assert dst.record(0).meta["note"] == "x"
    assert (tmp_path / "dst" / "partition.json").read_text() == (tmp_path / "src" / "partition.json").read_text()
