"""From a video file to per-person gait sequences.

Pass 1 (every processed frame): background model → foreground mask (shadows marked) → person boxes (foreground
blobs, or a pluggable detector) → tracker → a silhouette crop per matched box. Tracks are then filtered (walking
people only). Pass 2 (only the frames of kept tracks, and only when needed): the pluggable segmenter replaces the
silhouette crops, the pose estimator adds keypoints and heatmaps, and the contact-sheet frames are kept.
Finally each kept track's crops go through the field's standard pretreatment → uint8 ``[T, 64, 64]``.

Example::

    from gaitforge.preprocess.video import extract_sequences
    seqs = extract_sequences("street.mp4", stride=1, min_frames=20)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.preprocess.video.appearance import colour_features
from gaitforge.preprocess.video.background import make_background
from gaitforge.preprocess.video.blobs import BlobDetector
from gaitforge.preprocess.video.boxes import Detections
from gaitforge.preprocess.video.decode import frame_range, iter_frames, probe_video
from gaitforge.preprocess.video.filters import TrackFilter, check_track
from gaitforge.preprocess.video.finish import pretreat_track, second_pass
from gaitforge.preprocess.video.frontend import choose_frontend
from gaitforge.preprocess.video.identity import split_identity_switches
from gaitforge.preprocess.video.pose import PoseEstimator
from gaitforge.preprocess.video.quality import SilhouetteQuality
from gaitforge.preprocess.video.results import TrackResult, VideoResult, video_id_for
from gaitforge.preprocess.video.segment import ForegroundSilhouettes, MaskCrop, Segmenter, mask_box
from gaitforge.preprocess.video.stabilise import Stabiliser, map_boxes, warp_crop
from gaitforge.preprocess.video.track import Match, Tracker

__all__ = ["Detector", "VideoOptions", "extract_sequences", "extract_tracks"]

logger = logging.getLogger(__name__)


class Detector(Protocol):
    """Finds people in a frame (e.g. :class:`~gaitforge.preprocess.video.onnx_detector.OnnxDetector`)."""

    def __call__(self, frame: np.ndarray) -> Detections:
        """``frame`` uint8 ``[H, W, 3]`` RGB → boxes and scores."""
        ...


@dataclass(frozen=True)
class VideoOptions:
    """Settings of :func:`extract_tracks`.

    Attributes:
        stride: Process every ``stride``-th frame.
        start_s, end_s: Time range ``[start_s, end_s)`` in seconds (``None`` = from the start / to the end).
        background: ``"median"`` (default) or ``"mog2"``; see :mod:`~gaitforge.preprocess.video.background`.
        background_args: Keyword arguments of the background model.
        blob_args: Keyword arguments of :class:`~gaitforge.preprocess.video.blobs.BlobDetector`.
        tracker_args: Keyword arguments of :class:`~gaitforge.preprocess.video.track.Tracker`.
        min_hits: Matches that confirm a track.
        max_gap_s: Seconds a track survives without a detection.
        filter: Which tracks are kept.
        mask_margin: Crop margin around a box for its silhouette (fraction of the box size).
        img_size: Pretreated silhouette size.
        sheet_frames: Frames picked for the contact sheet (0 = none).
        frontend: ``auto`` (by the camera's motion), ``detector`` (BlazePose detector + segmenter) or
            ``background``; see :mod:`~gaitforge.preprocess.video.frontend`. Ignored when a detector is given.
        stabilise: ``auto`` (when the camera moves), ``on`` or ``off``: background and tracks in the first
            frame's coordinates.
        detector_args: Keyword arguments of the BlazePose detector.
        identity_threshold: A confirmed track is split where its appearance before and after falls below this
            similarity (:func:`~gaitforge.preprocess.video.identity.split_identity_switches`; 0 = never).
        quality: Per-frame silhouette rules (:mod:`~gaitforge.preprocess.video.quality`); ``None`` keeps every
            frame that passes the border and size checks.
    """

    stride: int = 1
    start_s: float | None = None
    end_s: float | None = None
    background: str = "median"
    background_args: dict[str, Any] = field(default_factory=dict)
    blob_args: dict[str, Any] = field(default_factory=dict)
    tracker_args: dict[str, Any] = field(default_factory=dict)
    min_hits: int = 3
    max_gap_s: float = 0.8
    filter: TrackFilter = field(default_factory=TrackFilter)
    mask_margin: float = 0.1
    img_size: int = 64
    sheet_frames: int = 0
    frontend: str = "auto"
    stabilise: str = "auto"
    detector_args: dict[str, Any] = field(default_factory=dict)
    identity_threshold: float = 0.6
    quality: SilhouetteQuality | None = field(default_factory=SilhouetteQuality)

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"video options: stride must be >= 1, got {self.stride}")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"video options: empty time range [{self.start_s}, {self.end_s}) s")


def _name(obj: object) -> str:
    return getattr(obj, "name", None) or type(obj).__name__


def _options(options: VideoOptions | None, overrides: dict[str, Any]) -> VideoOptions:
    opts = options or VideoOptions()
    if "min_frames" in overrides:
        overrides = dict(overrides)
        opts = replace(opts, filter=replace(opts.filter, min_frames=int(overrides.pop("min_frames"))))
    return replace(opts, **overrides) if overrides else opts


def extract_tracks(
    path: str | Path,
    options: VideoOptions | None = None,
    *,
    detector: Detector | None = None,
    segmenter: Segmenter | None = None,
    pose: PoseEstimator | None = None,
    video_id: str | None = None,
    progress: Callable[[int], None] | None = None,
    **overrides: Any,
) -> VideoResult:
    """Find, track, filter and segment the walking people of one video.

    Args:
        path: Video file (anything FFmpeg reads).
        options: Settings; keyword ``overrides`` replace its fields (``min_frames=`` sets the filter's).
        detector: Person detector on RGB frames; ``None`` = foreground blobs of the background model.
        segmenter: Silhouette segmenter for the kept tracks; ``None`` = the background model's foreground.
        pose: Pose estimator called on the kept tracks' boxes (adds ``pose`` and ``heatmap``).
        video_id: Name of the video in sequence subjects (default: from the file name).
        progress: Called with the number of newly processed frames.

    Returns:
        The :class:`VideoResult` (tracks kept and dropped, with reasons); ``.sequences()`` gives the store records.

    Raises:
        FileNotFoundError: no such file.
        VideoDecodeError: unreadable video (a ``ValueError`` naming the file).
    """
    opts = _options(options, overrides)
    t0 = time.perf_counter()
    path = str(Path(path).resolve())
    info = probe_video(path)
    fps = info.fps if info.fps > 0 else 25.0
    result = VideoResult(path, video_id or video_id_for(path), info, opts.stride, opts.start_s, opts.end_s)
    front = choose_frontend(
        opts.frontend, path, opts.start_s, opts.end_s, detector, segmenter, opts.stabilise, opts.detector_args
    )
    detector = front.detector
    person_masks_of = getattr(detector, "foreground", None)  # a detector that segments the people it finds
    use_background = detector is None or (segmenter is None and person_masks_of is None)
    bg = make_background(opts.background, **opts.background_args) if use_background else None
    stab = Stabiliser() if front.stabilise else None
    sample_stab = Stabiliser() if front.stabilise and bg is not None else None
    to_frame: dict[int, np.ndarray] = {}  # stabilised → frame coordinates, per frame (when stabilising)
    blobs = BlobDetector(**opts.blob_args)
    silhouettes = ForegroundSilhouettes(opts.mask_margin)
    seg_name = f"{_name(detector)}_masks" if person_masks_of is not None else "foreground"
    result.components = {
        "background": opts.background if bg is not None else "none",
        "detector": _name(detector) if detector is not None else "foreground_blobs",
        "segmenter": _name(segmenter) if segmenter is not None else seg_name,
        "pose_estimator": _name(pose) if pose is not None else "none",
        "frontend": front.name,
        "frontend_reason": front.reason,
        "stabilised": front.stabilise,
    }
    max_misses = max(1, round(opts.max_gap_s * fps / opts.stride))
    tracker = Tracker(**{"min_hits": opts.min_hits, "max_misses": max_misses, **opts.tracker_args})
    masks: dict[int, list[MaskCrop]] = {}
    samples = None
    next_sample: tuple[int, np.ndarray] | None = None
    lookahead = 0
    if bg is not None:
        first, stop = frame_range(info, opts.start_s, opts.end_s)
        end = stop if stop is not None else info.frames
        step, lookahead = bg.plan(fps, max(0, end - first) if end else 0)
        samples = iter_frames(path, stride=step, start_s=opts.start_s, end_s=opts.end_s)
        next_sample = next(samples, None)
    for index, frame in iter_frames(path, opts.stride, opts.start_s, opts.end_s):
        mask = None
        M = stab.update(frame) if stab is not None else None  # frame → stabilised coordinates
        view, seen = Stabiliser.warp(frame, M) if M is not None and bg is not None else (frame, None)
        if M is not None:
            to_frame[index] = np.linalg.inv(M)
        if bg is not None:
            while next_sample is not None and next_sample[0] <= index + lookahead and bg.wants_samples():
                i_s, f_s = next_sample
                bg.add_sample(i_s, Stabiliser.warp(f_s, sample_stab.update(f_s))[0] if sample_stab else f_s)
                next_sample = next(samples, None)  # type: ignore[arg-type]
            mask = bg.apply(index, view)
            if seen is not None:
                mask[~seen] = 0
        if detector is None:
            dets = blobs(mask)  # in the coordinates of `view`
            dets.features = colour_features(view, mask, dets.boxes)
        else:
            dets = _detect(detector, frame, tracker, M)
            fg = person_masks_of(*frame.shape[:2]) if person_masks_of is not None else None
            dets.features = colour_features(frame, fg if fg is not None else mask if M is None else None, dets.boxes)
            if M is not None:
                dets.boxes = map_boxes(dets.boxes, M)
        matches = tracker.update(index, dets)
        if matches and person_masks_of is not None and segmenter is None:
            for match, crop in zip(matches, _detected_masks(detector, frame, dets, matches, M)):
                masks.setdefault(match.track_id, []).append(crop)
        elif matches and mask is not None and segmenter is None:
            for match, crop in zip(matches, _cut(view, mask, matches, silhouettes, tracker)):
                if M is not None:
                    crop = MaskCrop(*warp_crop(crop.mask, crop.origin, to_frame[index], info.width, info.height))
                masks.setdefault(match.track_id, []).append(crop)
        result.frames_processed += 1
        if progress is not None:
            progress(1)
    records = tracker.finish()
    parts = (
        split_identity_switches(records, opts.identity_threshold, min_hits=opts.min_hits)
        if opts.identity_threshold > 0
        else [(r, r.track_id, slice(0, len(r))) for r in records]
    )
    for rec, parent, part in parts:
        if not rec.confirmed:
            result.unconfirmed += 1
            continue
        frames, boxes = np.asarray(rec.frames, np.int64), np.stack(rec.boxes).astype(np.float32)
        reason, detail = check_track(frames, boxes, fps, opts.filter, frame_height=info.height)
        if to_frame:  # walking was judged in stabilised coordinates; the result keeps frame coordinates
            boxes = np.concatenate([map_boxes(b[None], to_frame[int(f)]) for f, b in zip(frames, boxes)])
        track = TrackResult(
            rec.track_id, frames, boxes, np.asarray(rec.split, bool), masks.get(parent, [])[part], reason, detail
        )
        result.tracks.append(track)
    second_pass(result, opts.sheet_frames, segmenter, pose)
    for track in result.kept():
        pretreat_track(track, opts.img_size, opts.filter.min_frames, info.width, info.height, opts.quality)
    result.seconds = time.perf_counter() - t0
    logger.info(
        "%s: %d frames, %d tracks confirmed, %d kept",
        path,
        result.frames_processed,
        len(result.tracks),
        len(result.kept()),
    )
    return result


def _detect(detector: Any, frame: np.ndarray, tracker: Tracker, M: np.ndarray | None) -> Detections:
    """Run a detector; one that takes ``hints`` gets the tracks' expected boxes (in frame coordinates)."""
    if not getattr(detector, "takes_hints", False):
        return detector(frame)
    hints = tracker.expected()
    if M is not None and len(hints):
        hints = map_boxes(hints, np.linalg.inv(M))
    return detector(frame, hints=hints)


def _detected_masks(
    detector: Any, frame: np.ndarray, dets: Detections, matches: list[Match], M: np.ndarray | None
) -> list[MaskCrop]:
    """The masks a segmenting detector found for the matched detections (frame coordinates); a match whose box is
    not one of the detections (a track's prediction, split among overlapping tracks) is segmented in its box."""
    out = []
    inv = np.linalg.inv(M) if M is not None else None
    for m in matches:
        same = np.flatnonzero(np.all(dets.boxes == m.box[None], axis=1)) if len(dets) else []
        if len(same) and int(same[0]) < len(detector.last):
            out.append(detector.last[int(same[0])].mask)
            continue
        box = m.box[None] if inv is None else map_boxes(m.box[None], inv)
        out.append(detector.segment(frame, box)[0])
    return out


def _cut(
    frame: np.ndarray, mask: np.ndarray, matches: list[Match], cutter: ForegroundSilhouettes, tracker: Tracker
) -> list[MaskCrop]:
    """Silhouettes of one frame's matched tracks. Boxes split out of merged foreground are then tightened to their
    silhouettes (a track whose box was its own prediction is corrected with it) and the silhouettes cut again."""
    ids = [m.track_id for m in matches]
    boxes = np.stack([m.box for m in matches])
    crops = cutter(frame, mask, ids, boxes)
    changed = False
    for j, m in enumerate(matches):
        tight = mask_box(crops[j]) if m.split else None
        if tight is not None and tight[3] - tight[1] >= 0.6 * (m.box[3] - m.box[1]):
            boxes[j] = tight
            tracker.correct(m.track_id, tight, measure=m.guided)
            changed = True
    return cutter(frame, mask, ids, boxes, learn=False) if changed else crops


def extract_sequences(
    path: str | Path,
    options: VideoOptions | None = None,
    *,
    detector: Detector | None = None,
    segmenter: Segmenter | None = None,
    pose: PoseEstimator | None = None,
    **overrides: Any,
) -> list[Sequence]:
    """Video → one gait :class:`~gaitforge.data.sequence.Sequence` per walking person.

    The same arguments as :func:`extract_tracks`; returns ``extract_tracks(...).sequences()`` (``sil`` uint8
    ``[T, 64, 64]``, plus ``pose``/``heatmap`` with a pose estimator; provenance in ``meta``).
    """
    return extract_tracks(path, options, detector=detector, segmenter=segmenter, pose=pose, **overrides).sequences()
