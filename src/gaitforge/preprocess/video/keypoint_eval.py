"""Keypoint error of a pose backend in the video pipeline, against the ground truth of a synthetic video.

Tracks are matched to people as in :func:`~gaitforge.preprocess.video.evaluate.evaluate_tracks` (summed mask IoU,
Hungarian: :func:`~gaitforge.preprocess.video.evaluate.match_tracks`). Then, for every frame of a matched kept track
that has a pose (its sequence frames) and every ground-truth joint visible there (``v = 1``: inside the frame and not
covered by another person; the renderer does not model self-occlusion):

* **scale**: the height of the person's ground-truth box (visible pixels) in that frame;
* **detected**: the predicted joint's confidence is at least ``conf_threshold`` and it is not the missing marker
  ``(0, 0)``; **found**: the backend returned the joint at all (any confidence);
* **error**: distance between the predicted and the true joint divided by the scale (detected joints only);
* **PCK@a**: the fraction of visible joints that are detected with an error ≤ ``a`` (a joint not detected is a miss);
* **side swaps forgiven**: per person-frame, the prediction or its left/right mirror, whichever is closer on
  average — tells an estimator that finds the limbs but confuses the sides (common in side views) from one that
  misses them.

:func:`mean_box_pose` and :func:`box_pose_baseline` give the trivial reference: one mean pose, in box-relative
coordinates, placed into every track's box.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gaitforge.preprocess.video.evaluate import match_tracks
from gaitforge.preprocess.video.results import TrackResult, VideoResult
from gaitforge.synth.pose import COCO_KEYPOINTS

__all__ = [
    "COCO_SIDE_SWAP",
    "KeypointRecords",
    "box_pose_baseline",
    "keypoint_error",
    "keypoint_records",
    "mean_box_pose",
    "summarise_keypoints",
]

#: Index of each COCO-17 joint's mirror (left ↔ right).
COCO_SIDE_SWAP: tuple[int, ...] = tuple(
    COCO_KEYPOINTS.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_"))
    for n in COCO_KEYPOINTS
)


@dataclass
class KeypointRecords:
    """One entry per visible ground-truth joint of a scored person-frame (``M`` entries).

    Attributes:
        joint: int64 ``[M]`` COCO-17 index.
        scale: float64 ``[M]`` the person's box height in pixels.
        found: bool ``[M]`` the backend returned the joint (not the missing marker).
        detected: bool ``[M]`` found with a confidence ≥ the threshold.
        error: float64 ``[M]`` distance / scale; NaN where not detected.
        error_swap: float64 ``[M]`` the same with side swaps forgiven; NaN where not detected.
        person_frames: Person-frames scored.
    """

    joint: np.ndarray
    scale: np.ndarray
    found: np.ndarray
    detected: np.ndarray
    error: np.ndarray
    error_swap: np.ndarray
    person_frames: int = 0

    @classmethod
    def concat(cls, parts: Sequence[KeypointRecords]) -> KeypointRecords:
        """The records of several videos as one."""
        if not parts:
            empty = np.zeros(0)
            return cls(empty.astype(np.int64), empty, empty.astype(bool), empty.astype(bool), empty, empty, 0)
        fields = ("joint", "scale", "found", "detected", "error", "error_swap")
        arrays = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
        return cls(**arrays, person_frames=sum(p.person_frames for p in parts))


def _pose_rows(track: TrackResult, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices ``[T']`` and boxes ``[T', 4]`` of the rows of a track's pose ``[T', 17, 3]``."""
    if track.sil_index is not None and len(pose) == len(track.sil_index):
        idx = track.sil_index
    elif len(pose) == len(track.frames):
        idx = np.arange(len(track.frames))
    else:
        n_seq = None if track.sil_index is None else len(track.sil_index)
        raise ValueError(
            f"track {track.track_id}: pose has {len(pose)} rows; expected {n_seq} (sequence frames) "
            f"or {len(track.frames)} (all frames)"
        )
    return track.frames[idx], track.boxes[idx]


def _errors(pred: np.ndarray, true_xy: np.ndarray, scale: float, conf_threshold: float) -> tuple[np.ndarray, ...]:
    """``found``, ``detected`` and normalised ``error`` (NaN where not detected) of ``pred [J, 3]`` vs ``[J, 2]``."""
    found = ~((pred[:, 0] == 0) & (pred[:, 1] == 0))
    detected = found & (pred[:, 2] >= conf_threshold)
    err = np.linalg.norm(pred[:, :2].astype(np.float64) - true_xy, axis=1) / scale
    return found, detected, np.where(detected, err, np.nan)


def keypoint_records(
    result: VideoResult,
    gt: Any,
    poses: dict[int, np.ndarray] | None = None,
    conf_threshold: float = 0.5,
    matches: dict[int, int] | None = None,
) -> KeypointRecords:
    """Score the poses of a video's kept tracks against the ground truth, joint by joint.

    Args:
        result: Pipeline output (kept tracks keep their mask crops, for the matching).
        gt: The video's :class:`~gaitforge.synth.video.VideoGroundTruth`.
        poses: Track id → float32 ``[T', 17, 3]`` to score instead of the tracks' own ``pose`` (e.g. a baseline);
            rows are the track's sequence frames (or all its frames).
        conf_threshold: Confidence from which a joint counts as detected.
        matches: Track id → person (default: :func:`match_tracks` on the kept tracks).

    Returns:
        The :class:`KeypointRecords` (summarise them with :func:`summarise_keypoints`).
    """
    kept = result.kept()
    matches = match_tracks(kept, gt) if matches is None else matches
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("joint", "scale", "found", "detected", "error", "swap")}
    person_frames = 0
    for t in kept:
        pose = t.pose if poses is None else poses.get(t.track_id)
        person = matches.get(t.track_id)
        if pose is None or person is None:
            continue
        frames, _ = _pose_rows(t, pose)
        for row, f in enumerate(frames.tolist()):
            if f >= len(gt.keypoints):
                continue
            box = gt.boxes[f, person]
            vis = gt.keypoints[f, person, :, 2] > 0.5  # [17]
            if not np.isfinite(box).all() or not vis.any():
                continue
            scale = float(max(box[3] - box[1], 1.0))
            true_xy = gt.keypoints[f, person, :, :2].astype(np.float64)
            found, detected, err = _errors(pose[row], true_xy, scale, conf_threshold)
            _, det_sw, err_sw = _errors(pose[row][list(COCO_SIDE_SWAP)], true_xy, scale, conf_threshold)
            keep_swap = det_sw[vis].any() and (
                not detected[vis].any() or np.nanmean(err_sw[vis]) < np.nanmean(err[vis])
            )
            j = np.flatnonzero(vis)
            cols["joint"].append(j)
            cols["scale"].append(np.full(len(j), scale))
            cols["found"].append(found[j])
            cols["detected"].append(detected[j])
            cols["error"].append(err[j])
            cols["swap"].append((err_sw if keep_swap else err)[j])
            person_frames += 1
    if not person_frames:
        return KeypointRecords.concat([])
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    return KeypointRecords(
        cat["joint"].astype(np.int64),
        cat["scale"],
        cat["found"],
        cat["detected"],
        cat["error"],
        cat["swap"],
        person_frames,
    )


def _pck(error: np.ndarray, a: float) -> float:
    return float(np.mean(np.nan_to_num(error, nan=np.inf) <= a)) if len(error) else 0.0


def _stats(rec: KeypointRecords, sel: np.ndarray, thresholds: Sequence[float]) -> dict[str, Any]:
    err, det = rec.error[sel], rec.detected[sel]
    out: dict[str, Any] = {
        "visible_joints": int(sel.sum()),
        "detected": float(det.mean()) if len(det) else 0.0,
        "found": float(rec.found[sel].mean()) if len(det) else 0.0,
        "mean_error": float(np.nanmean(err)) if det.any() else None,
        "median_error": float(np.nanmedian(err)) if det.any() else None,
        "mean_error_px": float(np.nanmean(err * rec.scale[sel])) if det.any() else None,
    }
    for a in thresholds:
        out[f"pck@{a:g}"] = _pck(err, a)
    out[f"pck@{max(thresholds):g}_side_swaps_forgiven"] = _pck(rec.error_swap[sel], max(thresholds))
    return out


def summarise_keypoints(rec: KeypointRecords, thresholds: Sequence[float] = (0.05, 0.1)) -> dict[str, Any]:
    """Overall and per-joint figures of keypoint records.

    Returns:
        ``person_frames``, ``visible_joints``, ``detected`` and ``found`` (fractions of visible joints),
        ``mean_error`` / ``median_error`` (of box height, detected joints), ``mean_error_px``, ``pck@<a>`` for each
        threshold (of box height; a joint not detected is a miss), ``pck@<max a>_side_swaps_forgiven``, and
        ``per_joint``: the same per COCO-17 joint (``joint`` name first).
    """
    out: dict[str, Any] = {"person_frames": rec.person_frames}
    out.update(_stats(rec, np.ones(len(rec.joint), bool), thresholds))
    out["per_joint"] = [
        {"joint": name, **_stats(rec, rec.joint == j, thresholds)} for j, name in enumerate(COCO_KEYPOINTS)
    ]
    return out


def keypoint_error(
    result: VideoResult,
    gt: Any,
    poses: dict[int, np.ndarray] | None = None,
    conf_threshold: float = 0.5,
    thresholds: Sequence[float] = (0.05, 0.1),
) -> dict[str, Any]:
    """Keypoint error of one video's kept tracks: :func:`summarise_keypoints` of :func:`keypoint_records`."""
    return summarise_keypoints(keypoint_records(result, gt, poses, conf_threshold), thresholds)


def mean_box_pose(videos: Iterable[tuple[VideoResult, Any]]) -> np.ndarray:
    """The mean pose in box-relative coordinates over the matched kept tracks of some videos.

    Args:
        videos: ``(result, ground truth)`` pairs.

    Returns:
        float64 ``[17, 2]``: per joint, the mean of ``(x - x0) / w`` and ``(y - y0) / h`` of its visible true
        positions relative to the track's box ``x0, y0, x1, y1`` (``w = x1 - x0``, ``h = y1 - y0``) in the
        sequence frames.
    """
    total, count = np.zeros((17, 2)), np.zeros(17)
    for result, gt in videos:
        kept = result.kept()
        matches = match_tracks(kept, gt)
        for t in kept:
            person = matches.get(t.track_id)
            if person is None:
                continue
            idx = t.sil_index if t.sil_index is not None else np.arange(len(t.frames))
            for f, box in zip(t.frames[idx].tolist(), t.boxes[idx]):
                if f >= len(gt.keypoints):
                    continue
                kp = gt.keypoints[f, person]
                vis = kp[:, 2] > 0.5
                size = np.maximum(box[2:] - box[:2], 1.0)
                total[vis] += (kp[vis, :2] - box[:2]) / size
                count[vis] += 1
    if not count.all():
        missing = [COCO_KEYPOINTS[j] for j in np.flatnonzero(count == 0)]
        raise ValueError(f"mean_box_pose: no visible ground truth for {missing}")
    return total / count[:, None]


def box_pose_baseline(result: VideoResult, mean_pose: np.ndarray) -> dict[int, np.ndarray]:
    """The trivial pose estimate: ``mean_pose`` (``[17, 2]`` box-relative) placed into each kept track's box.

    Returns:
        Track id → float32 ``[T', 17, 3]`` over the track's sequence frames (all frames without a sequence), with
        confidence 1.
    """
    rel = np.asarray(mean_pose, np.float64).reshape(17, 2)
    out = {}
    for t in result.kept():
        idx = t.sil_index if t.sil_index is not None else np.arange(len(t.frames))
        boxes = t.boxes[idx].astype(np.float64)  # [T', 4]
        xy = boxes[:, None, :2] + rel[None] * (boxes[:, None, 2:] - boxes[:, None, :2])  # [T', 17, 2]
        out[t.track_id] = np.concatenate([xy, np.ones((len(idx), 17, 1))], -1).astype(np.float32)
    return out
