"""Front-end metrics against per-frame ground truth: correspondences, identity switches, silhouette IoU, coverage.

Works on any tracks that have ``track_id``, ``frames`` (int ``[T]`` ascending), ``boxes`` (float ``[T, 4]`` xyxy) and
``masks`` (``T`` :class:`~gaitforge.preprocess.video.segment.MaskCrop`, or empty), such as
:class:`~gaitforge.preprocess.video.results.TrackResult` or the live tracks of :mod:`gaitforge.preprocess.video.live`,
and any ground truth with ``ids`` (uint8 ``[T, H, W]``, person ``p`` is ``p + 1``) and ``boxes`` (float ``[T, P, 4]``,
NaN when invisible), such as :class:`~gaitforge.synth.video.VideoGroundTruth`.

Definitions (frame by frame, in order):

* A person is **present** in a frame when at least ``min_visible_px`` of their pixels are visible.
* **Correspondences** follow CLEAR MOT (Bernardin & Stiefelhagen, "Evaluating multiple object tracking performance:
  the CLEAR MOT metrics", EURASIP JIVP 2008): a present person keeps the track of their previous correspondence
  while the two boxes still overlap with IoU ≥ ``iou_threshold``; the remaining people and tracks are paired by
  Hungarian assignment on ``1 - box IoU``, pairs with IoU ≥ ``iou_threshold`` only. A fragment (feet, one leg) has
  a small box IoU with the whole person and therefore finds no correspondence.
* An **identity switch** is a new correspondence ``(person, track)`` where the person's last correspondence was
  with another track (the person changed track: swapped or re-acquired under a new id) *or* the track's last
  correspondence was with another person (the track moved to a second person). Each new correspondence counts
  once, so two tracks swapping two people at a crossing are two switches. ``person_switches`` and
  ``track_switches`` count the two conditions separately (one new correspondence may meet both).
* **Silhouette IoU** of a correspondence: IoU of the track's mask with the person's visible pixels at frame
  resolution (a track without a mask in that frame scores 0). ``mean_iou`` averages over all correspondences.
* **Coverage**: fraction of present person-frames with a correspondence; a person is **found** when covered in at
  least half the frames where they are present.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from gaitforge.preprocess.video.assignment import linear_assignment
from gaitforge.preprocess.video.boxes import box_iou
from gaitforge.preprocess.video.segment import MaskCrop

__all__ = ["TrackLike", "crop_iou", "frame_correspondences", "score_tracks"]


class TrackLike(Protocol):
    """What the metrics read from a track."""

    track_id: int
    frames: np.ndarray
    boxes: np.ndarray
    masks: list[MaskCrop]


def crop_iou(crop: MaskCrop | None, ids: np.ndarray, person: int, area: int | None = None) -> float:
    """IoU of a mask crop with person ``person``'s pixels in an id map.

    Args:
        crop: The track's mask (``None`` = no mask: IoU 0).
        ids: uint8 ``[H, W]``: ``p + 1`` where person ``p`` is visible.
        person: Person index ``p``.
        area: The person's visible pixel count, when known.
    """
    if area is None:
        area = int(np.count_nonzero(ids == person + 1))
    if crop is None:
        return 0.0
    x0, y0 = crop.origin
    h, w = crop.mask.shape
    # a crop may start left of / above the frame (negative origin) or run past it: clip both sides
    cx0, cy0 = max(0, -x0), max(0, -y0)
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(ids.shape[1], x0 + w), min(ids.shape[0], y0 + h)
    mine_all = int(np.count_nonzero(crop.mask))
    if fx1 <= fx0 or fy1 <= fy0:
        inter = 0
    else:
        mine = crop.mask[cy0 : cy0 + fy1 - fy0, cx0 : cx0 + fx1 - fx0] > 0
        inter = int(np.count_nonzero(mine & (ids[fy0:fy1, fx0:fx1] == person + 1)))
    union = mine_all + int(area) - inter
    return inter / union if union else 0.0


def _by_frame(tracks: Sequence[TrackLike]) -> dict[int, list[tuple[int, int]]]:
    """Frame → ``(track position, index within the track)``."""
    out: dict[int, list[tuple[int, int]]] = {}
    for i, t in enumerate(tracks):
        for k, f in enumerate(np.asarray(t.frames).tolist()):
            out.setdefault(int(f), []).append((i, k))
    return out


def frame_correspondences(
    tracks: Sequence[TrackLike], gt: Any, min_visible_px: int = 200, iou_threshold: float = 0.5
) -> list[dict[int, tuple[int, int]]]:
    """CLEAR-MOT correspondences per frame (see the module docstring).

    Returns:
        Per ground-truth frame, person ``p`` → ``(track position in tracks, index within that track)``.
    """
    n_frames, n_people = gt.boxes.shape[:2]
    area = np.stack([np.bincount(f.ravel(), minlength=n_people + 1)[1 : n_people + 1] for f in gt.ids])
    here_all = _by_frame(tracks)
    last: dict[int, int] = {}  # person → track position of its last correspondence
    out: list[dict[int, tuple[int, int]]] = []
    for f in range(n_frames):
        people = [p for p in range(n_people) if area[f, p] >= min_visible_px]
        here = here_all.get(f, [])
        pairs: dict[int, tuple[int, int]] = {}
        if people and here:
            boxes = np.stack([np.asarray(tracks[i].boxes[k], np.float32) for i, k in here])
            iou = box_iou(gt.boxes[f, people].astype(np.float32), boxes)  # [people, tracks here]
            pos = [i for i, _ in here]
            used: set[int] = set()
            for r, p in enumerate(people):  # a still-valid correspondence is kept
                if p in last and last[p] in pos and last[p] not in used:
                    c = pos.index(last[p])
                    if iou[r, c] >= iou_threshold:
                        pairs[p] = here[c]
                        used.add(last[p])
            rows = [r for r, p in enumerate(people) if p not in pairs]
            cols = [c for c, i in enumerate(pos) if i not in used]
            if rows and cols:
                cost = 1.0 - iou[np.ix_(rows, cols)]
                for a, b in zip(*linear_assignment(np.where(cost <= 1.0 - iou_threshold, cost, np.inf))):
                    pairs[people[rows[a]]] = here[cols[b]]
            for p, (i, _) in pairs.items():
                last[p] = i
        out.append(pairs)
    return out


def score_tracks(
    tracks: Sequence[TrackLike], gt: Any, min_visible_px: int = 200, iou_threshold: float = 0.5
) -> dict[str, Any]:
    """Score tracks against the ground truth (definitions in the module docstring).

    Args:
        tracks: The tracks (their ``masks`` give the silhouette IoU; tracks without masks score 0 there).
        gt: Ground truth with ``ids`` uint8 ``[T, H, W]`` and ``boxes`` float ``[T, P, 4]``.
        min_visible_px: Visible pixels for a person to count as present in a frame.
        iou_threshold: Box IoU of a correspondence.

    Returns:
        ``mean_iou``, ``median_iou``, ``correspondences``, ``coverage``, ``id_switches``, ``person_switches``,
        ``track_switches``, ``people_present``, ``people_found``, ``tracks``, ``tracks_matched`` (tracks with at
        least one correspondence), ``unmatched_track_frames`` (track boxes with no person: fragments, false
        alarms, duplicates), ``per_person`` (present and covered frames, switches, tracks used).
    """
    n_frames, n_people = gt.boxes.shape[:2]
    corr = frame_correspondences(tracks, gt, min_visible_px, iou_threshold)
    area = np.stack([np.bincount(f.ravel(), minlength=n_people + 1)[1 : n_people + 1] for f in gt.ids])
    present = (area >= min_visible_px).sum(0)
    covered = np.zeros(n_people, int)
    p_switch, t_switch, switches = np.zeros(n_people, int), 0, 0
    last_track: dict[int, int] = {}
    last_person: dict[int, int] = {}
    used: dict[int, set[int]] = {p: set() for p in range(n_people)}
    ious: list[float] = []
    matched_frames = 0
    for f, pairs in enumerate(corr):
        for p, (i, k) in pairs.items():
            covered[p] += 1
            matched_frames += 1
            used[p].add(tracks[i].track_id)
            masks = tracks[i].masks
            ious.append(crop_iou(masks[k] if k < len(masks) else None, gt.ids[f], p, int(area[f, p])))
            new_for_person = p in last_track and last_track[p] != i
            new_for_track = i in last_person and last_person[i] != p
            if last_track.get(p) != i or last_person.get(i) != p:  # a new correspondence
                if new_for_person or new_for_track:
                    switches += 1
                p_switch[p] += int(new_for_person)
                t_switch += int(new_for_track)
            last_track[p], last_person[i] = i, p
    track_frames = sum(int((np.asarray(t.frames) < n_frames).sum()) for t in tracks)
    arr = np.asarray(ious, np.float64)
    found = int(((covered >= 0.5 * present) & (present > 0)).sum())
    return {
        "mean_iou": float(arr.mean()) if len(arr) else 0.0,
        "median_iou": float(np.median(arr)) if len(arr) else 0.0,
        "correspondences": int(len(arr)),
        "coverage": float(covered.sum() / present.sum()) if present.sum() else 0.0,
        "id_switches": int(switches),
        "person_switches": int(p_switch.sum()),
        "track_switches": int(t_switch),
        "people_present": int((present > 0).sum()),
        "people_found": found,
        "tracks": len(tracks),
        "tracks_matched": len({i for pairs in corr for i, _ in pairs.values()}),
        "unmatched_track_frames": int(track_frames - matched_frames),
        "per_person": [
            {
                "person": p,
                "present_frames": int(present[p]),
                "covered_frames": int(covered[p]),
                "switches": int(p_switch[p]),
                "tracks": sorted(used[p]),
            }
            for p in range(n_people)
        ],
    }
