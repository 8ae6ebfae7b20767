"""``gaitforge watch``: continuous tracking and identification on a live source.

Three threads:

* the **reader** opens the source (:mod:`~gaitforge.preprocess.video.sources`), paces a file at its own frame rate
  (``realtime``), and hands frames over through a small buffer: when processing falls behind, the oldest waiting
  frame is dropped and counted (a live source cannot wait). A lost webcam or stream is reopened with exponential
  backoff, a bounded number of times; every open and read has a timeout.
* the **main** thread runs :class:`~gaitforge.preprocess.video.live.LiveTracker` on each frame, decides when a track
  is identified (first when it has ``min_frames`` usable silhouettes, again every ``reidentify_every`` further
  detections), writes the annotated video and emits events.
* the **identifier** embeds a track's buffered silhouettes and searches the gallery, off the main thread (a
  bounded job queue: a track whose job cannot be queued is tried again on a later frame).

Events are dictionaries with ``event`` (``source_opened``, ``track_started``, ``identified``, ``reidentified``,
``identity_changed``, ``track_ended``, ``source_lost``, ``reconnecting``, ``source_warning``, ``stopped``), ``t``
(seconds of source time) and ``wall`` (seconds since the start), plus event fields. Memory is bounded: a few
frames in the buffer, ring buffers per track, at most ``max_tracks`` tracks, finished tracks forgotten.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.preprocess.video.annotate import Overlay, VideoAnnotator, identity_label
from gaitforge.preprocess.video.live import LiveOptions, LiveTrack, LiveTracker
from gaitforge.preprocess.video.segment import MaskCrop
from gaitforge.preprocess.video.sources import OpenedSource, SourceError, SourceLost, SourceSpec, open_source

__all__ = ["GalleryIdentifier", "WatchOptions", "WatchSummary", "Watcher", "rss_mb", "usable_silhouettes"]

logger = logging.getLogger(__name__)


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


@dataclass(frozen=True)
class WatchOptions:
    """Settings of :class:`Watcher`.

    Attributes:
        realtime: Play a file at its own frame rate (frames are dropped when processing falls behind); ``False``
            processes every frame as fast as possible.
        loop: Start a file again at its end (for soak tests).
        max_seconds: Stop after this much wall time (``None`` = until the source ends or Ctrl-C).
        open_timeout_s: Longest wait for a source to open.
        read_timeout_s: Longest wait for a frame from an open source.
        reconnect_attempts: Reopen attempts of a lost webcam or stream before giving up (0 = none).
        backoff_s: First wait before reopening (doubled after each failed attempt, at most ``backoff_max_s``).
        backoff_max_s: Longest wait between attempts.
        buffer_frames: Frames waiting for processing; beyond it the oldest is dropped.
        min_frames: Usable silhouettes before a track is first identified.
        identify_frames: Most silhouettes per identification (the track's latest); the count used is rounded down
            to a multiple of 10 so that the model sees few distinct input sizes (the C allocator otherwise keeps
            growing with every new size).
        reidentify_every: Further detections before a track is identified again.
        top_k: Gallery subjects per identification.
        live: Tracking settings.
        memory_every_s: Wall seconds between memory samples in the summary (on Linux, freed heap memory is
            returned to the system just before each sample).
    """

    realtime: bool = True
    loop: bool = False
    max_seconds: float | None = None
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    reconnect_attempts: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    buffer_frames: int = 4
    min_frames: int = 20
    identify_frames: int = 60
    reidentify_every: int = 30
    top_k: int = 3
    live: LiveOptions = field(default_factory=LiveOptions)
    memory_every_s: float = 10.0

    def __post_init__(self) -> None:
        if self.buffer_frames < 1 or self.min_frames < 1 or self.reidentify_every < 1 or self.top_k < 1:
            raise ValueError("watch options: buffer_frames, min_frames, reidentify_every and top_k must be >= 1")
        if self.open_timeout_s <= 0 or self.read_timeout_s <= 0 or self.reconnect_attempts < 0:
            raise ValueError("watch options: timeouts must be > 0 and reconnect_attempts >= 0")


@dataclass
class WatchSummary:
    """How a watch run went (``as_dict()`` for JSON).

    Attributes:
        source: The source as given.
        stopped: Why it stopped: ``end_of_source``, ``interrupted``, ``max_seconds``, ``source_failed``.
        message: One line for ``source_failed`` (what failed), else empty.
        fps: Source frame rate.
        frames_read: Frames decoded from the source.
        frames_processed: Frames tracked.
        frames_dropped: Frames dropped because processing fell behind.
        corrupt_packets: Undecodable packets skipped.
        reconnects: Successful reopenings of a lost source.
        loops: Times a file was started again.
        warnings: One-line warnings (e.g. a file that ended early).
        tracks_confirmed: Tracks confirmed.
        identifications: Identifications made.
        first_identification: Per identified track: stream seconds and wall seconds from the track's first
            detection (its entry) to its first identification, and the frames used.
        memory_mb: ``(wall seconds, RSS MiB)`` samples.
        wall_s: Wall time of the run.
        cpu_s: CPU time of the process.
    """

    source: str
    stopped: str = ""
    message: str = ""
    fps: float = 0.0
    frames_read: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    corrupt_packets: int = 0
    reconnects: int = 0
    loops: int = 0
    warnings: list[str] = field(default_factory=list)
    tracks_confirmed: int = 0
    identifications: int = 0
    first_identification: list[dict[str, Any]] = field(default_factory=list)
    memory_mb: list[tuple[float, float]] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        from dataclasses import asdict

        return asdict(self)


def usable_silhouettes(track: LiveTrack, width: int, height: int, border: int = 2) -> list[np.ndarray]:
    """The buffered silhouettes of a track that can be trusted: non-empty, box clear of the frame border."""
    out = []
    for box, crop in zip(track.boxes, track.masks):
        if crop.mask.size <= 1 or not crop.mask.any():
            continue
        if box[0] <= border or box[1] <= border or box[2] >= width - border or box[3] >= height - border:
            continue
        out.append(crop.mask)
    return out


class GalleryIdentifier:
    """Identify silhouettes against a gallery with a trained model.

    Args:
        model: Run folder or checkpoint.
        gallery: Gallery folder (opened read-only).
        device: ``cpu``, ``cuda``, ...
        top_k: Subjects per identification.
    """

    def __init__(self, model: str | Path, gallery: str | Path, device: str = "cpu", top_k: int = 3) -> None:
        from gaitforge.retrieval import Gallery, Recognizer

        self.gallery = Gallery.open(gallery, read_only=True)
        try:
            self.recognizer = Recognizer.from_checkpoint(model, device=device)
            if (self.recognizer.dim, self.recognizer.metric) != (self.gallery.dim, self.gallery.metric):
                raise ValueError(
                    f"{gallery}: gallery holds dim {self.gallery.dim} / {self.gallery.metric} vectors but the model "
                    f"gives dim {self.recognizer.dim} / {self.recognizer.metric}; use the model it was enrolled with"
                )
        except BaseException:
            self.gallery.close()
            raise
        self.top_k = top_k
        self.threshold = self.gallery.threshold

    def __call__(self, masks: list[np.ndarray]) -> dict[str, Any]:
        """Silhouette crops (uint8 ``[h, w]``, any sizes) → ``subject``, ``distance``, ``known``, ``matches``."""
        import warnings

        from gaitforge.preprocess.silhouette import NoValidFrameWarning, pretreat_sequence

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoValidFrameWarning)
            sil = pretreat_sequence(masks)
        if not len(sil):
            raise ValueError("no silhouette survived pretreatment")
        vec = self.recognizer.embed(np.asarray(sil), pretreated=True)
        res = self.gallery.identify(vec, k=self.top_k)
        best = res.matches[0] if res.matches else None
        return {
            "subject": best.subject if best else None,
            "distance": round(float(best.distance), 4) if best else None,
            "known": res.known,
            "frames": int(len(sil)),
            "matches": [{"subject": m.subject, "distance": round(float(m.distance), 4)} for m in res.matches],
        }

    def close(self) -> None:
        """Close the gallery."""
        self.gallery.close()


_END = object()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (``None`` elsewhere). Embedding sequences of many lengths leaves the C heap
    fragmented: measured here, RSS grew from 0.3 to 1 GB over 200 identifications and fell back after a trim."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


class _Buffer:
    """Frames handed from the reader to the main thread; drops the oldest when full (``drop=True``)."""

    def __init__(self, size: int, drop: bool) -> None:
        self._items: deque[Any] = deque()
        self._size, self._drop = size, drop
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item: Any, stop: threading.Event) -> None:
        with self._cond:
            if item is not _END:
                while len(self._items) >= self._size:
                    if self._drop:
                        self._items.popleft()
                        self.dropped += 1
                        break
                    self._cond.wait(0.1)
                    if stop.is_set():
                        return
            self._items.append(item)
            self._cond.notify_all()

    def get(self, timeout: float) -> Any:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item


class Watcher:
    """Runs ``watch`` on one source (see the module docstring).

    Args:
        spec: The source.
        options: Settings.
        identifier: ``masks -> dict`` (:class:`GalleryIdentifier`) or ``None`` to track only.
        emit: Called with each event (from the main thread, and from the reader for source events).
        annotate: Write the annotated video here.
        opener: Opens the source (default :func:`~gaitforge.preprocess.video.sources.open_source`; injectable).
        clock, sleep: Wall clock and an interruptible wait ``(seconds, event)`` (injectable for tests).
    """

    def __init__(
        self,
        spec: SourceSpec,
        options: WatchOptions | None = None,
        *,
        identifier: Callable[[list[np.ndarray]], dict[str, Any]] | None = None,
        emit: Callable[[dict[str, Any]], None] | None = None,
        annotate: str | Path | None = None,
        opener: Callable[[SourceSpec, float, float], OpenedSource] = open_source,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.options = options or WatchOptions()
        self.identifier = identifier
        self._emit_fn = emit or (lambda event: None)
        self.annotate = Path(annotate) if annotate else None
        self.opener = opener
        self.clock = clock
        self.summary = WatchSummary(spec.name)
        self._stop = threading.Event()
        self._emit_lock = threading.Lock()
        self._t0 = clock()
        self._fps = 25.0
        self._size: tuple[int, int] | None = None
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._results: queue.Queue[Any] = queue.Queue()
        self._pending: set[int] = set()

    # -- events -------------------------------------------------------------------------------------------

    def _emit(self, event: str, t: float | None = None, **fields: Any) -> None:
        payload = {"event": event, "t": None if t is None else round(t, 3), "wall": round(self.clock() - self._t0, 3)}
        payload.update(fields)
        with self._emit_lock:
            self._emit_fn(payload)

    # -- reader thread ------------------------------------------------------------------------------------

    def _reader(self, buffer: _Buffer, ready: threading.Event) -> None:
        opts, spec = self.options, self.spec
        index = 0
        failures = 0
        opened_once = False
        base_t = 0.0  # source time offset across loops and reconnections
        try:
            while not self._stop.is_set():
                try:
                    src = self.opener(spec, opts.open_timeout_s, opts.read_timeout_s)
                except SourceError as exc:
                    if not spec.live or failures >= opts.reconnect_attempts:
                        what = f" after {failures} reconnection attempts" if spec.live and failures else ""
                        self.summary.message = f"{exc}{what}"
                        self.summary.stopped = "source_failed"
                        return
                    failures += 1
                    wait = min(opts.backoff_max_s, opts.backoff_s * 2 ** (failures - 1))
                    self._emit("reconnecting", None, attempt=failures, of=opts.reconnect_attempts, wait_s=wait,
                               reason=str(exc))  # fmt: skip
                    self._stop.wait(wait)
                    continue
                if not opened_once:
                    self._fps = src.fps
                    self.summary.fps = src.fps
                    self._size = (src.width, src.height)
                    ready.set()
                    size = [src.width, src.height]
                    self._emit("source_opened", 0.0, kind=spec.kind, fps=round(src.fps, 3), size=size)
                elif spec.live:
                    self.summary.reconnects += 1
                    self._emit("reconnected", None, attempt=failures)
                opened_once = True
                pace_wall: float | None = None
                pace_t = 0.0
                last_t = base_t
                try:
                    for t, frame in src.frames():
                        if self._stop.is_set():
                            return
                        failures = 0
                        if opts.realtime and spec.kind == "file":
                            if pace_wall is None:
                                pace_wall, pace_t = self.clock(), t
                            delay = pace_wall + (t - pace_t) - self.clock()
                            if delay > 0 and self._stop.wait(delay):
                                return
                        last_t = base_t + index / max(self._fps, 1e-6) if spec.live else base_t + (t - pace_t)
                        buffer.put((index, last_t, frame, self.clock()), self._stop)
                        index += 1
                        self.summary.frames_read += 1
                except SourceLost as exc:
                    self.summary.corrupt_packets += src.corrupt
                    src.close()
                    self._emit("source_lost", last_t, reason=str(exc))
                    if failures >= opts.reconnect_attempts:
                        self.summary.message = f"{exc}; no reconnection attempts left"
                        self.summary.stopped = "source_failed"
                        return
                    failures += 1
                    wait = min(opts.backoff_max_s, opts.backoff_s * 2 ** (failures - 1))
                    self._emit("reconnecting", None, attempt=failures, of=opts.reconnect_attempts, wait_s=wait,
                               reason=str(exc))  # fmt: skip
                    self._stop.wait(wait)
                    continue
                self.summary.corrupt_packets += src.corrupt
                early = src.ended_early()
                src.close()
                if src.corrupt:
                    self._warn(f"{spec.name}: {src.corrupt} corrupt packet(s) skipped", last_t)
                if early:
                    self._warn(early, last_t)
                if spec.live:  # a stream that ends is a lost stream
                    if failures >= opts.reconnect_attempts:
                        self.summary.message = f"{spec.name}: stream ended; no reconnection attempts left"
                        self.summary.stopped = "source_failed"
                        return
                    failures += 1
                    self._emit("source_lost", last_t, reason="end of stream")
                    self._stop.wait(min(opts.backoff_max_s, opts.backoff_s * 2 ** (failures - 1)))
                    continue
                if opts.loop and src.decoded > 0:
                    self.summary.loops += 1
                    base_t = last_t + 1.0 / max(self._fps, 1e-6)
                    continue
                self.summary.stopped = self.summary.stopped or "end_of_source"
                return
        except Exception as exc:  # noqa: BLE001 (reported as the run's failure; the main thread stops cleanly)
            logger.debug("reader failed", exc_info=True)
            self.summary.message = f"{spec.name}: reading failed ({type(exc).__name__}: {exc})"
            self.summary.stopped = "source_failed"
        finally:
            ready.set()
            buffer.put(_END, self._stop)

    def _warn(self, text: str, t: float | None) -> None:
        self.summary.warnings.append(text)
        self._emit("source_warning", t, message=text)

    # -- identifier thread --------------------------------------------------------------------------------

    def _identify_loop(self) -> None:
        assert self.identifier is not None
        trim = _malloc_trim()
        done = 0
        while True:
            job = self._jobs.get()
            if job is None:
                return
            track_id, hits, masks = job
            try:
                out = self.identifier(masks)
                self._results.put((track_id, hits, out, None, self.clock()))
            except Exception as exc:  # noqa: BLE001 (one failed identification must not stop the watch)
                self._results.put((track_id, hits, None, f"{type(exc).__name__}: {exc}", self.clock()))
            done += 1
            if trim is not None and done % 10 == 0:
                trim(0)  # hand freed model activations back to the system (glibc keeps them otherwise)

    # -- main loop ----------------------------------------------------------------------------------------

    def run(self) -> WatchSummary:
        """Watch until the source ends, fails for good, ``max_seconds`` pass, or Ctrl-C; returns the summary."""
        opts = self.options
        cpu0 = time.process_time()
        buffer = _Buffer(opts.buffer_frames, drop=opts.realtime or self.spec.live)
        ready = threading.Event()
        reader = threading.Thread(target=self._reader, args=(buffer, ready), name="watch-reader", daemon=True)
        worker = None
        if self.identifier is not None:
            worker = threading.Thread(target=self._identify_loop, name="watch-identify", daemon=True)
            worker.start()
        reader.start()
        annotator: VideoAnnotator | None = None
        tracker: LiveTracker | None = None
        tracks_seen: dict[int, LiveTrack] = {}
        next_mem = 0.0
        trim = _malloc_trim()
        try:
            while True:
                now = self.clock() - self._t0
                if now >= next_mem:
                    if trim is not None:
                        trim(0)  # freed frames and masks back to the system, so that RSS shows what is held
                    self.summary.memory_mb.append((round(now, 1), round(rss_mb(), 1)))
                    if len(self.summary.memory_mb) > 4000:  # bounded: keep every second sample
                        self.summary.memory_mb = self.summary.memory_mb[::2]
                    next_mem = now + opts.memory_every_s
                if opts.max_seconds is not None and now >= opts.max_seconds:
                    self.summary.stopped = "max_seconds"
                    break
                self._collect(tracks_seen)
                item = buffer.get(0.2)
                if item is None:
                    continue
                if item is _END:
                    break
                index, t, frame, captured = item
                if tracker is None:
                    tracker = LiveTracker(self._fps, opts.live, clock=self.clock)
                    if self.annotate is not None:
                        annotator = VideoAnnotator(self.annotate, self._fps)
                step = tracker.step(index, frame, captured)
                self.summary.frames_processed += 1
                for tr in step.started:
                    self.summary.tracks_confirmed += 1
                    tracks_seen[tr.track_id] = tr
                    tr.extra["entry_t"] = tr.first_index / self._fps
                    self._emit("track_started", t, track=tr.track_id, box=[round(float(v), 1) for v in tr.boxes[-1]])
                for tr, _, _ in step.matched:
                    if tr.confirmed:
                        self._schedule(tr)
                if len(tracks_seen) > len(tracker.tracks) + 64:  # tracks forgotten beyond max_tracks never end
                    for tid in [k for k in tracks_seen if k not in tracker.tracks]:
                        del tracks_seen[tid]
                for tr in step.ended:
                    tracks_seen.pop(tr.track_id, None)
                    ident = tr.identity or {}
                    self._emit(
                        "track_ended", t, track=tr.track_id, detections=tr.hits,
                        seconds=round((tr.last_index - tr.first_index) / self._fps, 2), subject=ident.get("subject"),
                        known=ident.get("known"),
                    )  # fmt: skip
                if annotator is not None:
                    shown = [self._overlay(tr, box, crop) for tr, box, crop in step.matched if tr.confirmed]
                    annotator.write(frame, shown)
        except KeyboardInterrupt:
            self.summary.stopped = "interrupted"
            if annotator is not None:
                self._finish_annotation(annotator)
                annotator = None
        except BaseException:
            if annotator is not None:
                annotator.abort()
                annotator = None
            raise
        finally:
            self._stop.set()
            reader.join(timeout=max(2.0, opts.read_timeout_s + 1.0))
            if worker is not None:
                self._drain_jobs()
                worker.join(timeout=30.0)
                self._collect(tracks_seen)
            self.summary.frames_dropped = buffer.dropped
            if annotator is not None:
                self._finish_annotation(annotator)
            if tracker is not None:
                for tr in tracker.finish():
                    ident = tr.identity or {}
                    self._emit("track_ended", None, track=tr.track_id, detections=tr.hits,
                               subject=ident.get("subject"), known=ident.get("known"))  # fmt: skip
            if not self.summary.stopped:
                self.summary.stopped = "end_of_source"
            self.summary.wall_s = round(self.clock() - self._t0, 2)
            self.summary.cpu_s = round(time.process_time() - cpu0, 2)
            if trim is not None:
                trim(0)
            self.summary.memory_mb.append((round(self.clock() - self._t0, 1), round(rss_mb(), 1)))
            self._emit("stopped", None, reason=self.summary.stopped, message=self.summary.message)
        return self.summary

    def _finish_annotation(self, annotator: VideoAnnotator) -> None:
        path = annotator.close()
        if path is not None:
            self._emit("annotated", None, path=str(path), frames=annotator.frames)

    def _drain_jobs(self) -> None:
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._jobs.put(None)

    def _overlay(self, tr: LiveTrack, box: np.ndarray, crop: MaskCrop | None) -> Overlay:
        ident = tr.identity or {}
        return Overlay(tr.track_id, box, crop, identity_label(ident.get("subject"), ident.get("known")))

    def _schedule(self, tr: LiveTrack) -> None:
        """Queue an identification of the track when it is due (and the job queue has room)."""
        if self.identifier is None or tr.track_id in self._pending or self._size is None:
            return
        last = tr.extra.get("identified_at")
        if last is not None and tr.hits - last < self.options.reidentify_every:
            return
        masks = usable_silhouettes(tr, *self._size)
        if len(masks) < self.options.min_frames:
            return
        n = min(len(masks), max(self.options.identify_frames, self.options.min_frames))
        n = max(self.options.min_frames, n - n % 10)
        masks = masks[-n:]
        try:
            self._jobs.put_nowait((tr.track_id, tr.hits, [m.copy() for m in masks]))
        except queue.Full:
            return
        self._pending.add(tr.track_id)
        tr.extra["identified_at"] = tr.hits
        tr.extra.setdefault("requested_t", tr.last_index / self._fps)

    def _collect(self, tracks: dict[int, LiveTrack]) -> None:
        """Turn finished identifications into events."""
        while True:
            try:
                track_id, hits, out, error, done_wall = self._results.get_nowait()
            except queue.Empty:
                return
            self._pending.discard(track_id)
            tr = tracks.get(track_id)
            t = None if tr is None else tr.last_index / self._fps
            if error is not None:
                self._emit("identification_failed", t, track=track_id, reason=error)
                continue
            self.summary.identifications += 1
            if tr is not None:  # where the person is now (to check identities against other tracks of the source)
                out = dict(out, frame=tr.last_index, box=[round(float(v), 1) for v in tr.boxes[-1]])
            previous = None if tr is None else tr.identity
            if tr is not None:
                tr.identity = out
            if previous is None:
                entry_wall = None if tr is None else tr.first_wall
                record = {
                    "track": track_id,
                    "stream_s": None if tr is None else round((tr.last_index - tr.first_index) / self._fps, 2),
                    "wall_s": None if entry_wall is None else round(done_wall - entry_wall, 2),
                    "frames": out.get("frames"),
                }
                if len(self.summary.first_identification) < 10000:
                    self.summary.first_identification.append(record)
                self._emit("identified", t, track=track_id, detections=hits, latency_s=record["wall_s"], **out)
            elif previous.get("subject") != out.get("subject") or previous.get("known") != out.get("known"):
                self._emit("identity_changed", t, track=track_id, detections=hits, was=previous.get("subject"), **out)
            else:
                self._emit("reidentified", t, track=track_id, detections=hits, **out)
