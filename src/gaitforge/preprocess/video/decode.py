"""Reading video files with PyAV: frame iteration with a stride and a time range, and a cheap probe.

Every failure to open or decode names the file: an unreadable video raises :class:`VideoDecodeError`
(a ``ValueError``), a missing one ``FileNotFoundError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "VideoDecodeError",
    "VideoInfo",
    "declared_duration",
    "ended_early",
    "frame_range",
    "iter_frames",
    "probe_video",
]

logger = logging.getLogger(__name__)


class VideoDecodeError(ValueError):
    """A video file that cannot be opened or decoded (the message names the file)."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream.

    Attributes:
        path: The file.
        width, height: Frame size in pixels.
        fps: Average frame rate (frames per second).
        frames: Frame count as declared by the container (0 when unknown).
        codec: Codec name.
    """

    path: str
    width: int
    height: int
    fps: float
    frames: int
    codec: str


def declared_duration(container: Any) -> float:
    """Seconds the container (else its first video stream) declares; 0 when it declares nothing."""
    if container.duration:
        return float(container.duration) / 1e6  # microseconds
    stream = container.streams.video[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def ended_early(name: str, decoded: int, declared_frames: int, declared_s: float, fps: float) -> str | None:
    """One line when a file read to its end gave fewer frames than its container declares, else ``None``.

    The frame count is compared when declared, else the duration; a shortfall of up to 2 frames or 2 % is
    tolerated (containers round). Used by :func:`iter_frames` and by the live sources alike.
    """
    if declared_frames > 0:
        if declared_frames - decoded > max(2, 0.02 * declared_frames):
            return (
                f"{name}: ended early: decoded {decoded} of {declared_frames} declared frames "
                f"(truncated or damaged file)"
            )
        return None
    if declared_s > 0 and fps > 0:
        got = decoded / fps
        if declared_s - got > max(2.0 / fps, 0.02 * declared_s):
            return (
                f"{name}: ended early: decoded {decoded} frames ({got:.2f} s) of a declared {declared_s:.2f} s "
                f"(truncated or damaged file)"
            )
    return None


def _open(path: str | Path) -> Any:  # av.container.InputContainer (av is imported lazily)
    import av

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: video file not found")
    if not p.is_file():
        raise VideoDecodeError(f"{p}: not a file; expected a video file")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoDecodeError(f"{p}: cannot be opened as a video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"{p}: contains no video stream")
    return container


def probe_video(path: str | Path) -> VideoInfo:
    """Open ``path`` and read its stream header (no frame is decoded).

    Raises:
        FileNotFoundError: no such file.
        VideoDecodeError: not a readable video.
    """
    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        if width <= 0 or height <= 0:
            raise VideoDecodeError(f"{path}: video stream has no frame size")
        return VideoInfo(str(path), width, height, fps, int(stream.frames or 0), str(stream.codec_context.name))
    finally:
        container.close()


def frame_range(info: VideoInfo, start_s: float | None, end_s: float | None) -> tuple[int, int | None]:
    """Frame indices ``[first, stop)`` of the frames whose time ``index / fps`` lies in ``[start_s, end_s)``
    (seconds); ``stop`` is None without an end."""
    fps = info.fps if info.fps > 0 else 25.0
    first = max(0, int(np.ceil((start_s or 0.0) * fps - 1e-6)))
    stop = None if end_s is None else max(first, int(np.ceil(end_s * fps - 1e-6)))
    return first, stop


def iter_frames(
    path: str | Path,
    stride: int = 1,
    start_s: float | None = None,
    end_s: float | None = None,
    frames: set[int] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode frames as RGB arrays.

    Frames are numbered by decoding order from 0 (the first frame of the file), so indices stay comparable
    whatever the stride and time range.

    Args:
        path: Video file.
        stride: Keep every ``stride``-th frame of the range (counted from its first frame).
        start_s, end_s: Time range ``[start_s, end_s)`` in seconds (from the declared frame rate).
        frames: Only yield these frame indices (the other options still apply); decoding stops after the last.

    Yields:
        ``(index, frame)`` with ``frame`` uint8 ``[H, W, 3]`` RGB.

    Raises:
        FileNotFoundError: no such file.
        VideoDecodeError: the file cannot be opened or a packet cannot be decoded (names the file and frame).

    A file that ends before the frame count or duration its container declares (a truncated download or copy) is
    read to where it ends and a warning says so (:func:`ended_early`).
    """
    import av

    if stride < 1:
        raise ValueError(f"iter_frames: stride must be >= 1, got {stride}")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise ValueError(f"iter_frames: empty time range [{start_s}, {end_s}) s for {path}")
    info = probe_video(path)
    first, stop = frame_range(info, start_s, end_s)
    last_wanted = max(frames) if frames else None
    container = _open(path)
    index = -1
    at_end = False
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared_s = declared_duration(container)
        decoded = container.decode(stream)
        while True:
            try:
                frame = next(decoded)
            except StopIteration:
                at_end = True
                break
            except av.error.FFmpegError as exc:
                raise VideoDecodeError(f"{path}: decoding failed after frame {index} ({exc})") from exc
            index += 1
            if stop is not None and index >= stop:
                break
            if last_wanted is not None and index > last_wanted:
                break
            if index < first or (index - first) % stride:
                continue
            if frames is not None and index not in frames:
                continue
            yield index, frame.to_ndarray(format="rgb24")
    finally:
        container.close()
    if index < 0:
        raise VideoDecodeError(f"{path}: no frame could be decoded")
    note = ended_early(str(path), index + 1, info.frames, declared_s, info.fps) if at_end else None
    if note:
        logger.warning(note)
