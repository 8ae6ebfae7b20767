"""Colour appearance of detected people, for the tracker's association.

A person is described by three colour histograms (``bins``³ RGB bins each) of its foreground pixels in the top,
middle and bottom thirds of its box (roughly head and shoulders, torso, legs), each normalised to sum to one;
two descriptions are compared by the mean Bhattacharyya coefficient of the three bands (1 = identical).
"""

from __future__ import annotations

import numpy as np

from gaitforge.preprocess.video.background import FOREGROUND

__all__ = ["colour_features", "feature_similarity"]


def colour_features(frame: np.ndarray, fg_mask: np.ndarray | None, boxes: np.ndarray, bins: int = 4) -> np.ndarray:
    """Describe each box.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB.
        fg_mask: uint8 ``[H, W]`` (255 = foreground) or ``None`` (every pixel of the box counts).
        boxes: float32 ``[N, 4]`` xyxy.
        bins: Bins per channel (a power of two up to 256).

    Returns:
        float32 ``[N, 3 * bins³]``, each band summing to 1 (uniform when the band has no foreground pixel).
    """
    shift = 8 - int(np.log2(bins))
    n_bins = bins**3
    height, width = frame.shape[:2]
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    out = np.full((len(boxes), 3, n_bins), 1.0 / n_bins, np.float32)
    for i, box in enumerate(boxes):
        x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
        x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
        if x1 <= x0 or y1 <= y0:
            continue
        rgb = frame[y0:y1, x0:x1]
        keep = np.ones(rgb.shape[:2], bool) if fg_mask is None else fg_mask[y0:y1, x0:x1] == FOREGROUND
        ys, xs = np.nonzero(keep)
        if len(ys) == 0:
            continue
        q = (rgb[ys, xs] >> shift).astype(np.int64)
        colour = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]
        band = np.minimum(ys * 3 // (y1 - y0), 2)
        for k in range(3):
            counts = np.bincount(colour[band == k], minlength=n_bins)
            if counts.sum():
                out[i, k] = counts / counts.sum()
    return out.reshape(len(out), 3 * n_bins)


def feature_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean Bhattacharyya coefficient over the three bands: ``a`` ``[N, D]``, ``b`` ``[M, D]`` → float32 ``[N, M]``."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    a = np.sqrt(a.reshape(len(a), 3, a.shape[-1] // 3))
    b = np.sqrt(b.reshape(len(b), 3, b.shape[-1] // 3))
    return np.einsum("nkd,mkd->nm", a, b) / 3.0
