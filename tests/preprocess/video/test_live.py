"""The frame-by-frame tracker: it finds and follows people from past frames only, with bounded memory."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gaitforge.preprocess.video.live import LiveOptions, LiveTracker
from gaitforge.preprocess.video.metrics import score_tracks
from gaitforge.synth.video import SceneConfig, render_scene

SCENE = SceneConfig(
    width=320, height=240, frames=60, fps=10.0, n_people=2, seed=2, camera_distance_m=7.0, depth_range_m=(-1.0, 1.5)
)


def _walkers(n_frames: int, every: int, h: int = 120, w: int = 160) -> list[np.ndarray]:
    """Dark 12×30 'people' on a textured static background: a new one enters every ``every`` frames at the left
    and walks right at 3 px a frame (so many tracks come and go)."""
    rng = np.random.default_rng(0)
    bg = np.clip(rng.normal(150, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    frames = []
    for t in range(n_frames):
        img = bg.copy()
        for k in range(0, t + 1, every):
            x = 3 * (t - k)
            if x < w - 12:
                y = 20 + (k // every) % 3 * 30
                img[y : y + 30, x : x + 12] = (20 + 10 * (k // every % 5), 30, 40)
        noise = np.random.default_rng(t).normal(0, 2, img.shape)
        frames.append(np.clip(img + noise, 0, 255).astype(np.uint8))
    return frames


def test_follows_the_people_of_a_synthetic_street() -> None:
    frames, gt = render_scene(SCENE)
    live = LiveTracker(SCENE.fps, LiveOptions(max_track_frames=1000))
    tracks = {}
    warm = 0
    for i, f in enumerate(frames):
        step = live.step(i, f)
        warm += step.warming_up
        for tr, box, crop in step.matched:
            assert crop is not None and crop.mask.dtype == np.uint8
            tracks[tr.track_id] = tr
    assert 0 < warm < 20  # warm-up of the past-only background, then detection
    confirmed = [t for t in tracks.values() if t.confirmed]
    as_results = [
        SimpleNamespace(
            track_id=t.track_id, frames=np.array(t.frames), boxes=np.stack(t.boxes), masks=list(t.masks)
        )
        for t in confirmed
    ]
    s = score_tracks(as_results, gt, min_visible_px=200)
    assert s["people_found"] == 2
    assert s["mean_iou"] > 0.6
    assert s["id_switches"] <= 1


def test_ring_buffers_and_track_count_stay_bounded() -> None:
    frames = _walkers(240, every=6)
    opts = LiveOptions(max_track_frames=10, max_tracks=4, background_args={"window_s": 3.0, "samples": 5})
    live = LiveTracker(10.0, opts)
    ended = 0
    longest = 0
    for i, f in enumerate(frames):
        step = live.step(i, f)
        ended += len(step.ended)
        assert len(live.tracks) <= 4
        for tr in live.tracks.values():
            assert len(tr.frames) == len(tr.boxes) == len(tr.masks) <= 10
            longest = max(longest, tr.hits)
        assert 0 <= live.background.held() <= 2 * 5 + 2
    assert ended >= 10 and longest > 10  # many tracks came and went, some longer than their buffers
    records = live.tracker.finish()  # the tracker forgot what was reported
    assert len(records) <= 3 * 4
    assert all(len(r.frames) <= 10 for r in records)


def test_indices_must_increase_and_gaps_are_allowed() -> None:
    frames = _walkers(30, every=100)
    live = LiveTracker(10.0)
    live.step(0, frames[0])
    live.step(5, frames[5])  # dropped frames in between
    with pytest.raises(ValueError, match="index 5 after 5"):
        live.step(5, frames[5])


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="max_track_frames"):
        LiveOptions(max_track_frames=0)
