"""A training-free screening baseline: left/right width asymmetry of the trunk in walking silhouettes.

The reference a learned screening model (ScoNet; Zhou et al., "Gait Patterns as Biomarkers: A Video-Based Approach
for Classifying Scoliosis", MICCAI 2024) has to beat besides chance. A lateral trunk lean or a raised shoulder makes
the trunk band of a frontal / back silhouette wider on one side of the pelvis midline than on the other. Per frame
the midline is the mean column of the hip band; in every row of the trunk band the half-widths ``L`` (midline to the
leftmost body pixel) and ``R`` (midline to the rightmost) give ``(R - L) / (R + L)``; the sequence's feature is the
absolute mean over rows and frames (the side of the curve does not matter for the grade). Two thresholds, fitted on
the training split to maximise accuracy, turn the feature into ``negative`` < ``neutral`` < ``positive``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["TRUNK_BAND", "HIP_BAND", "fit_thresholds", "predict_grades", "trunk_asymmetry"]

#: Rows of the trunk band and of the hip band, as fractions of the silhouette's height (top = 0).
TRUNK_BAND: tuple[float, float] = (0.18, 0.42)
HIP_BAND: tuple[float, float] = (0.45, 0.55)


def trunk_asymmetry(
    sil: np.ndarray, trunk: tuple[float, float] = TRUNK_BAND, hips: tuple[float, float] = HIP_BAND
) -> float:
    """Signed trunk width asymmetry of one sequence (0 = symmetric; the baseline uses its absolute value).

    Args:
        sil: uint8 or float ``[T, H, W]`` silhouettes (pretreated: the body spans the frame's height), > 0 = body.
        trunk, hips: Row bands as fractions of the frame height.

    Returns:
        Mean over frames of the mean over trunk rows of ``(R - L) / (R + L)``; frames with an empty hip band or no
        trunk row are skipped; ``0.0`` when none is left.

    Raises:
        ValueError: ``sil`` is not ``[T, H, W]``.
    """
    if sil.ndim != 3:
        raise ValueError(f"trunk_asymmetry: silhouettes have shape {sil.shape}; expected [T, H, W]")
    t, h, w = sil.shape
    body = np.asarray(sil) > (127 if sil.dtype == np.uint8 else 0.5)
    cols = np.arange(w, dtype=np.float64)
    r0, r1 = int(round(trunk[0] * h)), max(int(round(trunk[1] * h)), int(round(trunk[0] * h)) + 1)
    h0, h1 = int(round(hips[0] * h)), max(int(round(hips[1] * h)), int(round(hips[0] * h)) + 1)
    values = []
    for f in range(t):
        hip = body[f, h0:h1]
        if not hip.any():
            continue
        centre = float((hip * cols).sum() / hip.sum())
        band = body[f, r0:r1]
        rows = band.any(axis=1)
        if not rows.any():
            continue
        band = band[rows]
        left = np.argmax(band, axis=1).astype(np.float64)
        right = (w - 1 - np.argmax(band[:, ::-1], axis=1)).astype(np.float64)
        lw, rw = np.clip(centre - left, 0, None), np.clip(right - centre, 0, None)
        total = lw + rw
        ok = total > 0
        if ok.any():
            values.append(float(np.mean((rw[ok] - lw[ok]) / total[ok])))
    return float(np.mean(values)) if values else 0.0


def predict_grades(features: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """Class ids ``[N]``: 0 below ``thresholds[0]``, 1 below ``thresholds[1]``, else 2."""
    f = np.asarray(features, np.float64)
    return (f >= thresholds[0]).astype(np.int64) + (f >= thresholds[1]).astype(np.int64)


def fit_thresholds(features: np.ndarray, classes: Sequence[int] | np.ndarray) -> tuple[float, float]:
    """The two thresholds (``t0 <= t1``) that maximise training accuracy of :func:`predict_grades`.

    Candidates are midpoints between consecutive distinct feature values (and the ends); ties keep the first pair
    found (smallest ``t0``, then smallest ``t1``).

    Args:
        features: ``[N]`` feature values of the training sequences.
        classes: ``[N]`` ordered class ids (0, 1, 2).

    Raises:
        ValueError: Empty input or lengths that differ.
    """
    f = np.asarray(features, np.float64)
    y = np.asarray(classes, np.int64)
    if f.size == 0 or f.shape != y.shape:
        raise ValueError(f"fit_thresholds: features {f.shape} and classes {y.shape} must be equal, non-empty [N]")
    u = np.unique(f)
    cands = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    # correct counts for each threshold, per class: below[c][i] = #class-c features < cands[i]
    below = np.stack([np.searchsorted(np.sort(f[y == c]), cands, side="left") for c in range(3)])
    n_c = np.array([(y == c).sum() for c in range(3)])
    best, pair = -1, (float(cands[0]), float(cands[0]))
    for i in range(cands.size):
        # class 0 right below t0; class 1 in [t0, t1); class 2 at or above t1 (j >= i)
        j = np.arange(i, cands.size)
        correct = below[0][i] + (below[1][j] - below[1][i]) + (n_c[2] - below[2][j])
        k = int(np.argmax(correct))
        if correct[k] > best:
            best, pair = int(correct[k]), (float(cands[i]), float(cands[j[k]]))
    return pair
