"""Pose layout conversion, number rows, frame numbers and person selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.io.pose_formats import COCO18_TO_COCO17, frame_number, read_number_row, select_person, to_coco17

# OpenPose-18 joint names in order, and the COCO-17 names each COCO joint must come from.
OPENPOSE18 = ["nose", "neck", "r_sho", "r_elb", "r_wri", "l_sho", "l_elb", "l_wri", "r_hip", "r_knee", "r_ank",
              "l_hip", "l_knee", "l_ank", "r_eye", "l_eye", "r_ear", "l_ear"]  # fmt: skip
COCO17 = ["nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_sho", "r_sho", "l_elb", "r_elb", "l_wri", "r_wri",
          "l_hip", "r_hip", "l_knee", "r_knee", "l_ank", "r_ank"]  # fmt: skip


def test_openpose18_mapping_by_joint_name() -> None:
    assert [OPENPOSE18[i] for i in COCO18_TO_COCO17] == COCO17
    op = np.zeros((2, 18, 3))
    op[:, :, 0] = np.arange(18)  # x = OpenPose index
    op[:, :, 2] = 0.5
    coco = to_coco17(op)
    assert coco.dtype == np.float32 and coco.shape == (2, 17, 3)
    assert coco[0, :, 0].tolist() == [float(i) for i in COCO18_TO_COCO17]


def test_flat_rows_and_two_channel_layouts() -> None:
    rows = np.arange(2 * 53, dtype=np.float64).reshape(2, 53)
    coco = to_coco17(rows)
    np.testing.assert_array_equal(coco[1].reshape(-1), rows[1, 2:].astype(np.float32))
    np.testing.assert_array_equal(to_coco17(rows[:, 2:]), coco)
    xy = np.ones((3, 17, 2))
    xy[0, 4] = 0
    out = to_coco17(xy)
    assert out[0, 4, 2] == 0 and out[0, 5, 2] == 1 and out[1, 4, 2] == 1


@pytest.mark.parametrize(
    ("arr", "match"),
    [
        (np.zeros((3, 16, 3)), r"shape \(3, 16, 3\); expected \[T,17,3\]"),
        (np.full((2, 17, 3), np.nan), "NaN or inf"),
        (np.concatenate([np.ones((2, 17, 2)), -np.ones((2, 17, 1))], -1), "negative confidences"),
        (np.array([["a"] * 51]), "dtype"),
    ],
)
def test_bad_layouts_are_named(arr: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_coco17(arr, "x.pkl")


def test_read_number_row(tmp_path: Path) -> None:
    p = tmp_path / "00012_2d_pose.txt"
    p.write_text(",".join(str(v) for v in [3, 7] + list(np.linspace(0, 1, 51))) + "\n")
    row = read_number_row(p)
    assert row.shape == (53,) and row[0] == 3 and row[-1] == 1.0
    q = tmp_path / "bad.txt"
    q.write_text("1, 2, 3e-1\n")
    with pytest.raises(ValueError, match=r"bad.txt: holds 3 numbers; expected one of \[51, 53\]"):
        read_number_row(q)


def test_frame_number() -> None:
    assert frame_number("00012_2d_pose.txt") == 12
    assert frame_number("human_crop_f11627.txt") == 11627
    assert frame_number("0021_keypoints.json") == 21
    assert frame_number("none.txt") == -1


def _person(cx: float, cy: float, size: float, conf: float = 0.9) -> np.ndarray:
    p = np.zeros((17, 3))
    p[:, 0] = cx + np.linspace(-size / 4, size / 4, 17)
    p[:, 1] = cy + np.linspace(-size / 2, size / 2, 17)
    p[:, 2] = conf
    return p


def test_person_selection_strategies() -> None:
    small_confident = _person(10, 10, 20, conf=0.99)
    big = _person(100, 100, 80, conf=0.5)
    people = [small_confident, big]
    assert select_person(people, "largest") == 1
    assert select_person(people, "confident") == 0
    assert select_person(people, "closest") == 1  # no previous frame: the largest
    assert select_person(people, "closest", previous=_person(12, 9, 20)) == 0
    with pytest.raises(ValueError, match="unknown strategy 'biggest'"):
        select_person(people, "biggest")
