"""Synthetic videos of real-footage failure cases: hand-held camera, walking in depth, occluders, screen overlays."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.synth.video import (
    SceneConfig,
    failure_scenes,
    load_video_ground_truth,
    make_synthetic_video,
    render_scene,
)

BASE = SceneConfig(
    width=192, height=144, frames=16, fps=10.0, n_people=2, seed=3, camera_distance_m=7.0, depth_range_m=(-1.0, 1.0)
)


def _render(cfg: SceneConfig) -> tuple[np.ndarray, object]:
    frames, gt = render_scene(cfg)
    return np.stack(list(frames)), gt


def _check_ground_truth(gt: object, n_frames: int, n_people: int) -> None:
    """Boxes are the visible pixels' bounds; visible keypoints lie on their person."""
    for t in range(n_frames):
        for p in range(n_people):
            ys, xs = np.nonzero(gt.ids[t] == p + 1)
            if len(ys) == 0:
                assert np.isnan(gt.boxes[t, p]).all()
                continue
            assert gt.boxes[t, p].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            kp = gt.keypoints[t, p]
            vis = kp[:, 2] == 1
            xi, yi = np.round(kp[vis, 0]).astype(int), np.round(kp[vis, 1]).astype(int)
            assert (gt.ids[t, yi, xi] == p + 1).all()


def test_static_camera_has_identity_motion() -> None:
    _, gt = _render(BASE)
    assert gt.camera.shape == (16, 2, 3)
    assert np.allclose(gt.camera, np.eye(2, 3)[None])


def test_drift_reaches_the_requested_distance() -> None:
    cfg = replace(BASE, camera_drift_px=30.0)
    frames, gt = _render(cfg)
    shift = gt.camera[:, :, 2] - gt.camera[0, :, 2]
    assert np.allclose(gt.camera[:, :, :2], np.eye(2)[None], atol=1e-6)  # pure translation
    assert np.linalg.norm(shift, axis=1).max() == pytest.approx(30.0, abs=0.05)
    _check_ground_truth(gt, cfg.frames, cfg.n_people)


def test_background_moves_as_the_recorded_camera_motion() -> None:
    """Warping frame 0 by the recorded motion predicts the background of a later frame; the raw frame does not."""
    cfg = replace(
        BASE, noise_sigma=0.0, shadows=False, camera_drift_px=20.0, camera_shake_px=1.5, camera_roll_deg=1.0,
        camera_zoom=0.08,
    )
    frames, gt = _render(cfg)
    t = cfg.frames - 1
    a0 = np.vstack([gt.camera[0], [0, 0, 1]])
    at = np.vstack([gt.camera[t], [0, 0, 1]])
    rel = (at @ np.linalg.inv(a0))[:2]  # frame 0 pixels -> frame t pixels
    pred = cv2.warpAffine(frames[0].astype(np.float32), rel, (cfg.width, cfg.height))
    valid = cv2.warpAffine(np.ones((cfg.height, cfg.width), np.float32), rel, (cfg.width, cfg.height)) > 0.999
    static = valid & (gt.ids[t] == 0) & (cv2.warpAffine(gt.ids[0], rel, (cfg.width, cfg.height)) == 0)
    static = cv2.erode(static.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # away from people's outlines
    err_moved = np.abs(pred - frames[t]).mean(-1)[static]
    err_still = np.abs(frames[0].astype(np.float32) - frames[t]).mean(-1)[static]
    assert static.sum() > 0.5 * cfg.width * cfg.height
    assert np.median(err_moved) < 3.0
    assert np.median(err_still) > 3 * np.median(err_moved)
    _check_ground_truth(gt, cfg.frames, cfg.n_people)


def test_people_walking_toward_and_away_grow_and_shrink() -> None:
    cfg = replace(BASE, frames=30, headings_deg=(-90.0, 90.0), max_heading_deg=5.0, camera_distance_m=9.0)
    _, gt = _render(cfg)
    h = gt.boxes[:, :, 3] - gt.boxes[:, :, 1]  # [T, P]
    assert not np.isnan(h).any()  # both stay in view
    toward = h[-5:, 0].mean() / h[:5, 0].mean()
    away = h[-5:, 1].mean() / h[:5, 1].mean()
    assert toward > 1.2 and away < 1 / 1.2
    headings = [p["heading_deg"] for p in gt.people]
    assert abs(headings[0] + 90) <= 5 and abs(headings[1] - 90) <= 5


def test_occluders_hide_parts_of_the_walkers() -> None:
    quiet = replace(BASE, frames=24, n_people=3, noise_sigma=0.0, shadows=False, depth_range_m=(0.0, 2.0))
    frames_free, free = _render(quiet)
    frames_occ, occ = _render(replace(quiet, occluders=4))  # same seed: same people, same paths
    a_free, a_occ = free.area(), occ.area()
    assert (a_occ <= a_free).all()
    assert (a_occ < a_free).sum() >= 3  # somebody walks behind something
    hidden = (free.ids > 0) & (occ.ids == 0)
    changed = np.abs(frames_free.astype(int) - frames_occ.astype(int)).max(-1) > 0
    assert hidden.sum() > 0 and changed[hidden].mean() > 0.99  # where a person is hidden, the occluder is drawn
    _check_ground_truth(occ, quiet.frames, quiet.n_people)


def test_overlays_stay_on_screen_and_hide_what_is_under_them() -> None:
    cfg = replace(BASE, overlays=True, noise_sigma=0.0, camera_drift_px=25.0)
    frames, gt = _render(cfg)
    plain, _ = _render(replace(cfg, overlays=False))
    drawn = np.abs(frames.astype(int) - plain.astype(int)).max(-1) > 0  # [T, H, W]
    assert (gt.ids[drawn] == 0).all()
    corner = (slice(cfg.height * 3 // 4, None), slice(cfg.width * 3 // 4, None))  # the logo
    logo = drawn[(slice(None),) + corner]
    assert logo[0].sum() > 50 and (logo == logo[0]).all()  # the same pixels in every frame, whatever the camera
    assert np.array_equal(frames[0][corner][logo[0]], frames[-1][corner][logo[0]])
    top = (slice(None), slice(0, cfg.height // 4), slice(0, cfg.width // 2))
    stamps = drawn[top]
    assert not np.array_equal(frames[0][top[1:]][stamps[0]], frames[-1][top[1:]][stamps[0]])  # the time runs


def test_deterministic_per_seed_with_every_option() -> None:
    cfg = replace(
        BASE, camera_drift_px=15.0, camera_shake_px=1.0, camera_roll_deg=0.5, camera_zoom=0.05, occluders=2,
        overlays=True, headings_deg=(90.0, 0.0),
    )
    a, gta = _render(cfg)
    b, gtb = _render(cfg)
    c, gtc = _render(replace(cfg, seed=4))
    assert np.array_equal(a, b) and np.array_equal(gta.ids, gtb.ids) and np.array_equal(gta.camera, gtb.camera)
    assert not np.array_equal(a, c) and not np.array_equal(gta.camera, gtc.camera)


def test_failure_scenes_render_and_round_trip(tmp_path: Path) -> None:
    scenes = failure_scenes(width=192, height=144, frames=8, fps=10.0)
    assert {"static_crossing", "handheld_crossing", "handheld_depth", "elevated_handheld", "occluded_overlay"} <= set(
        scenes
    )
    assert scenes["elevated_handheld"].camera_elevation_deg >= 30
    for name, cfg in scenes.items():
        _, gt = _render(cfg)
        assert (gt.area() > 0).any(0).sum() >= 3, name  # most people are in view
    path = tmp_path / "hand.mp4"
    gt = make_synthetic_video(path, scenes["handheld_crossing"])
    back = load_video_ground_truth(path)
    assert np.array_equal(back.camera, gt.camera) and np.array_equal(back.ids, gt.ids)


def test_bad_motion_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="camera_drift_px"):
        replace(BASE, camera_drift_px=-1.0)
    with pytest.raises(ValueError, match="camera_zoom"):
        replace(BASE, camera_zoom=2.0)
