"""Synthetic street videos: ground truth consistent with the pixels, determinism, shadows, files on disk."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gaitforge.preprocess.video import iter_frames, probe_video
from gaitforge.synth.video import SceneConfig, load_video_ground_truth, make_synthetic_video, render_scene

CFG = SceneConfig(
    width=192, height=144, frames=12, fps=10.0, n_people=3, seed=5, camera_distance_m=7.0, depth_range_m=(-1.5, 1.5)
)


def _render(cfg: SceneConfig) -> tuple[np.ndarray, object]:
    frames, gt = render_scene(cfg)
    return np.stack(list(frames)), gt


def test_ground_truth_matches_the_pixels() -> None:
    frames, gt = _render(CFG)
    assert frames.shape == (12, 144, 192, 3) and frames.dtype == np.uint8
    assert gt.ids.shape == (12, 144, 192) and set(np.unique(gt.ids)) <= {0, 1, 2, 3}
    assert gt.boxes.shape == (12, 3, 4) and gt.keypoints.shape == (12, 3, 17, 3)
    area = gt.area()
    assert (area > 0).sum() >= 12 * 2  # people are in view
    for t in range(12):
        for p in range(3):
            ys, xs = np.nonzero(gt.ids[t] == p + 1)
            if len(ys) == 0:
                assert np.isnan(gt.boxes[t, p]).all()
                continue
            assert gt.boxes[t, p].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            kp = gt.keypoints[t, p]
            vis = kp[:, 2] == 1
            xi, yi = np.round(kp[vis, 0]).astype(int), np.round(kp[vis, 1]).astype(int)
            assert (gt.ids[t, yi, xi] == p + 1).all()  # a visible keypoint lies on its person


def test_people_are_drawn_over_a_static_background() -> None:
    quiet = replace(CFG, noise_sigma=0.0, shadows=False)
    crowd, gt = _render(quiet)
    alone, gt1 = _render(replace(quiet, n_people=1))  # same seed: same background, only person 0
    only_others = (gt.ids > 1) & (gt1.ids == 0)
    background = (gt.ids == 0) & (gt1.ids == 0)
    diff = np.abs(crowd.astype(int) - alone.astype(int)).max(-1)
    assert only_others.sum() > 100 and diff[only_others].mean() > 20  # clothes stand out from the scene
    assert diff[background].max() == 0  # and the scene itself does not change


def test_people_cross_at_different_depths_and_directions() -> None:
    _, gt = _render(CFG)
    depths = [p["depth_m"] for p in gt.people]
    headings = [p["heading_deg"] for p in gt.people]
    assert len(set(depths)) == 3
    assert any(abs(h) < 90 for h in headings) and any(abs(h - 180) < 90 for h in headings)  # both ways


def test_deterministic_per_seed() -> None:
    a, gta = _render(CFG)
    b, gtb = _render(CFG)
    c, _ = _render(replace(CFG, seed=6))
    assert np.array_equal(a, b) and np.array_equal(gta.ids, gtb.ids)
    assert not np.array_equal(a, c)


def test_shadows_only_darken_the_ground() -> None:
    quiet = replace(CFG, noise_sigma=0.0)
    lit, gt = _render(replace(quiet, shadows=False))
    shaded, _ = _render(quiet)
    free = gt.ids == 0
    diff = shaded.astype(int) - lit.astype(int)
    assert (diff[free] <= 1).all()  # never brighter (1 for rounding)
    assert (diff[free] < -20).sum() > 50  # and clearly darker under the walkers


def test_video_file_and_ground_truth_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "walk.mp4"
    gt = make_synthetic_video(path, CFG, frames=8)
    info = probe_video(path)
    assert (info.width, info.height, info.fps) == (192, 144, 10.0)
    decoded = [f for _, f in iter_frames(path)]
    assert len(decoded) == 8
    back = load_video_ground_truth(path)
    assert np.array_equal(back.ids, gt.ids) and back.people == gt.people and back.fps == 10.0
    # the encoded frames stay close to the rendered ones (lossy codec)
    frames, _ = render_scene(replace(CFG, frames=8))
    first = next(iter(frames))
    assert np.abs(decoded[0].astype(int) - first.astype(int)).mean() < 6.0
    with pytest.raises(FileNotFoundError, match="ground truth"):
        load_video_ground_truth(tmp_path / "other.mp4")


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="even"):
        SceneConfig(width=101)
    with pytest.raises(ValueError, match="positive"):
        SceneConfig(n_people=0)
