"""Silhouette statistics: known shapes give known figures, and comparisons name what differs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gaitforge.evaluation.silhouette_stats import (
    BANDS,
    STAT_KEYS,
    compare_stats,
    frame_change,
    pooled_stats,
    sequence_stats,
    silhouette_stats,
)


def _rect(t: int = 4, h: int = 64, w: int = 64, width: int = 16) -> np.ndarray:
    sil = np.zeros((t, h, w), np.uint8)
    sil[:, :, (w - width) // 2 : (w + width) // 2] = 255
    return sil


def test_rectangle_fill_widths_and_perimeter() -> None:
    s = silhouette_stats(_rect(width=16))
    assert s["fill"] == pytest.approx(np.full(4, 0.25))
    for band in BANDS:
        assert s[f"width/{band}"] == pytest.approx(np.full(4, 16 / 64))
    # Outline of a 16x64 box: 2 * (15 + 63) pixel steps over sqrt(1024).
    assert s["perimeter_ratio"] == pytest.approx(np.full(4, 156 / 32), rel=1e-6)


def test_a_disc_is_rounder_than_a_jagged_shape_and_bands_see_the_head() -> None:
    disc = np.zeros((1, 64, 64), np.uint8)
    cv2.circle(disc[0], (32, 32), 20, 255, -1)
    jag = disc.copy()
    jag[0, ::2, :] = 0
    jag[0, 10:54:4, 8:56] = 255  # combs
    assert silhouette_stats(disc)["perimeter_ratio"][0] < 4.0 < silhouette_stats(jag)["perimeter_ratio"][0]
    person = np.zeros((1, 64, 64), np.uint8)
    cv2.circle(person[0], (32, 4), 4, 255, -1)  # head
    person[0, 8:, 20:44] = 255  # body
    s = silhouette_stats(person)
    assert s["width/head"][0] < 0.5 * s["width/torso"][0]


def test_frame_change_pairs_frames_by_time() -> None:
    sil = _rect(t=7)
    sil[1::2] = np.roll(sil[1::2], 4, axis=2)  # odd frames shifted by 4 pixels
    # 10 fps, dt 0.1 s: consecutive frames differ; 20 fps: frames two apart are identical.
    assert frame_change(sil, 10.0) == pytest.approx(np.full(6, 8 * 64 / 1024))
    assert frame_change(sil, 20.0) == pytest.approx(np.zeros(5))
    with pytest.raises(ValueError, match="fps"):
        frame_change(sil, 0.0)


def test_pooled_and_compared() -> None:
    a = [sequence_stats(_rect(width=16), 10.0), sequence_stats(_rect(width=20), 10.0)]
    b = [sequence_stats(_rect(width=22), 10.0)]
    pa, pb = pooled_stats(a), pooled_stats(b)
    assert set(pa) == set(STAT_KEYS) and pa["fill"]["n"] == 2
    assert pa["fill"]["mean"] == pytest.approx((16 + 20) / 2 / 64)
    rel = compare_stats(pa, pb)
    assert rel["fill"] == pytest.approx(22 / 18 - 1)
    assert rel["change"] == 0.0  # both static
    with pytest.raises(ValueError, match="no sequence"):
        pooled_stats([])
    with pytest.raises(ValueError, match="expected silhouettes"):
        silhouette_stats(np.zeros((64, 64), np.uint8))
