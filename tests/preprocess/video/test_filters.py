"""Track filtering: each rule and its reason; walkers in loops are kept."""

from __future__ import annotations

import numpy as np

from gaitforge.preprocess.video.filters import TrackFilter, check_track, track_motion

FPS = 10.0
RULES = TrackFilter(min_frames=20)


def _track(xs: np.ndarray, h: float = 80.0, w: float = 30.0, bottom: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
    frames = np.arange(len(xs))
    boxes = np.stack([xs - w / 2, np.full_like(xs, bottom - h), xs + w / 2, np.full_like(xs, bottom)], 1)
    return frames, boxes.astype(np.float32)


def test_walker_is_kept_and_speed_is_measured() -> None:
    frames, boxes = _track(100 + 6.0 * np.arange(40))  # 60 px/s = 0.75 heights/s
    speed, path = track_motion(frames, boxes, FPS)
    assert abs(np.median(speed) - 0.75) < 0.05
    assert abs(path - 6.0 * 39 / 80) < 0.5
    assert check_track(frames, boxes, FPS, RULES)[0] is None


def test_back_and_forth_walker_is_kept() -> None:
    xs = np.concatenate([100 + 6.0 * np.arange(30), 274 - 6.0 * np.arange(30)])
    frames, boxes = _track(xs)
    assert abs(xs[-1] - xs[0]) < 10  # no net displacement
    assert check_track(frames, boxes, FPS, RULES)[0] is None


def test_rejections() -> None:
    rng = np.random.default_rng(0)
    frames, boxes = _track(100 + rng.normal(0, 1.0, 50))  # standing, jittering
    assert check_track(frames, boxes, FPS, RULES)[0] == "stationary"
    xs = np.concatenate([np.full(60, 100.0), 100 + 6.0 * np.arange(20)])  # mostly standing
    assert check_track(*_track(xs), FPS, RULES)[0] == "too_slow"
    assert check_track(*_track(100 + 6.0 * np.arange(10)), FPS, RULES)[0] == "too_few_frames"
    assert check_track(*_track(100 + 3.0 * np.arange(40), h=20, w=8), FPS, RULES)[0] == "too_small"
    assert check_track(*_track(100 + 6.0 * np.arange(40), h=40, w=80), FPS, RULES)[0] == "not_upright"
    reason, detail = check_track(*_track(100 + 6.0 * np.arange(40), h=200, w=10), FPS, RULES)
    assert reason == "too_elongated" and "20.00" in detail


def _depth_walker(cam_height_m: float, speed_mps: float, frames: int = 40, fps: float = 10.0) -> np.ndarray:
    """A 1.7 m person walking straight toward a pinhole camera (focal = frame height = 480 px) from 12 m."""
    f, body = 480.0, 1.7
    z = 12.0 - speed_mps * np.arange(frames) / fps
    h = f * body / z
    foot = 240.0 + f * cam_height_m / z
    cx = np.full(frames, 320.0)
    return np.stack([cx - 0.2 * h, foot - h, cx + 0.2 * h, foot], 1).astype(np.float32)


def test_walking_toward_the_camera_counts_as_walking() -> None:
    boxes = _depth_walker(cam_height_m=0.3, speed_mps=1.2)  # camera near hip height: the feet hardly move
    frames = np.arange(len(boxes))
    # without the frame height the depth movement is only d(log h)/dt (about 0.1/s): not walking
    assert check_track(frames, boxes, FPS, RULES)[0] in ("stationary", "too_slow")
    reason, detail = check_track(frames, boxes, FPS, RULES, frame_height=480)
    assert reason is None, detail
    speed, _ = track_motion(frames, boxes, FPS, frame_height=480)
    assert 0.5 < np.median(speed) < 1.0  # 1.2 m/s over 1.7 m = 0.7 heights/s
    away = boxes[::-1].copy()  # the same walk backwards: walking away
    assert check_track(frames, away, FPS, RULES, frame_height=480)[0] is None


def test_a_person_standing_still_with_jittery_boxes_is_stationary() -> None:
    rng = np.random.default_rng(0)
    n = 60
    h = 100.0 * np.exp(rng.normal(0, 0.04, n))  # segmentation jitter of the box height
    foot = 300.0 + rng.normal(0, 1.0, n)
    cx = 320.0 + rng.normal(0, 1.0, n)
    boxes = np.stack([cx - 0.2 * h, foot - h, cx + 0.2 * h, foot], 1).astype(np.float32)
    assert check_track(np.arange(n), boxes, FPS, RULES, frame_height=480)[0] == "stationary"


def test_a_small_far_person_standing_still_is_not_made_to_walk_by_the_depth_term() -> None:
    rng = np.random.default_rng(1)
    n = 80
    h = 40.0 * np.exp(rng.normal(0, 0.05, n))  # 40 px tall in an 854 px frame: distance factor about 21
    foot = 200.0 + rng.normal(0, 0.5, n)
    cx = 100.0 + rng.normal(0, 0.5, n)
    boxes = np.stack([cx - 0.2 * h, foot - h, cx + 0.2 * h, foot], 1).astype(np.float32)
    speed, _ = track_motion(np.arange(n), boxes, FPS, frame_height=854)
    assert check_track(np.arange(n), boxes, FPS, RULES, frame_height=854)[0] in ("stationary", "too_slow")
    assert np.median(speed) < RULES.min_speed
