"""Writing RGB frames to a video file with PyAV (atomically, through :func:`gaitforge.utils.atomic.atomic_path`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np

from gaitforge.utils.atomic import atomic_path

__all__ = ["CONTAINER_FORMATS", "write_video"]

logger = logging.getLogger(__name__)

#: Container format per file suffix.
CONTAINER_FORMATS = {".mp4": "mp4", ".mkv": "matroska", ".avi": "avi", ".mov": "mov"}


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    codec: str = "libx264",
    crf: int = 18,
) -> int:
    """Encode frames into ``path``.

    Args:
        path: Output file; its suffix picks the container (``.mp4``, ``.mkv``, ``.avi``, ``.mov``).
        frames: uint8 ``[H, W, 3]`` RGB frames, all of one even size.
        fps: Frame rate.
        codec: FFmpeg encoder name (``libx264``, ``mpeg4``, ``ffv1``, ...).
        crf: Constant rate factor for ``libx264`` (lower = better quality); ignored by other encoders.

    Returns:
        The number of frames written.
    """
    import av

    target = Path(path)
    fmt = CONTAINER_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{target}: unknown video suffix {target.suffix!r}; expected one of {sorted(CONTAINER_FORMATS)}"
        )
    count = 0
    with atomic_path(target) as tmp:
        with av.open(str(tmp), "w", format=fmt) as container:
            stream = None
            for frame in frames:
                frame = np.asarray(frame)
                if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                    raise ValueError(
                        f"{target}: frame {count} is {frame.dtype} {frame.shape}; expected uint8 [H, W, 3]"
                    )
                if stream is None:
                    h, w = frame.shape[:2]
                    if h % 2 or w % 2:
                        raise ValueError(f"{target}: frame size {w}x{h} must be even for yuv420p encoding")
                    stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
                    stream.width, stream.height = w, h
                    stream.pix_fmt = "yuv420p" if codec != "ffv1" else "yuv444p"
                    if codec == "libx264":
                        stream.options = {"crf": str(crf), "preset": "veryfast"}
                    elif codec == "mpeg4":
                        stream.bit_rate = 8_000_000
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
                count += 1
            if stream is None:
                raise ValueError(f"{target}: no frame to write")
            for packet in stream.encode():
                container.mux(packet)
    logger.debug("wrote %d frames to %s", count, target)
    return count
