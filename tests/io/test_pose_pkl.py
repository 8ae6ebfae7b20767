"""Pose pickle import: COCO-17, GREW rows and OpenPose-18 layouts, safe loading, per-sequence problems."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.io.pose_formats import COCO18_TO_COCO17
from gaitforge.io.pose_pkl import import_pose_pkl, load_pose_pkl


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=4))


@pytest.fixture
def dataset(tmp_path: Path) -> dict:
    rng = np.random.default_rng(0)
    root = tmp_path / "poses"
    coco = rng.random((12, 17, 3)) * 100  # float64, as the field's files
    grew = rng.random((7, 53))
    op18 = rng.random((6, 18, 3))
    _dump(root / "001" / "nm-01" / "090" / "090.pkl", coco)
    _dump(root / "002" / "00" / "4XPn5Z28" / "4XPn5Z28.pkl", grew)
    _dump(root / "003" / "01" / "000" / "000.pkl", op18)
    _dump(root / "004" / "nm-01" / "090" / "090.pkl", _Evil(tmp_path / "pwned"))
    _dump(root / "005" / "nm-01" / "090" / "090.pkl", rng.random((4, 15, 3)))
    _dump(root / "006" / "nm-01" / "090" / "a.pkl", coco)
    _dump(root / "006" / "nm-01" / "090" / "b.pkl", coco)
    _dump(root / "007" / "nm-01" / "090" / "090.pkl", np.zeros((0, 17, 3)))
    return {"root": root, "coco": coco, "grew": grew, "op18": op18, "tmp": tmp_path}


def test_import_converts_every_layout(dataset: dict) -> None:
    report = import_pose_pkl(dataset["root"], dataset["tmp"] / "store", progress=False)
    assert not (dataset["tmp"] / "pwned").exists()
    assert report.imported == ["001/nm-01/090", "002/00/4XPn5Z28", "003/01/000"]
    kinds = {p.where: p.kind for p in report.problems}
    assert kinds == {
        "004/nm-01/090": "refused_pickle",
        "005/nm-01/090": "invalid",
        "006/nm-01/090": "ambiguous",
        "007/nm-01/090": "no_valid_frames",
    }
    store = SequenceStore(dataset["tmp"] / "store")
    pose = store.array(store.index_of("001/nm-01/090"), "pose")
    assert pose.dtype == np.float32 and pose.shape == (12, 17, 3)
    np.testing.assert_array_equal(pose, dataset["coco"].astype(np.float32))
    grew = store.array(store.index_of("002/00/4XPn5Z28"), "pose")
    np.testing.assert_array_equal(grew, dataset["grew"][:, 2:].reshape(7, 17, 3).astype(np.float32))
    op = store.array(store.index_of("003/01/000"), "pose")
    np.testing.assert_array_equal(op, dataset["op18"][:, list(COCO18_TO_COCO17)].astype(np.float32))
    assert store.record(0).meta["source"] == "pose_pkl" and store.record(0).meta["file"] == "090.pkl"


def test_reimport_resumes_and_partition_filters(dataset: dict) -> None:
    store_root = dataset["tmp"] / "store"
    import_pose_pkl(dataset["root"], store_root, partition={"TRAIN_SET": ["001"], "TEST_SET": []}, progress=False)
    again = import_pose_pkl(dataset["root"], store_root, progress=False)
    assert again.skipped_existing == ["001/nm-01/090"]
    assert "002/00/4XPn5Z28" in again.imported


def test_load_pose_pkl_refuses_code(dataset: dict) -> None:
    from gaitforge.io.safe_pickle import RefusedPickleError

    with pytest.raises(RefusedPickleError):
        load_pose_pkl(dataset["root"] / "004" / "nm-01" / "090" / "090.pkl")
