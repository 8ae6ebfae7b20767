"""Tracks that switch people are split: a change of appearance along a track marks a second person.

The tracker gates every match by motion (distance, size change) and, once a track has been seen a few times, by
appearance; a switch can still slip through when two people cross in similar clothes or while a track coasts.
Afterwards, each confirmed track's per-frame colour descriptions (three body bands, see
:mod:`~gaitforge.preprocess.video.appearance`) are compared on both sides of every possible cut: the mean of the
``window`` descriptions before against the mean of the ``window`` after. Where the similarity falls below
``threshold`` (at its lowest point), the track is cut in two, and each part is examined again.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from gaitforge.preprocess.video.appearance import feature_similarity
from gaitforge.preprocess.video.track import TrackRecord

__all__ = ["appearance_profile", "split_identity_switches"]

logger = logging.getLogger(__name__)


def appearance_profile(features: list[np.ndarray | None], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Similarity of the appearance before and after each cut.

    Args:
        features: Per-frame descriptions (``None`` where the frame has none).
        window: Descriptions averaged on each side.

    Returns:
        int ``[K]`` cut positions (the first frame index of the second part, in ``features``) and float32 ``[K]``
        the similarity there; only cuts with ``window`` descriptions on both sides.
    """
    have = [i for i, f in enumerate(features) if f is not None]
    if len(have) < 2 * window:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    F = np.stack([features[i] for i in have]).astype(np.float32)
    cuts, sims = [], []
    for k in range(window, len(have) - window + 1):
        a = F[k - window : k].mean(0, keepdims=True)
        b = F[k : k + window].mean(0, keepdims=True)
        cuts.append(have[k])
        sims.append(float(feature_similarity(a, b)[0, 0]))
    return np.asarray(cuts, np.int64), np.asarray(sims, np.float32)


def _cut_points(features: list[np.ndarray | None], window: int, threshold: float) -> list[int]:
    cuts, sims = appearance_profile(features, window)
    if not len(sims) or sims.min() >= threshold:
        return []
    k = int(cuts[int(np.argmin(sims))])
    left = _cut_points(features[:k], window, threshold)
    right = [k + c for c in _cut_points(features[k:], window, threshold)]
    return left + [k] + right


def split_identity_switches(
    records: list[TrackRecord], threshold: float = 0.6, window: int = 8, min_hits: int = 3
) -> list[tuple[TrackRecord, int, slice]]:
    """Split confirmed tracks where their appearance changes.

    Args:
        records: The tracker's records (tentative ones pass through unchanged).
        threshold: Cut where the before/after similarity (mean Bhattacharyya coefficient) is below this.
        window: Descriptions averaged on each side of a cut.
        min_hits: A part with fewer frames is not confirmed.

    Returns:
        ``(record, parent_id, part)`` for every resulting track: the new record (the first part keeps the
        parent's id, later parts get new ids after the largest one), its parent's id and the slice of the parent's
        frames it holds.
    """
    next_id = max((r.track_id for r in records), default=0) + 1
    out: list[tuple[TrackRecord, int, slice]] = []
    for rec in records:
        cuts = _cut_points(rec.features, window, threshold) if rec.confirmed else []
        if not cuts:
            out.append((rec, rec.track_id, slice(0, len(rec))))
            continue
        bounds = [0, *cuts, len(rec)]
        logger.info("track %d: appearance changes at frames %s; split", rec.track_id, [rec.frames[c] for c in cuts])
        for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            tid = rec.track_id if j == 0 else next_id
            if j:
                next_id += 1
            part = replace(
                rec,
                track_id=tid,
                frames=rec.frames[a:b],
                boxes=rec.boxes[a:b],
                split=rec.split[a:b],
                features=rec.features[a:b],
                confirmed=b - a >= min_hits,
            )
            out.append((part, rec.track_id, slice(a, b)))
    return out
