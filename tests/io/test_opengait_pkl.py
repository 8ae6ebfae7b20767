"""Import of the field's pkl layout: modality by file name, safe loading, malicious files refused."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.io.opengait_pkl import guess_modality, import_opengait_pkl


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _dump(path: Path, obj, protocol: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "pkls"
    rng = np.random.default_rng(0)
    _dump(root / "001" / "nm-01" / "090" / "090.pkl", rng.integers(0, 256, (9, 64, 64), dtype=np.uint8))
    _dump(
        root / "001" / "nm-01" / "000" / "00-sils.pkl", rng.integers(0, 256, (5, 64, 64), dtype=np.uint8), 2
    )
    _dump(root / "001" / "nm-01" / "000" / "01-pose.pkl", rng.random((5, 17, 3)))  # float64 → float32
    _dump(root / "002" / "nm-01" / "090" / "090.pkl", _Evil(tmp_path / "pwned"))
    _dump(root / "003" / "nm-01" / "090" / "090.pkl", {"not": "an array"})
    _dump(root / "004" / "nm-01" / "090" / "a-sils.pkl", np.zeros((3, 64, 64), np.uint8))
    _dump(root / "004" / "nm-01" / "090" / "b-sils.pkl", np.zeros((3, 64, 64), np.uint8))
    _dump(root / "005" / "nm-01" / "090" / "090.pkl", np.zeros((0, 64, 64), np.uint8))  # empty sequence
    _dump(root / "006" / "nm-01" / "090" / "x-pose.pkl", np.zeros((4, 18, 3), np.float32))  # 18 joints
    (root / "007" / "nm-01" / "090").mkdir(parents=True)
    (root / "008" / "nm-01" / "090").mkdir(parents=True)
    (root / "008" / "nm-01" / "090" / "090.pkl").write_bytes(b"\x80\x04garbage")
    return root


def test_import(dataset: Path, tmp_path: Path) -> None:
    report = import_opengait_pkl(dataset, tmp_path / "store", progress=False)
    assert not (tmp_path / "pwned").exists()
    assert report.imported == ["001/nm-01/000", "001/nm-01/090"]
    problems = {p.where: (p.kind, p.reason) for p in report.problems}
    assert problems["002/nm-01/090"][0] == "refused_pickle"
    assert "090.pkl: refused global 'posix.system'" in problems["002/nm-01/090"][1]
    assert problems["003/nm-01/090"][0] == "refused_pickle" and "holds a dict" in problems["003/nm-01/090"][1]
    assert problems["004/nm-01/090"][0] == "ambiguous"
    assert (
        problems["005/nm-01/090"][0] == "invalid"
        and "expected at least 1 frame" in problems["005/nm-01/090"][1]
    )
    assert problems["006/nm-01/090"][0] == "invalid" and "expected [T, 17, 3]" in problems["006/nm-01/090"][1]
    assert problems["007/nm-01/090"][0] == "empty_folder"
    assert problems["008/nm-01/090"][0] == "unreadable"

    store = SequenceStore(tmp_path / "store", verify=True)
    both = store.get(store.index_of("001/nm-01/000"))
    assert both.modalities["sil"].shape == (5, 64, 64) and both.modalities["pose"].dtype == np.float32
    assert both.meta["files"] == {"sil": "00-sils.pkl", "pose": "01-pose.pkl"}
    single = store.get(store.index_of("001/nm-01/090"))
    assert list(single.modalities) == ["sil"] and single.length == 9


def test_resume_and_partition(dataset: Path, tmp_path: Path) -> None:
    part = {"TRAIN_SET": ["001"], "TEST_SET": []}
    first = import_opengait_pkl(dataset, tmp_path / "s", partition=part, progress=False)
    assert first.imported == ["001/nm-01/000", "001/nm-01/090"]
    assert first.counts["not_in_partition"] == 7 and first.problems == []
    again = import_opengait_pkl(dataset, tmp_path / "s", partition=part, progress=False, workers=2)
    assert again.imported == [] and again.skipped_existing == first.imported
    assert SequenceStore(tmp_path / "s").records[0].meta["sets"] == ["TRAIN_SET"]


def test_modality_map(tmp_path: Path) -> None:
    root = tmp_path / "poses"
    _dump(root / "001" / "nm-01" / "090" / "090.pkl", np.ones((6, 17, 3), np.float32))
    _dump(root / "001" / "nm-01" / "090" / "notes.pkl", np.ones((6, 2), np.float32))
    report = import_opengait_pkl(root, tmp_path / "s", modality_map={"0*.pkl": "pose"}, progress=False)
    assert report.imported == ["001/nm-01/090"]
    assert any("notes.pkl" in w for w in report.warnings)
    assert SequenceStore(tmp_path / "s").records[0].modalities == ["pose"]


def test_guess_modality() -> None:
    assert guess_modality(np.zeros((2, 64, 64), np.uint8)) == "sil"
    assert guess_modality(np.zeros((2, 17, 3), np.float64)) == "pose"
    assert guess_modality(np.zeros((2, 2, 64, 64), np.uint8)) == "skeleton_map"
    assert guess_modality(np.zeros((2, 8, 8, 3), np.uint8)) == "rgb"
    assert guess_modality(np.zeros((2, 5), np.int32)) is None


def test_missing_root(tmp_path: Path) -> None:
    report = import_opengait_pkl(tmp_path / "nope", tmp_path / "s", progress=False)
    assert report.counts == {"imported": 0, "skipped_existing": 0, "missing_root": 1}
