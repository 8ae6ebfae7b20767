"""Scoring the video pipeline against the ground truth of a synthetic video (:mod:`gaitforge.synth.video`).

* **Silhouette IoU**, per person-frame: tracks are matched one-to-one to ground-truth people by maximising the sum
  over frames of the IoU of their masks (Hungarian assignment); then, for every frame in which a matched track has
  a silhouette, the IoU between the track's mask pasted into the frame at full resolution (before pretreatment) and
  the person's visible-pixel mask; the mean is over all those person-frames.
* **Identity switches** (as in CLEAR MOT, Bernardin & Stiefelhagen 2008): frame by frame, each visible ground-truth
  person keeps its track while their boxes still overlap with IoU ≥ 0.5; the others are paired with the remaining
  tracks by Hungarian assignment on box IoU (≥ 0.5). A switch is a person's track changing from its previous one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaitforge.preprocess.video.assignment import linear_assignment
from gaitforge.preprocess.video.boxes import box_iou
from gaitforge.preprocess.video.results import TrackResult, VideoResult

__all__ = ["evaluate_tracks", "match_tracks"]


def _mask_iou(track: TrackResult, k: int, ids: np.ndarray, person: int, gt_area: int) -> float:
    """IoU of the track's ``k``-th mask and the person's visible pixels (``gt_area`` of them) in a frame's id map."""
    crop = track.masks[k]
    x0, y0 = crop.origin
    h, w = crop.mask.shape
    mine = crop.mask[: ids.shape[0] - y0, : ids.shape[1] - x0] > 0
    inter = int(np.count_nonzero(mine & (ids[y0 : y0 + h, x0 : x0 + w] == person + 1)))
    union = int(np.count_nonzero(mine)) + int(gt_area) - inter
    return inter / union if union else 0.0


def _identity_switches(
    tracks: list[TrackResult], gt: Any, area: np.ndarray, min_visible_px: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CLEAR-MOT correspondences per frame; returns per person (switches, covered frames, present frames)."""
    n_frames, n_people = area.shape
    switches, covered, present = np.zeros(n_people, int), np.zeros(n_people, int), np.zeros(n_people, int)
    last: dict[int, int] = {}  # person → track id of its last correspondence
    for f in range(n_frames):
        people = [p for p in range(n_people) if area[f, p] >= min_visible_px]
        present[people] += 1
        here = []
        for t in tracks:
            k = int(np.searchsorted(t.frames, f))
            if k < len(t.frames) and t.frames[k] == f:
                here.append((t.track_id, t.boxes[k]))
        if not people or not here:
            continue
        iou = box_iou(gt.boxes[f, people], np.stack([b for _, b in here]))  # [people, tracks]
        ids = [tid for tid, _ in here]
        pairs: dict[int, int] = {}
        for i, p in enumerate(people):  # a correspondence that is still valid is kept
            if p in last and last[p] in ids and iou[i, ids.index(last[p])] >= 0.5 and last[p] not in pairs.values():
                pairs[p] = last[p]
        rows = [i for i, p in enumerate(people) if p not in pairs]
        cols = [j for j, tid in enumerate(ids) if tid not in pairs.values()]
        if rows and cols:
            cost = 1.0 - iou[np.ix_(rows, cols)]
            for r, c in zip(*linear_assignment(np.where(cost <= 0.5, cost, np.inf))):
                pairs[people[rows[r]]] = ids[cols[c]]
        for p, tid in pairs.items():
            covered[p] += 1
            if p in last and last[p] != tid:
                switches[p] += 1
            last[p] = tid
    return switches, covered, present


def match_tracks(tracks: list[TrackResult], gt: Any, area: np.ndarray | None = None) -> dict[int, int]:
    """One-to-one track → person matching maximising the summed per-frame mask IoU (Hungarian).

    Args:
        tracks: The tracks to match (they must keep their mask crops).
        gt: The video's ground truth.
        area: ``gt.area()`` (int64 ``[T, P]``) when already computed.

    Returns:
        Track id → person index, for the tracks matched with a positive total IoU.
    """
    n_people = gt.boxes.shape[1]
    area = gt.area() if area is None else area
    score = np.zeros((len(tracks), n_people))
    for i, t in enumerate(tracks):
        for k, f in enumerate(t.frames.tolist()):
            if f >= len(gt.ids) or k >= len(t.masks):
                continue
            for p in range(n_people):
                if area[f, p] == 0:
                    continue
                score[i, p] += _mask_iou(t, k, gt.ids[f], p, area[f, p])
    rows, cols = linear_assignment(-score)
    return {tracks[r].track_id: int(c) for r, c in zip(rows, cols) if score[r, c] > 0}


def evaluate_tracks(result: VideoResult, gt: Any, kept_only: bool = True, min_visible_px: int = 200) -> dict[str, Any]:
    """Compare a :class:`VideoResult` with a :class:`~gaitforge.synth.video.VideoGroundTruth`.

    Args:
        result: Pipeline output (its tracks must keep their mask crops).
        gt: The video's ground truth.
        kept_only: Score only kept tracks for the IoU (identity switches always use every confirmed track).
        min_visible_px: A person counts as present in a frame from this many visible pixels.

    Returns:
        ``mean_iou``, ``median_iou``, ``person_frames`` (every frame of a matched track with a silhouette),
        ``mean_iou_unoccluded`` (person-frames whose ground-truth box overlaps no other person's),
        ``mean_iou_sequence_frames`` (only the frames that made it into the track's sequence), ``matches`` (track
        id → person), ``id_switches``, ``coverage`` (fraction of present person-frames covered by a track),
        ``per_person``.
    """
    tracks = [t for t in result.tracks if t.kept or not kept_only]
    n_people = gt.boxes.shape[1]
    area = gt.area()  # [T,P]
    matches = match_tracks(tracks, gt, area)
    ious, unoccluded, in_sequence = [], [], []
    for t in tracks:
        p = matches.get(t.track_id)
        if p is None:
            continue
        used = set() if t.sil_index is None else set(t.sil_index.tolist())
        for k, f in enumerate(t.frames.tolist()):
            if f >= len(gt.ids):
                continue
            v = _mask_iou(t, k, gt.ids[f], p, area[f, p])
            ious.append(v)
            if k in used:
                in_sequence.append(v)
            others = [q for q in range(n_people) if q != p and area[f, q] > 0]
            if area[f, p] > 0 and (not others or box_iou(gt.boxes[f, p], gt.boxes[f, others]).max() == 0):
                unoccluded.append(v)
    switches, covered, present = _identity_switches(result.tracks, gt, area, min_visible_px)
    per_person = [
        {
            "person": p,
            "present_frames": int(present[p]),
            "covered_frames": int(covered[p]),
            "id_switches": int(switches[p]),
        }
        for p in range(n_people)
    ]
    arr = np.asarray(ious, np.float64)
    return {
        "mean_iou": float(arr.mean()) if len(arr) else 0.0,
        "median_iou": float(np.median(arr)) if len(arr) else 0.0,
        "person_frames": len(arr),
        "mean_iou_unoccluded": float(np.mean(unoccluded)) if unoccluded else 0.0,
        "person_frames_unoccluded": len(unoccluded),
        "mean_iou_sequence_frames": float(np.mean(in_sequence)) if in_sequence else 0.0,
        "person_frames_sequence": len(in_sequence),
        "matches": {str(k): v for k, v in matches.items()},
        "id_switches": int(switches.sum()),
        "coverage": float(covered.sum() / present.sum()) if present.sum() else 0.0,
        "per_person": per_person,
    }
