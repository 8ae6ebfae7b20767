"""GREW and Gait3D per-frame pose text files: the released layouts, key mapping, bad frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gaitforge.data.store import SequenceStore
from gaitforge.io.pose_txt import import_gait3d_pose, import_grew_pose


def _frame(path: Path, values: np.ndarray, lead: tuple[float, float] | None = (1.0, 0.87)) -> None:
    """One frame file as released: one line, comma-separated, two leading numbers then 17 × 3."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nums = ([] if lead is None else list(lead)) + [f"{v:.6f}" for v in values.reshape(-1)]
    path.write_text(",".join(str(v) for v in nums) + "\n")


def _poses(t: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.random((t, 17, 3))
    p[..., :2] *= 200
    return p.round(4)


def test_grew_layout_and_keys(tmp_path: Path) -> None:
    root = tmp_path / "GREW"
    train = _poses(6, 0)
    for i in range(6):  # frames written out of order on purpose: 2-digit and 5-digit names sort by number
        _frame(root / "train" / "00001" / "4XPn5Z28" / f"{i + 1:05d}_2d_pose.txt", train[i])
    (root / "train" / "00001" / "4XPn5Z28" / "00001_3d_pose.txt").write_text("0,0,0\n")  # ignored
    (root / "train" / "00001" / "4XPn5Z28_gei.png").write_bytes(b"")  # a file beside the sequences: ignored
    for name, seed in (("79XJefi8", 1), ("t16VLaQf", 2)):
        for i in range(5):
            _frame(root / "test" / "gallery" / "00001" / name / f"{i + 1:05d}_2d_pose.txt", _poses(5, seed)[i])
    probe = _poses(5, 3)
    for i in range(5):
        _frame(root / "test" / "probe" / "etaGVnWf" / f"{i + 1:05d}_2d_pose.txt", probe[i], lead=None)
    _frame(root / "test" / "probe" / "etaGVnWf" / "00099_2d_pose.txt", np.zeros(7))  # malformed frame
    report = import_grew_pose(root, tmp_path / "store", progress=False)
    assert sorted(report.imported) == [
        "00001/01/79XJefi8",
        "00001/02/t16VLaQf",
        "00001train/00/4XPn5Z28",
        "probe/03/etaGVnWf",
    ]
    assert any("etaGVnWf" in w and "1 unreadable frames" in w for w in report.warnings)
    store = SequenceStore(tmp_path / "store")
    got = store.array(store.index_of("00001train/00/4XPn5Z28"), "pose")
    np.testing.assert_allclose(got, train.astype(np.float32), atol=1e-6)
    np.testing.assert_allclose(store.array(store.index_of("probe/03/etaGVnWf"), "pose"), probe, atol=1e-6)
    assert store.record(store.index_of("probe/03/etaGVnWf")).meta["frames_skipped"] == 1


def test_grew_missing_root_is_reported(tmp_path: Path) -> None:
    report = import_grew_pose(tmp_path / "nothing", tmp_path / "store", progress=False)
    assert [p.kind for p in report.problems] == ["missing_root"] and not report.imported


def test_gait3d_layout(tmp_path: Path) -> None:
    root = tmp_path / "2D_Poses"
    poses = _poses(4, 5)
    for i, f in enumerate((11627, 11628, 11629, 11630)):
        _frame(root / "0000" / "camid0_videoid2" / "seq0" / f"human_crop_f{f}.txt", poses[i])
    (root / "0001" / "camid1_videoid3" / "seq1").mkdir(parents=True)
    report = import_gait3d_pose(root, tmp_path / "store", progress=False)
    assert report.imported == ["0000/camid0_videoid2/seq0"]
    assert [(p.where, p.kind) for p in report.problems] == [("0001/camid1_videoid3/seq1", "empty_folder")]
    store = SequenceStore(tmp_path / "store")
    np.testing.assert_allclose(store.array(0, "pose"), poses, atol=1e-6)
    assert store.record(0).meta["source"] == "gait3d_pose"
