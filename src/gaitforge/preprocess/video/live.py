"""Frame-by-frame tracking for live video: the per-frame stages of the file pipeline, driven one frame at a time,
with bounded memory.

:func:`~gaitforge.preprocess.video.pipeline.extract_tracks` reads a whole file (its median background looks ahead
in the file). A live stream cannot be read ahead, so :class:`LiveTracker` runs the same stages on frames as they
come: the median background learnt from *past* frames only (:class:`StreamingMedianBackground`), foreground blobs
(or a pluggable detector), colour appearance, the :class:`~gaitforge.preprocess.video.track.Tracker`, and the
foreground silhouettes with the pipeline's colour-model split of overlapping people (or a pluggable segmenter).

Memory stays bounded however long it runs: each track keeps only its last ``max_track_frames`` silhouettes (a ring
buffer), at most ``max_tracks`` tracks are followed, finished tracks are forgotten once reported, and the tracker's
own history is trimmed to what matching needs.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gaitforge.preprocess.video.appearance import colour_features
from gaitforge.preprocess.video.background import MedianBackground
from gaitforge.preprocess.video.blobs import BlobDetector
from gaitforge.preprocess.video.boxes import Detections
from gaitforge.preprocess.video.segment import ForegroundSilhouettes, MaskCrop
from gaitforge.preprocess.video.track import Tracker

__all__ = ["LiveOptions", "LiveTrack", "LiveTracker", "StepResult", "StreamingMedianBackground"]

logger = logging.getLogger(__name__)


class StreamingMedianBackground:
    """The pipeline's :class:`~gaitforge.preprocess.video.background.MedianBackground` fed with past frames only.

    Samples are taken quickly at first (every ``warmup_every_s``) until ``samples`` are held, then every
    ``window_s / samples`` seconds; the median is recomputed every ``refresh_s``. Until ``min_samples`` samples are
    held no frame gets a mask (:meth:`apply` returns ``None``).

    Args:
        fps: Frame rate of the indices passed in.
        window_s: Seconds of the past that the median covers.
        samples: Samples in the window.
        refresh_s: Seconds between recomputations of the median.
        warmup_every_s: Sampling interval while warming up.
        min_samples: Samples needed before the first mask.
        **kwargs: Thresholds and options of :class:`MedianBackground`.
    """

    def __init__(
        self,
        fps: float,
        window_s: float = 20.0,
        samples: int = 15,
        refresh_s: float = 2.0,
        warmup_every_s: float = 0.3,
        min_samples: int = 5,
        **kwargs: Any,
    ) -> None:
        self.fps = fps if fps > 0 else 25.0
        self.model = MedianBackground(window_s=window_s, samples=samples, refresh_s=refresh_s, **kwargs)
        self.model.plan(self.fps, 0)
        self.samples, self.min_samples = int(samples), max(3, int(min_samples))
        self._every = max(1, round(window_s * self.fps / samples))
        self._warm_every = max(1, round(warmup_every_s * self.fps))
        self._taken = 0
        self._last: int | None = None

    @property
    def ready(self) -> bool:
        """Whether enough samples are held for masks."""
        return self._taken >= self.min_samples

    def apply(self, index: int, frame: np.ndarray) -> np.ndarray | None:
        """Learn from the frame when it is due, then its foreground mask (uint8 ``[H, W]``; ``None`` while warming
        up)."""
        every = self._warm_every if self._taken < self.samples else self._every
        if self._last is None or index - self._last >= every:
            self.model.add_sample(index, frame)
            self._taken += 1
            self._last = index
        if not self.ready:
            return None
        return self.model.apply(index, frame)

    def held(self) -> int:
        """Sample frames held in memory (-1 when the model does not say)."""
        samples = getattr(self.model, "_samples", None)
        return len(samples) if samples is not None else -1


@dataclass(frozen=True)
class LiveOptions:
    """Settings of :class:`LiveTracker`.

    Attributes:
        min_hits: Matches that confirm a track.
        max_gap_s: Seconds a track survives without a detection.
        mask_margin: Crop margin around a box for its silhouette.
        max_track_frames: Silhouettes kept per track (ring buffer).
        max_tracks: Tracks followed at once (the least recently seen are forgotten beyond).
        background_args: Keyword arguments of :class:`StreamingMedianBackground`.
        blob_args: Keyword arguments of :class:`~gaitforge.preprocess.video.blobs.BlobDetector`.
        tracker_args: Keyword arguments of :class:`~gaitforge.preprocess.video.track.Tracker`.
    """

    min_hits: int = 3
    max_gap_s: float = 0.8
    mask_margin: float = 0.1
    max_track_frames: int = 120
    max_tracks: int = 32
    background_args: dict[str, Any] = field(default_factory=dict)
    blob_args: dict[str, Any] = field(default_factory=dict)
    tracker_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_track_frames < 1 or self.max_tracks < 1 or self.min_hits < 1:
            raise ValueError(
                f"live options: max_track_frames {self.max_track_frames}, max_tracks {self.max_tracks} and "
                f"min_hits {self.min_hits} must be >= 1"
            )


@dataclass
class LiveTrack:
    """A followed person.

    Attributes:
        track_id: The tracker's id.
        first_index: Frame index of the first detection.
        first_wall: ``time.monotonic()`` when that frame was captured.
        last_index: Frame index of the last detection.
        hits: Detections so far (all of them, not only those still buffered).
        frames, boxes, masks: Ring buffers of the last ``max_track_frames`` detections: frame indices, boxes xyxy
            float32 ``[4]``, silhouette crops.
        confirmed: Whether the track reached ``min_hits`` detections.
        identity: The last identification (set by the caller), or ``None``.
        extra: Free room for the caller (e.g. identification bookkeeping).
    """

    track_id: int
    first_index: int
    first_wall: float
    last_index: int
    hits: int = 0
    frames: deque[int] = field(default_factory=deque)
    boxes: deque[np.ndarray] = field(default_factory=deque)
    masks: deque[MaskCrop] = field(default_factory=deque)
    confirmed: bool = False
    identity: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepResult:
    """What one frame changed.

    Attributes:
        index: The frame index.
        matched: Tracks detected in this frame (confirmed or not) with this frame's box and silhouette.
        started: Tracks confirmed in this frame.
        ended: Confirmed tracks that ended (not seen for longer than the gap), with their last state.
        warming_up: The background model is not ready yet (no detection ran).
    """

    index: int
    matched: list[tuple[LiveTrack, np.ndarray, MaskCrop | None]] = field(default_factory=list)
    started: list[LiveTrack] = field(default_factory=list)
    ended: list[LiveTrack] = field(default_factory=list)
    warming_up: bool = False


def _trim_tracker(tracker: Tracker, keep: int) -> None:
    """Bound the tracker's own memory: finished records are dropped (they have been reported) and live records keep
    their last ``keep`` entries (matching only needs the filter state and the running appearance)."""
    done = getattr(tracker, "_done", None)
    if isinstance(done, list):
        done.clear()
    for live in getattr(tracker, "_live", []):
        rec = getattr(live, "record", None)
        if rec is None or len(rec.frames) <= keep:
            continue
        for name in ("frames", "boxes", "split", "features"):
            values = getattr(rec, name, None)
            if isinstance(values, list):
                del values[: len(values) - keep]


class LiveTracker:
    """Tracks people frame by frame (see the module docstring).

    Args:
        fps: Frame rate of the frame indices passed to :meth:`step`.
        options: Settings.
        detector: Person detector ``frame -> Detections``; ``None`` = foreground blobs.
        segmenter: Segmenter ``(frame, boxes) -> list[MaskCrop]``; ``None`` = the background's foreground.
        clock: Wall clock (``time.monotonic``; injectable for tests).
    """

    def __init__(
        self,
        fps: float,
        options: LiveOptions | None = None,
        *,
        detector: Callable[[np.ndarray], Detections] | None = None,
        segmenter: Callable[[np.ndarray, np.ndarray], list[MaskCrop]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fps = fps if fps > 0 else 25.0
        self.options = opts = options or LiveOptions()
        self.detector, self.segmenter, self.clock = detector, segmenter, clock
        needs_bg = detector is None or segmenter is None
        self.background = StreamingMedianBackground(self.fps, **opts.background_args) if needs_bg else None
        self.blobs = BlobDetector(**opts.blob_args)
        self.silhouettes = ForegroundSilhouettes(opts.mask_margin)
        self.max_misses = max(1, round(opts.max_gap_s * self.fps))
        self.tracker = Tracker(**{"min_hits": opts.min_hits, "max_misses": self.max_misses, **opts.tracker_args})
        self.tracks: dict[int, LiveTrack] = {}
        self.frames_seen = 0
        self.forgotten = 0
        self._last_index: int | None = None
        self._forgotten: set[int] = set()  # ids dropped beyond max_tracks (not followed again; bounded)
        self._forgotten_order: deque[int] = deque()

    def step(self, index: int, frame: np.ndarray, captured: float | None = None) -> StepResult:
        """Process one frame.

        Args:
            index: Frame index (increasing; gaps are allowed, e.g. dropped frames).
            frame: uint8 ``[H, W, 3]`` RGB.
            captured: Wall time (``clock()``) when the frame was read; default now.

        Returns:
            The :class:`StepResult` of the frame.
        """
        from gaitforge.preprocess.video.pipeline import _cut  # the pipeline's own silhouette step

        if self._last_index is not None and index <= self._last_index:
            raise ValueError(f"live tracker: frame index {index} after {self._last_index}; indices must increase")
        self._last_index = index
        self.frames_seen += 1
        captured = self.clock() if captured is None else captured
        out = StepResult(index)
        mask = None
        if self.background is not None:
            mask = self.background.apply(index, frame)
            if mask is None:
                out.warming_up = True
                out.ended = self._expire(index)
                return out
        dets = self.detector(frame) if self.detector is not None else self.blobs(mask)
        dets.features = colour_features(frame, mask, dets.boxes)
        matches = self.tracker.update(index, dets)
        crops: list[MaskCrop | None] = [None] * len(matches)
        if matches:
            if self.segmenter is not None:
                crops = list(self.segmenter(frame, np.stack([m.box for m in matches])))
            elif mask is not None:
                crops = list(_cut(frame, mask, matches, self.silhouettes, self.tracker))
        for m, crop in zip(matches, crops):
            if m.track_id in self._forgotten:
                continue
            t = self.tracks.get(m.track_id)
            if t is None:
                t = LiveTrack(m.track_id, index, captured, index)
                self.tracks[m.track_id] = t
            t.last_index = index
            t.hits += 1
            box = np.asarray(m.box, np.float32).copy()
            t.frames.append(index)
            t.boxes.append(box)
            t.masks.append(crop if crop is not None else MaskCrop(np.zeros((1, 1), np.uint8), (0, 0)))
            while len(t.frames) > self.options.max_track_frames:
                t.frames.popleft()
                t.boxes.popleft()
                t.masks.popleft()
            if not t.confirmed and t.hits >= self.options.min_hits:
                t.confirmed = True
                out.started.append(t)
            out.matched.append((t, box, crop))
        out.ended = self._expire(index)
        self._bound()
        return out

    def _expire(self, index: int) -> list[LiveTrack]:
        """Tracks not seen for longer than the tracker keeps them."""
        ended = []
        for tid, t in list(self.tracks.items()):
            limit = self.max_misses + 1 if t.confirmed else 1
            if index - t.last_index > limit:
                del self.tracks[tid]
                if t.confirmed:
                    ended.append(t)
        return ended

    def _bound(self) -> None:
        keep = max(self.options.min_hits + 1, 8)
        _trim_tracker(self.tracker, keep)
        models = self.silhouettes.models  # colour models of tracks that are gone
        for tid in [k for k in models if k not in self.tracks]:
            del models[tid]
        if len(self.tracks) > self.options.max_tracks:
            for tid in sorted(self.tracks, key=lambda k: (self.tracks[k].confirmed, self.tracks[k].last_index))[
                : len(self.tracks) - self.options.max_tracks
            ]:
                logger.debug("live tracker: more than %d tracks, forgetting track %d", self.options.max_tracks, tid)
                del self.tracks[tid]
                self.forgotten += 1
                self._forgotten.add(tid)
                self._forgotten_order.append(tid)
                while len(self._forgotten_order) > 4 * self.options.max_tracks:  # the tracker has ended them by then
                    self._forgotten.discard(self._forgotten_order.popleft())

    def finish(self) -> list[LiveTrack]:
        """End every followed track; returns the confirmed ones."""
        out = [t for t in self.tracks.values() if t.confirmed]
        self.tracks.clear()
        self.tracker.finish()
        _trim_tracker(self.tracker, 0)
        return out
