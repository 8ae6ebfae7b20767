"""After tracking: the second pass over the kept tracks' frames (segmenter, pose, contact-sheet frames), the choice
of usable frames, and the field's pretreatment of each kept track."""

from __future__ import annotations

import warnings

import numpy as np

from gaitforge.preprocess.silhouette import NoValidFrameWarning, pretreat_sequence_detailed
from gaitforge.preprocess.video.decode import iter_frames
from gaitforge.preprocess.video.pose import PoseEstimator, check_pose_output
from gaitforge.preprocess.video.quality import SilhouetteQuality, silhouette_quality
from gaitforge.preprocess.video.results import TrackResult, VideoResult
from gaitforge.preprocess.video.segment import MaskCrop, Segmenter

__all__ = ["pick_sheet_frames", "pretreat_track", "second_pass", "usable_frames"]


def _name(obj: object) -> str:
    return getattr(obj, "name", None) or type(obj).__name__


def pick_sheet_frames(result: VideoResult, n: int) -> list[int]:
    """Up to ``n`` frames spread over the video, each the one showing the most tracks in its part."""
    shown: dict[int, int] = {}
    for t in result.tracks:
        for f in t.frames.tolist():
            shown[f] = shown.get(f, 0) + (2 if t.kept else 1)
    if not shown or n <= 0:
        return []
    frames = np.array(sorted(shown))
    picks = []
    for part in np.array_split(frames, min(n, len(frames))):
        scores = np.array([shown[int(f)] for f in part])
        best = np.flatnonzero(scores == scores.max())
        picks.append(int(part[best[len(best) // 2]]))
    return picks


def second_pass(
    result: VideoResult, sheet_frames: int, segmenter: Segmenter | None, pose: PoseEstimator | None
) -> None:
    """Decode the kept tracks' frames again (only when needed): segment them, estimate their pose, keep the
    contact-sheet frames. Fills ``masks``, ``pose``, ``heatmap`` of the kept tracks and ``result.sheet_frames``."""
    kept = result.kept()
    sheet = pick_sheet_frames(result, sheet_frames)
    if segmenter is None and pose is None and not sheet:
        return
    where: dict[int, list[tuple[TrackResult, int]]] = {}
    if segmenter is not None or pose is not None:
        for t in kept:
            for k, f in enumerate(t.frames.tolist()):
                where.setdefault(f, []).append((t, k))
            if segmenter is not None:
                t.masks = [MaskCrop(np.zeros((1, 1), np.uint8), (0, 0))] * len(t.frames)
            if pose is not None:
                t.pose = np.zeros((len(t.frames), 17, 3), np.float32)
    heatmaps: dict[int, list[np.ndarray | None]] = {t.track_id: [None] * len(t.frames) for t in kept}
    for index, frame in iter_frames(result.path, 1, None, None, frames=set(where) | set(sheet)):
        if index in sheet:
            result.sheet_frames[index] = frame
        here = where.get(index)
        if not here:
            continue
        boxes = np.stack([t.boxes[k] for t, k in here])
        if segmenter is not None:
            crops = segmenter(frame, boxes)
            if len(crops) != len(here):
                raise ValueError(f"segmenter {_name(segmenter)}: {len(crops)} masks for {len(here)} boxes")
            for (t, k), crop in zip(here, crops):
                t.masks[k] = crop
        if pose is not None:
            kp, hm = check_pose_output(*pose.estimate(frame, boxes), len(here), _name(pose))
            for j, (t, k) in enumerate(here):
                t.pose[k] = kp[j]  # type: ignore[index]
                heatmaps[t.track_id][k] = None if hm is None else hm[j]
    if pose is not None:
        for t in kept:
            hms = heatmaps[t.track_id]
            if hms and all(h is not None for h in hms):
                t.heatmap = np.stack(hms)  # type: ignore[arg-type]


def usable_frames(
    track: TrackResult, width: int, height: int, border: int = 2, max_height_change: float = 0.3
) -> tuple[np.ndarray, dict[str, int]]:
    """Frames whose silhouette can be trusted: the box does not touch the frame border (a person cut by the edge)
    and is not an outlier against the track's running median size (a blob merged with something else, or a
    fragment): height within ``exp(±max_height_change)`` and width at most twice the running median.

    Returns:
        bool ``[T]`` and the number of frames dropped per reason (``border``, ``size_outlier``).
    """
    b = track.boxes
    at_border = (b[:, 0] <= border) | (b[:, 1] <= border) | (b[:, 2] >= width - border) | (b[:, 3] >= height - border)
    h, w = b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]
    half = 7
    med_h, med_w = np.empty_like(h), np.empty_like(w)
    for i in range(len(h)):  # running median over about 15 frames
        lo, hi = max(0, i - half), min(len(h), i + half + 1)
        med_h[i], med_w[i] = np.median(h[lo:hi]), np.median(w[lo:hi])
    outlier = (np.abs(np.log(np.maximum(h, 1) / np.maximum(med_h, 1))) > max_height_change) | (w > 2.0 * med_w)
    ok = ~at_border & ~outlier
    return ok, {"border": int(at_border.sum()), "size_outlier": int((outlier & ~at_border).sum())}


def pretreat_track(
    track: TrackResult,
    img_size: int,
    min_frames: int,
    width: int,
    height: int,
    quality: SilhouetteQuality | None = None,
) -> None:
    """Pretreat a kept track's usable silhouettes (the field's way); drop the track when fewer than ``min_frames``
    remain. Sets ``sil``, ``sil_index``, ``frame_drops`` and cuts ``pose``/``heatmap`` to the kept frames.
    ``quality``: per-frame silhouette rules (:mod:`~gaitforge.preprocess.video.quality`; ``None`` = none)."""
    ok, drops = usable_frames(track, width, height)
    if quality is not None and len(track.masks) == len(ok):
        good, bad = silhouette_quality(track.masks, track.boxes, quality)
        drops.update({k: int(v) for k, v in bad.items() if v})
        drops["quality"] = int((ok & ~good).sum())
        ok &= good
    candidates = np.flatnonzero(ok)
    with warnings.catch_warnings():  # an empty result is reported as the drop reason below
        warnings.simplefilter("ignore", NoValidFrameWarning)
        res = pretreat_sequence_detailed(
            [track.masks[k].mask for k in candidates], img_size, name=f"track {track.track_id}"
        )
    drops["pretreatment"] = len(candidates) - len(res.kept)
    track.frame_drops = drops
    if len(res.kept) < max(1, min_frames):
        track.reason = "too_few_silhouettes"
        track.detail = (
            f"{len(res.kept)} of {len(track.frames)} frames usable after pretreatment < {min_frames} "
            f"(dropped: {drops['border']} at the border, {drops['size_outlier']} size outliers, "
            f"{drops.get('quality', 0)} by silhouette quality, {drops['pretreatment']} by pretreatment)"
        )
        return
    track.sil = res.frames
    track.sil_index = candidates[np.asarray(res.kept, np.int64)]
    if track.pose is not None:
        track.pose = np.ascontiguousarray(track.pose[track.sil_index])
    if track.heatmap is not None:
        track.heatmap = np.ascontiguousarray(track.heatmap[track.sil_index])
