"""Silhouette input from strangers: the one place that bounds, reads and checks it for every entry point.

``gaitforge enroll`` / ``identify``, :class:`~gaitforge.retrieval.Recognizer` and the HTTP service all go through
these functions, so one input is refused the same way wherever it arrives:

* frame counts and frame sizes are checked from headers (the PNG ``IHDR`` chunk, the ``.npy`` header, the video
  probe) **before** any pixel is decoded (:func:`check_frame_count`, :func:`check_frame_side`, :func:`png_size`,
  :func:`npy_header`, :func:`check_video`);
* a folder is read from its regular files only: a named pipe, socket or device named ``*.png`` is skipped, never
  opened (:func:`read_png_frames`);
* a ``.npy`` is read without pickle, and a pickled or object file is refused with what was expected instead
  (:func:`read_npy_frames`);
* a sequence without a silhouette (all-black frames, a 16-bit PNG read as black), or with fewer than
  ``min_frames`` frames holding one, is refused (:func:`prepare_silhouettes`).

Every refusal is an :class:`InputRefused` (a ``ValueError``: one line on the command line) whose message names the
file and the limit; the service turns it into a 413 / 422 JSON error with the same ``code``.
"""

from __future__ import annotations

import ast
import dataclasses
import logging
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PRETREATED_SIZES",
    "InputLimits",
    "InputRefused",
    "check_frame_count",
    "check_frame_side",
    "check_video",
    "npy_header",
    "png_size",
    "prepare_silhouettes",
    "read_npy_frames",
    "read_png_frames",
]

logger = logging.getLogger(__name__)

#: Square silhouette sizes taken as already pretreated (kept as they are).
PRETREATED_SIZES = (64, 128)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
#: Bytes that hold any ``.npy`` header numpy writes (magic, version, length, at most 10,000 header bytes).
NPY_HEAD_BYTES = 12 + 10_000
_SIL_DTYPES = (np.dtype(np.uint8), np.dtype(np.bool_))
_BLANK_HINT = (
    "expected white walkers on black in 8-bit frames (a 16-bit PNG whose values are below 256 reads as black)"
)


@dataclass(frozen=True)
class InputLimits:
    """Bounds on one silhouette input, shared by the command line, the Python API and the service.

    The service's :class:`~gaitforge.service.limits.ServiceLimits` takes its defaults from here;
    ``gaitforge enroll`` / ``identify`` / ``serve`` set them with ``--max-frames``, ``--max-frame-side``,
    ``--min-frames``.

    Attributes:
        max_frames: Frames in one sequence (and video frames processed per video).
        max_frame_side: Width and height of one frame in pixels, checked from the header before decoding.
        max_video_pixels: Frame area of a video (``width * height``).
        min_frames: Frames that must hold a silhouette (after pretreatment) for a sequence to be embedded;
            shorter walks give unreliable templates and are refused.
        max_subject_length: Characters in a subject name (see :mod:`gaitforge.retrieval.names`).
    """

    max_frames: int = 2000
    max_frame_side: int = 1024
    max_video_pixels: int = 1920 * 1080
    min_frames: int = 5
    max_subject_length: int = 64

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"InputLimits.{f.name} is {value!r}; expected an integer >= 1")
        if self.min_frames > self.max_frames:
            raise ValueError(
                f"InputLimits.min_frames is {self.min_frames}, above max_frames {self.max_frames}; expected <="
            )


class InputRefused(ValueError):
    """An input refused by a bound or a content check.

    Args:
        code: Machine-readable reason (``"too_many_frames"``, ``"frame_too_large"``, ``"video_too_large"``,
            ``"no_silhouette"``, ``"too_few_frames"``, ``"invalid_array"``, ``"invalid_frame"``,
            ``"invalid_subject"``).
        message: One line naming the file (or field), the limit and what was expected.
        limit: The bound passed, when one was.
        too_large: The input is over a size bound (the service answers 413) rather than malformed (422).
    """

    def __init__(self, code: str, message: str, limit: Any = None, too_large: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.limit = limit
        self.too_large = too_large


# -- header checks (nothing decoded) -------------------------------------------------------------------------


def check_frame_count(n: int, source: str, limits: InputLimits) -> None:
    """Refuse more than ``limits.max_frames`` frames in ``source``."""
    if n > limits.max_frames:
        raise InputRefused(
            "too_many_frames",
            f"{source}: {n} frames; the limit is {limits.max_frames} frames per sequence (max_frames)",
            limits.max_frames,
            too_large=True,
        )


def check_frame_side(width: int, height: int, source: str, limits: InputLimits) -> None:
    """Refuse a frame of ``source`` wider or taller than ``limits.max_frame_side`` (or empty)."""
    if width < 1 or height < 1 or max(width, height) > limits.max_frame_side:
        raise InputRefused(
            "frame_too_large",
            f"{source} is {width}x{height} px; frames must be 1 to {limits.max_frame_side} px on each side "
            "(max_frame_side)",
            limits.max_frame_side,
            too_large=True,
        )


def png_size(head: bytes, source: str) -> tuple[int, int]:
    """``(width, height)`` from the first 24 bytes of a PNG (its ``IHDR`` chunk), without decoding it."""
    if len(head) < 24 or not head.startswith(PNG_MAGIC) or head[12:16] != b"IHDR":
        raise InputRefused("invalid_frame", f"{source} is not a PNG image (no PNG signature and IHDR header)")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def npy_header(head: bytes, source: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data offset)`` of silhouettes in ``.npy`` format, from its first bytes.

    The header is parsed as a Python literal (never unpickled); only uint8 / bool ``[T, H, W]`` is accepted. A
    file that is not ``.npy`` (a pickle, an ``.npz``, text) or that holds Python objects is refused with what
    was expected, never with numpy's advice to load it unsafely.
    """
    expected = "expected uint8 silhouettes [T, H, W] written by numpy.save"
    if not head.startswith(NPY_MAGIC) or len(head) < 10:
        what = "a ZIP archive (.npz?)" if head[:2] == b"PK" else "a pickle" if head[:1] == b"\x80" else "not .npy"
        raise InputRefused("invalid_array", f"{source}: {what}, not a .npy array; {expected}")
    major = head[6]
    if major == 1:
        length, start = struct.unpack("<H", head[8:10])[0], 10
    elif major in (2, 3) and len(head) >= 12:
        length, start = struct.unpack("<I", head[8:12])[0], 12
    else:
        raise InputRefused("invalid_array", f"{source}: unknown .npy format version {major}; {expected}")
    if length > NPY_HEAD_BYTES - 12 or len(head) < start + length:
        raise InputRefused("invalid_array", f"{source}: .npy header damaged or over 10000 bytes; {expected}")
    try:
        header = ast.literal_eval(head[start : start + length].decode("utf-8" if major == 3 else "latin-1"))
        shape = tuple(int(s) for s in header["shape"])
        fortran = bool(header["fortran_order"])
        descr = header["descr"]
        dtype = np.dtype(descr) if isinstance(descr, str) else None
    except (ValueError, SyntaxError, TypeError, KeyError, UnicodeDecodeError, MemoryError, RecursionError):
        raise InputRefused("invalid_array", f"{source}: .npy header cannot be read; {expected}") from None
    if dtype is None or dtype.hasobject:
        raise InputRefused("invalid_array", f"{source}: holds Python objects (pickled data), refused; {expected}")
    if dtype not in _SIL_DTYPES or len(shape) != 3 or min(shape, default=0) < 0:
        raise InputRefused("invalid_array", f"{source}: holds {dtype} {shape}; {expected}")
    return shape, fortran, dtype, start + length


def _check_shape(shape: tuple[int, ...], source: str, limits: InputLimits) -> None:
    check_frame_count(shape[0], source, limits)
    check_frame_side(shape[2], shape[1], f"{source}'s frame", limits)


# -- readers ---------------------------------------------------------------------------------------------------


def read_png_frames(folder: str | Path, limits: InputLimits) -> tuple[list[np.ndarray], list[str]]:
    """Frames of a folder of PNG silhouettes, bounded before decoding.

    Only regular files named ``*.png`` are read (others are skipped with a warning, see
    :func:`gaitforge.preprocess.silhouette.read_png_folder`); their count and every ``IHDR`` size are checked
    first, so three 30,000-pixel-square PNGs are refused after reading 72 bytes.

    Returns:
        ``(frames, names)``: uint8 greyscale ``[H, W]`` frames and their file names.

    Raises:
        InputRefused: too many frames, a frame too large, a file that is not a PNG.
    """
    from gaitforge.preprocess.silhouette import read_png_folder

    def bound(paths: list[Path]) -> None:
        check_frame_count(len(paths), str(folder), limits)
        for path in paths:
            with open(path, "rb") as fh:
                width, height = png_size(fh.read(24), str(path))
            check_frame_side(width, height, str(path), limits)

    return read_png_folder(folder, before_decode=bound)


def read_npy_frames(path: str | Path, limits: InputLimits) -> np.ndarray:
    """Silhouettes uint8 ``[T, H, W]`` from a ``.npy`` file (bool → 0/255), bounded from the header.

    Raises:
        InputRefused: not a plain uint8 / bool ``[T, H, W]`` array, over a limit, or truncated.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        shape, fortran, dtype, offset = npy_header(fh.read(NPY_HEAD_BYTES), str(path))
        _check_shape(shape, str(path), limits)
        count = int(np.prod(shape))
        fh.seek(offset)
        data = fh.read(count * dtype.itemsize)
    if len(data) < count * dtype.itemsize:
        raise InputRefused(
            "invalid_array", f"{path}: truncated .npy ({len(data)} of {count * dtype.itemsize} data bytes)"
        )
    x = np.frombuffer(data, dtype, count=count).reshape(shape, order="F" if fortran else "C")
    x = np.ascontiguousarray(x)
    return x.astype(np.uint8) * 255 if dtype == np.bool_ else x


def check_video(path: str | Path, source: str, limits: InputLimits) -> float:
    """Probe a video and refuse frames over ``max_video_pixels`` or more than ``max_frames`` frames.

    Returns:
        The frame rate (25 when the file does not say), so that callers bound decoding to
        ``max_frames / fps`` seconds even when the header lies.
    """
    from gaitforge.preprocess.video import probe_video

    info = probe_video(Path(path))
    if info.width * info.height > limits.max_video_pixels:
        raise InputRefused(
            "video_too_large",
            f"{source}: video frames are {info.width}x{info.height} px; the limit is {limits.max_video_pixels} "
            "pixels per frame (max_video_pixels)",
            limits.max_video_pixels,
            too_large=True,
        )
    if info.frames > limits.max_frames:
        raise InputRefused(
            "too_many_frames",
            f"{source}: video has {info.frames} frames; the limit is {limits.max_frames} (max_frames)",
            limits.max_frames,
            too_large=True,
        )
    return float(info.fps) if info.fps > 0 else 25.0


# -- content checks --------------------------------------------------------------------------------------------


def prepare_silhouettes(
    frames: np.ndarray | list[np.ndarray], source: str, limits: InputLimits, pretreated: bool | None = None
) -> np.ndarray:
    """Check silhouettes and pretreat them: the single validation path of every entry point.

    Args:
        frames: uint8 / bool ``[T, H, W]`` or a list of uint8 ``[H, W]`` frames (sizes may differ).
        source: The file, upload field or sequence named in errors.
        limits: Bounds.
        pretreated: Whether frames are already pretreated; ``None``: square 64 / 128 px frames of one size are,
            others are pretreated here (:func:`~gaitforge.preprocess.silhouette.pretreat_sequence`).

    Returns:
        uint8 ``[T', S, S]`` with ``min_frames <= T'`` frames holding a silhouette.

    Raises:
        InputRefused: over a limit, not uint8 ``[T, H, W]``, no silhouette in any frame (``no_silhouette``), or
            fewer than ``min_frames`` frames holding one (``too_few_frames``).
    """
    from gaitforge.preprocess.silhouette import NoValidFrameWarning, pretreat_sequence

    items = list(frames) if isinstance(frames, list) else None
    x = None if items is not None else np.asarray(frames)
    if x is not None and x.dtype == np.bool_:
        x = x.astype(np.uint8) * 255
    shapes = {f.shape for f in items} if items is not None else ({x.shape[1:]} if x is not None else set())
    n = len(items) if items is not None else (int(x.shape[0]) if x is not None and x.ndim else 0)
    bad = x is not None and (x.ndim != 3 or x.dtype != np.uint8)
    bad = bad or (items is not None and any(np.asarray(f).dtype != np.uint8 or np.ndim(f) != 2 for f in items))
    if bad:
        what = f"{x.dtype} {tuple(x.shape)}" if x is not None else "frames of other dtypes or ranks"
        raise InputRefused("invalid_array", f"{source}: silhouettes are {what}; expected uint8 [T, H, W]")
    check_frame_count(n, source, limits)
    for height, width in shapes:
        check_frame_side(width, height, f"{source}'s frame", limits)
    if n == 0:
        raise InputRefused("no_silhouette", f"{source}: no frames; {_BLANK_HINT}")
    if pretreated is None:
        (height, width), *others = shapes
        pretreated = not others and height == width and height in PRETREATED_SIZES
    if pretreated:
        sil = np.ascontiguousarray(np.stack(items) if items is not None else x)
        valid = int(sil.reshape(len(sil), -1).any(axis=1).sum())
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoValidFrameWarning)
            sil = np.asarray(pretreat_sequence(items if items is not None else x))
        valid = len(sil) if sil.any() else 0
    if valid == 0:
        raise InputRefused(
            "no_silhouette",
            f"{source}: none of the {n} frames holds a silhouette (all empty, or cut off at the frame border); "
            f"{_BLANK_HINT}",
        )
    if valid < limits.min_frames:
        raise InputRefused(
            "too_few_frames",
            f"{source}: only {valid} of {n} frames hold a silhouette; at least {limits.min_frames} are needed "
            "(min_frames)",
            limits.min_frames,
        )
    return sil
