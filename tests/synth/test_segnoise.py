"""Segmenter-like errors: smooth outlines at strength 0, damage that keeps the person, determinism."""

from __future__ import annotations

import numpy as np

from gaitforge.evaluation.silhouette_stats import silhouette_stats
from gaitforge.synth import get_preset, render_raw
from gaitforge.synth.segnoise import segment_like


def _clean() -> np.ndarray:
    cfg = get_preset("tiny", seed=2)
    return render_raw(cfg, 1, "nm-01", "090").frames


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0) & (b > 0)).sum() / ((a > 0) | (b > 0)).sum())


def test_strength_zero_smooths_without_moving_the_person() -> None:
    clean = _clean()
    soft = segment_like(clean, np.random.default_rng(0), strength=0.0, neighbour_prob=0.0)
    assert soft.shape == clean.shape and soft.dtype == np.uint8 and set(np.unique(soft)) <= {0, 255}
    assert _iou(soft, clean) > 0.8
    # Smooth outlines: a shorter outline per unit of area than the polygon render's.
    assert silhouette_stats(soft)["perimeter_ratio"].mean() < silhouette_stats(clean)["perimeter_ratio"].mean()


def test_errors_damage_frames_differently_and_are_seeded() -> None:
    clean = _clean()
    a = segment_like(clean, np.random.default_rng(1), strength=2.0, neighbour_prob=1.0)
    b = segment_like(clean, np.random.default_rng(1), strength=2.0, neighbour_prob=1.0)
    np.testing.assert_array_equal(a, b)
    assert 0.3 < _iou(a, clean) < 0.97  # damaged, still the same person
    # Per-frame errors: the damage differs between frames (a real segmenter flickers).
    diff = [(a[t] != clean[t]).mean() for t in range(len(a))]
    assert np.std(diff) > 0
    # A merged passer-by widens some frames well beyond the walker.
    widths_a = (a > 0).any(1).sum(1)
    widths_c = (clean > 0).any(1).sum(1)
    assert (widths_a > 1.3 * widths_c).any()


def test_empty_input_passes_through() -> None:
    z = np.zeros((3, 40, 40), np.uint8)
    np.testing.assert_array_equal(segment_like(z, np.random.default_rng(0)), z)
