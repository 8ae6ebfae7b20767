"""The MediaPipe backend: its pure geometry (crop window, BlazePose → COCO-17 in image pixels) everywhere, and the
real landmarker on a rendered synthetic person where MediaPipe is installed (``make mediapipe-env``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gaitforge.preprocess.pose_backends.mediapipe_pose import (
    BLAZEPOSE_TO_COCO,
    INSTALL_HINT,
    crop_window,
    landmarks_to_coco,
)
from gaitforge.synth.pose import COCO_KEYPOINTS

#: The 33 BlazePose landmarks in MediaPipe's order (its ``PoseLandmark`` enum, documented in the pose guide).
BLAZEPOSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip


def test_every_coco_joint_takes_the_blazepose_landmark_of_its_name() -> None:
    assert len(BLAZEPOSE_NAMES) == 33
    assert [BLAZEPOSE_NAMES[i] for i in BLAZEPOSE_TO_COCO] == list(COCO_KEYPOINTS)


def test_crop_window_grows_the_box_by_the_margin() -> None:
    box = np.array([100.0, 50.0, 140.0, 150.0])  # 40 x 100
    assert crop_window(box, 0.0, (480, 640)) == (100, 50, 140, 150)
    assert crop_window(box, 0.25, (480, 640)) == (90, 25, 150, 175)
    assert crop_window(np.array([100.2, 50.7, 139.6, 149.1]), 0.0, (480, 640)) == (100, 50, 140, 150)  # outward


def test_crop_window_is_clipped_to_the_frame_and_never_empty() -> None:
    assert crop_window(np.array([-20.0, -5.0, 30.0, 95.0]), 0.2, (100, 200)) == (0, 0, 40, 100)
    assert crop_window(np.array([190.0, 10.0, 260.0, 60.0]), 0.0, (100, 200)) == (190, 10, 200, 60)
    assert crop_window(np.array([50.0, 40.0, 50.0, 40.0]), 0.5, (100, 200)) == (50, 40, 51, 41)
    assert crop_window(np.array([500.0, 400.0, 600.0, 500.0]), 0.0, (100, 200)) == (199, 99, 200, 100)
    with pytest.raises(ValueError, match="finite"):
        crop_window(np.array([np.nan, 0.0, 1.0, 1.0]), 0.1, (100, 200))


def test_landmarks_map_to_coco_positions_in_image_pixels() -> None:
    i = np.arange(33, dtype=np.float64)
    landmarks = np.stack([i / 40.0, 1.0 - i / 40.0, i / 33.0], 1)  # x, y normalised to the crop, visibility
    landmarks[27, 0] = 1.2  # a landmark beyond the crop's right edge stays there
    window = (100, 50, 180, 250)  # an 80 x 200 crop at (100, 50)
    kp = landmarks_to_coco(landmarks, window)
    assert kp.shape == (17, 3) and kp.dtype == np.float32
    for k, b in enumerate(BLAZEPOSE_TO_COCO):
        x = 1.2 if b == 27 else b / 40.0
        assert kp[k, 0] == pytest.approx(100 + 80 * x, abs=1e-4)
        assert kp[k, 1] == pytest.approx(50 + 200 * (1.0 - b / 40.0), abs=1e-4)
        assert kp[k, 2] == pytest.approx(b / 33.0, abs=1e-6)
    nose, left_ankle = kp[COCO_KEYPOINTS.index("nose")], kp[COCO_KEYPOINTS.index("left_ankle")]
    np.testing.assert_allclose(nose, [100.0, 250.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(left_ankle, [196.0, 115.0, 27 / 33], atol=1e-4)


def test_landmarks_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"expected \[33, 3\]"):
        landmarks_to_coco(np.zeros((17, 3)), (0, 0, 10, 10))


def test_without_mediapipe_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from gaitforge.preprocess.pose_backends import MediaPipePose

    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` fail
    with pytest.raises(ImportError, match="make mediapipe-env"):
        MediaPipePose()
    assert "numpy<2" in INSTALL_HINT


def test_bad_settings_are_refused_before_mediapipe_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from gaitforge.preprocess.pose_backends import MediaPipePose

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(ValueError, match="model_complexity: expected 0, 1 or 2, got 3"):
        MediaPipePose(model_complexity=3)
    with pytest.raises(ValueError, match="margin: expected >= 0"):
        MediaPipePose(margin=-0.1)


def test_the_backend_finds_a_rendered_synthetic_walker() -> None:
    mp = pytest.importorskip("mediapipe")
    from gaitforge.preprocess.pose_backends import MediaPipePose, PoseBackend
    from gaitforge.synth.video import SceneConfig, render_scene

    assert [mp.solutions.pose.PoseLandmark(i).name.lower() for i in range(33)] == list(BLAZEPOSE_NAMES)
    cfg = SceneConfig(width=320, height=240, frames=1, n_people=1, seed=1, camera_distance_m=5.0, depth_range_m=(0, 0))
    frames, gt = render_scene(cfg)
    frame = next(frames)
    box = gt.boxes[0]  # [1, 4] the walker's visible pixels, about 30 x 130 px
    est = MediaPipePose()
    assert isinstance(est, PoseBackend)
    kp, heatmaps = est.estimate(frame, box)
    assert heatmaps is None and kp.shape == (1, 17, 3) and kp.dtype == np.float32
    truth = gt.keypoints[0, 0]
    assert (truth[:, 2] > 0).all()
    error = np.linalg.norm(kp[0, :, :2] - truth[:, :2], axis=1) / (box[0, 3] - box[0, 1])  # of the box height
    assert error.mean() < 0.05 and np.mean(error < 0.1) >= 0.9
    assert (kp[0, :, 2] > 0).all()
    empty, none = est.estimate(frame, np.zeros((0, 4), np.float32))
    assert empty.shape == (0, 17, 3) and none is None
    est.close()
