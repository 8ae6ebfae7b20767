"""OU-MVLP-Pose JSON import: 18-point OpenPose frames, several people per frame, empty frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.io.pose_formats import COCO18_TO_COCO17
from gaitforge.io.pose_oumvlp import import_oumvlp_pose, read_openpose_people


def _person(cx: float, size: float, conf: float = 0.8) -> np.ndarray:
    p = np.zeros((18, 3))
    p[:, 0] = cx + np.linspace(-size / 5, size / 5, 18)
    p[:, 1] = 100 + np.linspace(-size / 2, size / 2, 18)
    p[:, 2] = conf
    return p


def _frame(path: Path, people: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": p.reshape(-1).tolist()} for p in people]}
    path.write_text(json.dumps(doc))


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "OUMVLP-Pose"
    seq = root / "00001" / "000_00"
    # the walker moves right from x=100; a bigger bystander stands at x=400 from frame 3 on
    for f in range(6):
        people = [_person(100 + 5 * f, 80)]
        if f >= 3:
            people.append(_person(400, 120, conf=0.95))
        _frame(seq / f"{f + 21:04d}_keypoints.json", people if f != 2 else [])
    _frame(root / "00001" / "090_01" / "0001_keypoints.json", [_person(50, 60)])
    (root / "00001" / "090_01" / "0002_keypoints.json").write_text("{broken")
    (root / "00002" / "badname").mkdir(parents=True)
    return root


def test_closest_follows_the_walker(dataset: Path, tmp_path: Path) -> None:
    report = import_oumvlp_pose(dataset, tmp_path / "store", progress=False)
    assert report.imported == ["00001/00/000", "00001/01/090"]
    assert [(p.where, p.kind) for p in report.problems] == [("00002/badname", "unknown_file")]
    store = SequenceStore(tmp_path / "store")
    pose = store.array(store.index_of("00001/00/000"), "pose")
    assert pose.shape == (5, 17, 3)  # the empty frame is dropped
    expected = np.stack([_person(100 + 5 * f, 80)[list(COCO18_TO_COCO17)] for f in (0, 1, 3, 4, 5)])
    np.testing.assert_allclose(pose, expected, atol=1e-5)
    meta = store.record(store.index_of("00001/00/000")).meta
    assert meta["frames_empty"] == 1 and meta["frames_multi_person"] == 3
    assert any(w.startswith("00001/01/090: 1 unreadable frames") for w in report.warnings)


def test_largest_takes_the_bystander(dataset: Path, tmp_path: Path) -> None:
    import_oumvlp_pose(dataset, tmp_path / "store", person="largest", progress=False)
    store = SequenceStore(tmp_path / "store")
    pose = store.array(store.index_of("00001/00/000"), "pose")
    assert pose[0, 0, 0] == pytest.approx(_person(100, 80)[0, 0], abs=1e-4)
    assert pose[-1, 0, 0] == pytest.approx(_person(400, 120)[0, 0], abs=1e-4)


def test_alphapose_list_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "a.json"
    p.write_text(json.dumps([{"image_id": "0001.png", "keypoints": list(range(51)), "score": 2.0}]))
    (people,) = read_openpose_people(p)
    assert people.shape == (17, 3)
    p.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1, 2, 3]}]}))
    with pytest.raises(ValueError, match="person 0 has 3 keypoint values"):
        read_openpose_people(p)
    with pytest.raises(ValueError, match="unknown strategy"):
        import_oumvlp_pose(tmp_path, tmp_path / "s", person="tallest")
