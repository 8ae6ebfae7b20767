"""The errors of a real person segmenter, applied to rendered silhouettes.

A background-subtraction or learned segmenter on street video does not return the crisp polygon a renderer draws:
outlines are smooth (blur, mixed pixels, chroma subsampling) with low-frequency bumps; parts whose colour matches
the background leave holes; shadows and compression add halos; feet merge with the ground and go missing or
bleed into a shadow; a passer-by's blob merges with the walker for a while; background clutter leaves fragments.
:func:`segment_like` applies all of these to binary frames, sequence-level choices (how smooth, how much of the feet
is lost, whether a neighbour passes) drawn once and per-frame jitter on top, so that silhouettes flicker from
frame to frame as real ones do. Strengths are calibrated against real tracks (``docs/realism.md``).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["segment_like"]


def _person_blob(h: int, w: int, cx: float, bottom: float, height: float) -> np.ndarray:
    """A crude person-shaped mask (head, body, legs) of ``height`` pixels standing at ``(cx, bottom)``."""
    m = np.zeros((h, w), np.uint8)
    top = bottom - height
    r = max(1, int(0.07 * height))
    cv2.circle(m, (int(cx), int(top + r)), r, 255, -1)
    body = np.array(
        [
            [cx - 0.13 * height, top + 0.15 * height],
            [cx + 0.13 * height, top + 0.15 * height],
            [cx + 0.11 * height, bottom],
            [cx - 0.11 * height, bottom],
        ],
        np.int32,
    )
    cv2.fillConvexPoly(m, body, 255)
    return m


def segment_like(
    frames: np.ndarray, rng: np.random.Generator, strength: float = 1.0, neighbour_prob: float = 0.15
) -> np.ndarray:
    """Real-segmenter-like silhouettes from clean binary renders.

    Args:
        frames: uint8 ``[T,H,W]`` clean silhouettes (0/255) of one walker.
        rng: Source of randomness (one per sequence).
        strength: Scale of the errors (0 = only the smooth outline of a soft segmenter).
        neighbour_prob: Probability that a passer-by's blob merges with the walker for part of the sequence.

    Returns:
        uint8 ``[T,H,W]`` binary silhouettes (0/255).
    """
    n, h, w = frames.shape
    ys = np.nonzero(frames.any(axis=(0, 2)))[0]
    if ys.size == 0:
        return frames.copy()
    px = float(ys.max() - ys.min() + 1)  # the walker's height over the sequence (pixels)
    s = strength
    sigma = float(rng.uniform(0.4, 1.0)) * max(1.0, px / 80.0)
    level = float(rng.uniform(0.55, 0.68))
    bump_amp = float(rng.uniform(0.2, 0.4)) * s
    bump_sigma = max(1.0, px * float(rng.uniform(0.02, 0.04)))
    halo = int(rng.random() < 0.15 * s)
    feet_cut = float(rng.uniform(0.02, 0.09)) if rng.random() < 0.35 * s else 0.0
    shadow = rng.random() < 0.08 * s
    shadow_len = float(rng.uniform(0.1, 0.3)) * (1.0 if rng.random() < 0.5 else -1.0)
    hole_rate = 0.6 * s
    patch = rng.random() < 0.3 * s  # a garment region the segmenter keeps missing (colour like the background)
    patch_y, patch_x = float(rng.uniform(0.2, 0.6)), float(rng.uniform(-0.15, 0.15))
    patch_r = float(rng.uniform(0.05, 0.12))
    neighbour = rng.random() < neighbour_prob * min(1.0, s)
    nb_start = int(rng.integers(0, max(1, n // 2)))
    nb_len = int(rng.integers(max(2, n // 4), max(3, n // 2 + 1)))
    nb_dir = 1.0 if rng.random() < 0.5 else -1.0
    nb_scale = float(rng.uniform(0.75, 1.1))
    clutter = 1.2 * s
    out = np.empty_like(frames)
    for t in range(n):
        f = frames[t]
        fg = f > 0
        if not fg.any():
            out[t] = 0
            continue
        rows = np.nonzero(fg.any(1))[0]
        cols = np.nonzero(fg.any(0))[0]
        top, bottom = int(rows[0]), int(rows[-1])
        hh = bottom - top + 1
        cx = float(cols.mean())
        soft = cv2.GaussianBlur(f.astype(np.float32) / 255.0, (0, 0), sigma * float(rng.uniform(0.85, 1.15)))
        if bump_amp > 0:
            noise = cv2.GaussianBlur(rng.normal(0.0, 1.0, (h, w)).astype(np.float32), (0, 0), bump_sigma)
            noise *= bump_amp / max(1e-6, float(noise.std()))
            soft += noise * (soft > 0.05) * (soft < 0.95)
        m = (soft > level + float(rng.normal(0.0, 0.09))).astype(np.uint8) * 255
        if halo:
            m = cv2.dilate(m, np.ones((2 * halo + 1, 2 * halo + 1), np.uint8))
        if shadow and rng.random() < 0.8:
            foot_y = bottom - 0.02 * hh
            ax = (max(1, int(abs(shadow_len) * hh * 0.5)), max(1, int(0.02 * hh)))
            cv2.ellipse(m, (int(cx + shadow_len * hh * 0.5), int(foot_y)), ax, 0.0, 0, 360, 255, -1)
        if feet_cut > 0 and rng.random() < 0.85:
            cut = bottom - int(round(hh * feet_cut * float(rng.uniform(0.6, 1.2))))
            m[cut + 1 :] = 0
        if patch and rng.random() < 0.8:
            cy = int(top + patch_y * hh)
            c = (int(cx + patch_x * hh), cy)
            cv2.ellipse(m, c, (max(1, int(patch_r * hh)), max(1, int(1.4 * patch_r * hh))), 0.0, 0, 360, 0, -1)
        for _ in range(rng.poisson(hole_rate)):
            ry, rx = rows[rng.integers(len(rows))], 0
            xs = np.nonzero(fg[ry])[0]
            rx = int(xs[rng.integers(len(xs))])
            r = max(1, int(round(hh * float(rng.uniform(0.01, 0.03)))))
            cv2.circle(m, (rx, int(ry)), r, 0, -1)
        if neighbour and nb_start <= t < nb_start + nb_len:
            u = (t - nb_start) / max(1, nb_len - 1)
            off = nb_dir * (0.55 - 0.5 * u) * hh
            m |= _person_blob(h, w, cx + off, bottom + float(rng.normal(0, 0.01)) * hh, nb_scale * hh)
        for _ in range(rng.poisson(clutter)):
            y = int(rng.integers(top, bottom + 1))
            x = int(np.clip(cx + rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.5) * hh, 0, w - 1))
            axes = (max(1, int(hh * rng.uniform(0.005, 0.03))), max(1, int(hh * rng.uniform(0.005, 0.04))))
            cv2.ellipse(m, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        out[t] = m
    return out
