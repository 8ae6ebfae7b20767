"""Shape statistics of pretreated gait silhouettes, to compare a synthetic world with real footage.

All statistics are measured on pretreated silhouettes (uint8 ``[T, 64, 64]`` as
:func:`gaitforge.preprocess.silhouette.pretreat_sequence` makes them: height-normalised, centred), binarised at
128, so that a real track and a synthetic sequence are compared after the same normalisation:

* ``fill``: fraction of the ``64 × 64`` frame that is foreground;
* ``width/<band>``: mean foreground pixels per row inside a band of the body's height, divided by the silhouette
  height (bands in :data:`BANDS`: head, shoulders, torso, hips, legs, feet, from the top row to the bottom row);
* ``perimeter_ratio``: outer contour length / √(foreground area), a scale-free measure of outline roughness
  (a disc gives 2√π ≈ 3.5; jagged or thin-limbed outlines give more);
* ``change``: pixels that differ between two frames ``≈ dt`` seconds apart, divided by the mean foreground area
  (how much the silhouette moves per ``dt``; frames are paired ``round(fps · dt)`` apart so that videos of
  different frame rates are comparable).

:func:`compare_stats` gives the relative difference of every figure, which is what ``docs/realism.md`` reports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import cv2
import numpy as np

__all__ = ["BANDS", "STAT_KEYS", "compare_stats", "frame_change", "pooled_stats", "sequence_stats", "silhouette_stats"]

logger = logging.getLogger(__name__)

#: Body bands as fractions of the silhouette height, from the top: name → ``(start, end)``.
BANDS: dict[str, tuple[float, float]] = {
    "head": (0.0, 0.12),
    "shoulders": (0.12, 0.22),
    "torso": (0.22, 0.45),
    "hips": (0.45, 0.55),
    "legs": (0.55, 0.92),
    "feet": (0.92, 1.0),
}

#: Keys of a statistics dict, in report order.
STAT_KEYS: tuple[str, ...] = ("fill", *(f"width/{b}" for b in BANDS), "perimeter_ratio", "change")


def _binary(sil: np.ndarray, where: str) -> np.ndarray:
    arr = np.asarray(sil)
    if arr.ndim != 3 or arr.shape[0] < 1:
        raise ValueError(f"silhouette stats: {where}: expected silhouettes [T, H, W] with T >= 1, got {arr.shape}")
    return arr >= 128 if arr.dtype == np.uint8 else arr > 0.5


def silhouette_stats(sil: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame statistics of one sequence (``change`` excluded, see :func:`sequence_stats`).

    Args:
        sil: uint8 ``[T, H, W]`` (0..255, binarised at 128) or float/bool in [0, 1].

    Returns:
        ``{"fill": [T'], "width/<band>": [T'], "perimeter_ratio": [T']}`` over the ``T'`` non-empty frames.

    Raises:
        ValueError: ``sil`` is not ``[T, H, W]``.
    """
    fg = _binary(sil, "sil")
    out: dict[str, list[float]] = {k: [] for k in STAT_KEYS if k != "change"}
    for frame in fg:
        rows = np.nonzero(frame.any(1))[0]
        if rows.size == 0:
            continue
        top, bottom = int(rows[0]), int(rows[-1]) + 1
        height = bottom - top
        per_row = frame[top:bottom].sum(1).astype(np.float64)
        out["fill"].append(float(frame.mean()))
        for name, (a, b) in BANDS.items():
            lo = int(np.floor(a * height))
            hi = max(lo + 1, int(np.ceil(b * height)))
            out[f"width/{name}"].append(float(per_row[lo:hi].mean() / height))
        contours, _ = cv2.findContours(frame.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        perimeter = sum(cv2.arcLength(c, True) for c in contours)
        out["perimeter_ratio"].append(float(perimeter / np.sqrt(frame.sum())))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def frame_change(sil: np.ndarray, fps: float, dt: float = 0.1) -> np.ndarray:
    """Changed pixels between frames ``round(fps · dt)`` apart (at least 1), over the pair's mean area.

    Args:
        sil: ``[T, H, W]`` silhouettes.
        fps: Frame rate of the sequence.
        dt: Time between the compared frames (seconds).

    Returns:
        float64 ``[P]``, one value per pair of non-empty frames (empty when ``T`` is too short).
    """
    if fps <= 0 or dt <= 0:
        raise ValueError(f"silhouette stats: fps and dt must be > 0, got fps={fps}, dt={dt}")
    fg = _binary(sil, "sil")
    k = max(1, int(round(fps * dt)))
    a, b = fg[:-k], fg[k:]
    area = 0.5 * (a.sum((1, 2)) + b.sum((1, 2)))
    ok = (a.any((1, 2))) & (b.any((1, 2)))
    return ((a ^ b).sum((1, 2))[ok] / area[ok]).astype(np.float64)


def sequence_stats(sil: np.ndarray, fps: float, dt: float = 0.1) -> dict[str, np.ndarray]:
    """:func:`silhouette_stats` plus ``change`` (:func:`frame_change`) of one sequence."""
    stats = silhouette_stats(sil)
    stats["change"] = frame_change(sil, fps, dt)
    return stats


def pooled_stats(per_sequence: Iterable[Mapping[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of every statistic, each sequence weighted equally.

    Args:
        per_sequence: Outputs of :func:`sequence_stats`.

    Returns:
        ``{key: {"mean": m, "sd": s, "n": sequences}}``: the mean over sequences of each sequence's mean.

    Raises:
        ValueError: No sequence had a value for some statistic.
    """
    means: dict[str, list[float]] = {k: [] for k in STAT_KEYS}
    for stats in per_sequence:
        for k in STAT_KEYS:
            v = stats.get(k)
            if v is not None and len(v):
                means[k].append(float(np.mean(v)))
    out = {}
    for k, v in means.items():
        if not v:
            raise ValueError(f"silhouette stats: no sequence had a value for {k!r}")
        out[k] = {"mean": float(np.mean(v)), "sd": float(np.std(v)), "n": len(v)}
    return out


def compare_stats(
    real: Mapping[str, Mapping[str, float]], synth: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """Relative difference ``(synth − real) / real`` of every pooled mean (``0.1`` = 10 % more in the synthetic).

    A real mean of 0 gives 0 when the synthetic one is 0 too, else ``inf``.
    """
    missing = sorted(set(STAT_KEYS) - set(real) | set(STAT_KEYS) - set(synth))
    if missing:
        raise ValueError(f"silhouette stats: pooled statistics lack {missing}")
    out = {}
    for k in STAT_KEYS:
        r, s = float(real[k]["mean"]), float(synth[k]["mean"])
        out[k] = (s - r) / r if r != 0 else (0.0 if s == 0 else float("inf"))
    return out
