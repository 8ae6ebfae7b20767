"""Background models: foreground against the synthetic ground truth, shadows, thin lines, warm-up rules."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gaitforge.preprocess.video.background import (
    FOREGROUND,
    SHADOW,
    MedianBackground,
    Mog2Background,
    make_background,
    remove_thin_lines,
)
from gaitforge.synth.video import SceneConfig, render_scene

CFG = SceneConfig(
    width=256, height=192, frames=40, fps=10.0, n_people=2, seed=3, camera_distance_m=7.0, depth_range_m=(-1.0, 1.0)
)


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, object]:
    frames, gt = render_scene(CFG)
    return np.stack(list(frames)), gt


def _feed(model: object, frames: np.ndarray) -> None:
    step, lookahead = model.plan(CFG.fps, len(frames))  # type: ignore[attr-defined]
    assert step >= 1 and lookahead >= 0
    for i in range(0, len(frames), step):
        if model.wants_samples():  # type: ignore[attr-defined]
            model.add_sample(i, frames[i])  # type: ignore[attr-defined]


def test_median_background_finds_the_people(scene: tuple[np.ndarray, object]) -> None:
    frames, gt = scene
    model = MedianBackground()
    _feed(model, frames)
    ious, shadow_hits = [], 0
    for i in range(0, len(frames), 5):
        mask = model.apply(i, frames[i])
        assert set(np.unique(mask)) <= {0, SHADOW, FOREGROUND}
        fg, person = mask == FOREGROUND, gt.ids[i] > 0
        ious.append((fg & person).sum() / max(1, (fg | person).sum()))
        shadow_hits += int(((mask == SHADOW) & ~person).sum())
    assert np.mean(ious) > 0.85
    assert shadow_hits > 50  # the soft ground shadows under the feet are marked as shadow, not person
    # the background itself is free of people: close to a frame's non-person pixels
    bg = model.background(20).astype(int)
    free = gt.ids[20] == 0
    assert np.abs(bg - frames[20].astype(int))[free].mean() < 4.0


def test_without_shadow_detection_shadows_are_foreground(scene: tuple[np.ndarray, object]) -> None:
    frames, gt = scene
    model = MedianBackground(shadows=False)
    _feed(model, frames)
    mask = model.apply(20, frames[20])
    assert not (mask == SHADOW).any()
    assert ((mask == FOREGROUND) & (gt.ids[20] == 0)).sum() > 30


def test_mog2_learns_from_warmup_samples(scene: tuple[np.ndarray, object]) -> None:
    frames, gt = scene
    model = make_background("mog2")
    assert isinstance(model, Mog2Background)
    _feed(model, frames)
    mask = model.apply(30, frames[30])
    assert not model.wants_samples()  # samples only before the first real frame
    fg, person = mask == FOREGROUND, gt.ids[30] > 0
    assert (fg & person).sum() > 0.5 * person.sum()
    assert fg.sum() < 0.2 * fg.size


def test_median_needs_samples_and_unknown_models_are_errors() -> None:
    with pytest.raises(RuntimeError, match="no sample frames"):
        MedianBackground().apply(0, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="'median' or 'mog2'"):
        make_background("vibe")
    with pytest.raises(ValueError, match="samples"):
        MedianBackground(samples=2)


def test_remove_thin_lines_keeps_people() -> None:
    mask = np.zeros((100, 100), np.uint8)
    cv2.line(mask, (0, 20), (99, 22), FOREGROUND, 1)  # a wire
    mask[40:90, 45:55] = FOREGROUND  # a person
    mask[88:90, 55:60] = FOREGROUND  # a short foot
    remove_thin_lines(mask)
    assert not mask[15:30].any()
    assert (mask[40:90, 45:55] == FOREGROUND).all() and (mask[88:90, 55:60] == FOREGROUND).all()
