"""Live video sources through PyAV: webcams, network streams (RTSP, HTTP, ...) and files, with bounded waits.

* A **webcam** is given by its index (``0`` → ``/dev/video0`` through Video4Linux2 on Linux, the AVFoundation device
  on macOS) or its device path; a **stream** by its URL; anything else is a **file**.
* Opening and every read are bounded by timeouts (PyAV's interrupt callback), so a server that accepts a connection
  and then says nothing makes :func:`open_source` raise :class:`SourceError` after ``open_timeout_s``, and a stream
  that stalls makes :meth:`OpenedSource.frames` raise :class:`SourceLost` after ``read_timeout_s``.
* A packet that cannot be decoded (a corrupt frame) is skipped and counted; a file that ends before its container's
  declared frame count or duration is reported by :meth:`OpenedSource.ended_early`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.preprocess.video.decode import declared_duration, ended_early

__all__ = ["OpenedSource", "SourceError", "SourceLost", "SourceSpec", "open_source", "parse_source"]

logger = logging.getLogger(__name__)

_STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp", "mms")
#: Consecutive demuxing errors after which a file is given up (each is skipped and counted before that).
_MAX_DEMUX_ERRORS = 20


class SourceError(RuntimeError):
    """A source that cannot be opened (the message names it and says why, on one line)."""


class SourceLost(SourceError):
    """An opened live source that stopped delivering (stalled past the read timeout, or disconnected)."""


@dataclass(frozen=True)
class SourceSpec:
    """Where frames come from.

    Attributes:
        kind: ``"webcam"``, ``"stream"`` or ``"file"``.
        url: What FFmpeg opens (device path, URL or file path).
        format: FFmpeg input format (``v4l2``, ``avfoundation``) or ``None`` to let FFmpeg guess.
        name: The source as the user gave it (used in messages).
    """

    kind: str
    url: str
    format: str | None
    name: str

    @property
    def live(self) -> bool:
        """Webcams and streams (reconnected when lost); files are not."""
        return self.kind != "file"


def parse_source(text: str | int) -> SourceSpec:
    """Read a SOURCE argument: a webcam index or device, a stream URL, or a video file.

    Raises:
        FileNotFoundError: a file source that does not exist.
        ValueError: a webcam index on a platform where FFmpeg has no index-based capture.
    """
    s = str(text).strip()
    if re.fullmatch(r"\d+", s):
        if sys.platform.startswith("linux"):
            return SourceSpec("webcam", f"/dev/video{s}", "v4l2", s)
        if sys.platform == "darwin":
            return SourceSpec("webcam", s, "avfoundation", s)
        raise ValueError(f"webcam {s}: capture by index is supported on Linux and macOS; give a stream URL or file")
    if s.startswith("/dev/video"):
        return SourceSpec("webcam", s, "v4l2", s)
    scheme = s.split("://", 1)[0].lower() if "://" in s else ""
    if scheme in _STREAM_SCHEMES:
        return SourceSpec("stream", s, None, s)
    if scheme:
        raise ValueError(f"{s}: unknown stream scheme {scheme!r}; expected one of {', '.join(_STREAM_SCHEMES)}")
    p = Path(s)
    if not p.exists():
        raise FileNotFoundError(f"{s}: video file not found")
    if not p.is_file():
        raise ValueError(f"{s}: not a file; expected a video file, a webcam index or a stream URL")
    return SourceSpec("file", str(p), None, s)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return re.sub(r"\s+", " ", text)


class OpenedSource:
    """An open source; iterate :meth:`frames` (see the module docstring).

    Attributes:
        spec: The source.
        fps: Frame rate (declared, else guessed; 25 when unknown).
        width, height: Frame size.
        declared_frames: Frame count declared by the container (0 when unknown).
        declared_duration_s: Duration declared by the container or stream (0 when unknown).
        decoded: Frames decoded so far.
        corrupt: Packets that could not be decoded or demuxed (skipped).
    """

    def __init__(self, spec: SourceSpec, container: Any) -> None:
        self.spec = spec
        self._container = container
        stream = container.streams.video[0]
        self._stream = stream
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.fps = float(rate) if rate else 25.0
        if not 0 < self.fps < 1000:
            self.fps = 25.0
        self.width, self.height = int(stream.codec_context.width), int(stream.codec_context.height)
        self.declared_frames = int(stream.frames or 0) if spec.kind == "file" else 0
        self.declared_duration_s = declared_duration(container) if spec.kind == "file" else 0.0
        self.decoded = 0
        self.corrupt = 0

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """Decoded frames ``(time in seconds, uint8 [H, W, 3] RGB)`` until the end of the source.

        Raises:
            SourceLost: a live source stalled or disconnected.
        """
        import av

        demux = self._container.demux(self._stream)
        errors = 0
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except (av.error.FFmpegError, OSError) as exc:
                if self.spec.live:
                    raise SourceLost(
                        f"{self.spec.name}: stream lost after {self.decoded} frames ({_describe(exc)})"
                    ) from exc
                errors += 1
                self.corrupt += 1
                if errors >= _MAX_DEMUX_ERRORS:
                    logger.warning("%s: %d demuxing errors in a row, giving up on the file", self.spec.name, errors)
                    return
                continue
            errors = 0
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                if packet.size == 0:  # the flush packet at the end
                    continue
                self.corrupt += 1
                logger.debug("%s: packet after frame %d not decodable (%s)", self.spec.name, self.decoded, exc)
                continue
            for frame in decoded:
                t = frame.time
                seconds = float(t) if t is not None else self.decoded / self.fps
                self.decoded += 1
                yield seconds, frame.to_ndarray(format="rgb24")

    def ended_early(self) -> str | None:
        """For a file read to its end: a one-line account when fewer frames were decoded than the container
        declares (by frame count, else by duration), ``None`` otherwise."""
        if self.spec.kind != "file":
            return None
        return ended_early(self.spec.name, self.decoded, self.declared_frames, self.declared_duration_s, self.fps)

    def close(self) -> None:
        """Close the container (idempotent)."""
        if self._container is not None:
            try:
                self._container.close()
            finally:
                self._container = None


def open_source(spec: SourceSpec, open_timeout_s: float = 10.0, read_timeout_s: float = 10.0) -> OpenedSource:
    """Open a source with bounded waits.

    Args:
        spec: The source (:func:`parse_source`).
        open_timeout_s: Longest wait for the source to open and deliver its header.
        read_timeout_s: Longest wait for any later read.

    Raises:
        SourceError: it cannot be opened in time, has no video stream, or is not a video (one-line message).
    """
    import av

    options: dict[str, str] = {}
    if spec.url.startswith(("rtsp://", "rtsps://")):
        options["rtsp_transport"] = "tcp"
    what = {"webcam": "webcam", "stream": "stream", "file": "video file"}[spec.kind]
    try:
        container = av.open(spec.url, format=spec.format, options=options, timeout=(open_timeout_s, read_timeout_s))
    except av.error.ExitError as exc:
        raise SourceError(
            f"{spec.name}: {what} did not answer within {open_timeout_s:g} s ({_describe(exc)})"
        ) from exc
    except FileNotFoundError as exc:
        raise SourceError(f"{spec.name}: {what} not found") from exc
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        hint = " (truncated or not a video?)" if spec.kind == "file" else ""
        raise SourceError(f"{spec.name}: {what} cannot be opened{hint} ({_describe(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise SourceError(f"{spec.name}: {what} has no video stream")
    src = OpenedSource(spec, container)
    if src.width <= 0 or src.height <= 0:
        src.close()
        raise SourceError(f"{spec.name}: {what} has no frame size")
    container.streams.video[0].thread_type = "AUTO" if spec.kind == "file" else "SLICE"
    return src
