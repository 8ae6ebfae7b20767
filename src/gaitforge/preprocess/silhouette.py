"""The field's standard silhouette pretreatment: grey frames → centred, height-normalised ``[T, 64, 64]`` uint8.

The rules reproduce the pretreatment that the OpenGait toolbox (Fan et al., "OpenGait: Revisiting Gait Recognition
Toward Better Practicality", CVPR 2023) applies before training, itself derived from the normalisation used for
GaitSet (Chao et al., AAAI 2019). Per frame, in sorted file order:

1. drop the frame when the sum of all pixel values is ``<= 10000`` ("no data");
2. keep rows from the first to the last non-zero row (all columns kept);
3. resize with OpenCV ``INTER_CUBIC`` to height ``img_size`` and width ``int(img_size * w / h)``;
4. ``x_center`` = first column whose cumulative column sum is strictly greater than half the total; drop the frame
   when there is none **or when it is column 0** (the reference tests ``if not x_center``, "no center");
5. window ``[x_center - s/2, x_center + s/2)``; when ``left <= 0`` or ``right >= width`` (non-strict), pad ``s/2`` zero
   columns on both sides first.

The exact behaviour is pinned by ``../shared/fixtures/opengait/pretreatment`` (bit-exact).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "FEW_FRAMES_WARNING",
    "NO_DATA_THRESHOLD",
    "NoValidFrameWarning",
    "PretreatResult",
    "pretreat_folder",
    "pretreat_frame",
    "pretreat_sequence",
    "pretreat_sequence_detailed",
    "read_png_folder",
]

logger = logging.getLogger(__name__)

#: A frame whose pixel sum is at or below this value is dropped.
NO_DATA_THRESHOLD = 10000
#: Sequences with fewer kept frames than this are warned about (still returned).
FEW_FRAMES_WARNING = 5


class NoValidFrameWarning(UserWarning):
    """Emitted when no frame of a sequence survives pretreatment (the reference writes no file)."""


@dataclass
class PretreatResult:
    """Outcome of pretreating one sequence.

    Attributes:
        frames: uint8 ``[T', img_size, img_size]`` (``T' = 0`` when nothing was kept).
        kept: Indices (into the input frames) of the frames that survived, ascending.
        skipped_no_data: Indices dropped because their pixel sum was ``<= 10000``.
        skipped_no_center: Indices dropped because no usable horizontal centre was found.
    """

    frames: np.ndarray
    kept: list[int] = field(default_factory=list)
    skipped_no_data: list[int] = field(default_factory=list)
    skipped_no_center: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when no frame was kept."""
        return len(self.kept) == 0


def _check_frame(frame: np.ndarray, index: int) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 2:
        raise ValueError(
            f"pretreat: frame {index} has dtype {frame.dtype} and shape {tuple(frame.shape)}; "
            "expected a uint8 greyscale frame [H, W]"
        )
    return frame


def pretreat_frame(frame: np.ndarray, img_size: int = 64) -> tuple[np.ndarray | None, str]:
    """Pretreat one greyscale frame.

    Args:
        frame: uint8 ``[H, W]``.
        img_size: Output height and width.

    Returns:
        ``(out, reason)``: ``out`` uint8 ``[img_size, img_size]`` and ``reason == "kept"``, or ``None`` with
        ``reason`` one of ``"no_data"``, ``"no_center"``.
    """
    frame = _check_frame(frame, 0)
    if int(frame.sum(dtype=np.uint64)) <= NO_DATA_THRESHOLD:
        return None, "no_data"
    rows = np.flatnonzero(frame.any(axis=1))
    img = frame[rows[0] : rows[-1] + 1, :]  # [h, W]
    ratio = img.shape[1] / img.shape[0]
    new_w = int(img_size * ratio)
    if new_w < 1:
        # The reference would crash in cv2.resize; treat as unusable (no centre can exist).
        return None, "no_center"
    img = cv2.resize(img, (new_w, img_size), interpolation=cv2.INTER_CUBIC)  # [s, new_w] uint8
    col = img.sum(axis=0, dtype=np.uint64)
    total = float(col.sum())
    above = np.cumsum(col) > total / 2
    if not above.any():
        return None, "no_center"
    x_center = int(np.argmax(above))
    if x_center == 0:  # quirk kept for parity: the reference tests `if not x_center`
        return None, "no_center"
    half = img_size // 2
    left, right = x_center - half, x_center + half
    if left <= 0 or right >= img.shape[1]:
        pad = np.zeros((img.shape[0], half), dtype=np.uint8)
        img = np.concatenate([pad, img, pad], axis=1)
        left, right = left + half, right + half
    return np.ascontiguousarray(img[:, left:right]), "kept"


def pretreat_sequence_detailed(
    frames: np.ndarray | SequenceABC[np.ndarray], img_size: int = 64, name: str = "sequence"
) -> PretreatResult:
    """Pretreat a sequence and report which frames were kept or dropped and why.

    Args:
        frames: uint8 ``[T, H, W]`` or a sequence of uint8 ``[H, W]`` frames (sizes may differ), in processing order.
        img_size: Output size (64 in the field; 128 for high-resolution variants).
        name: Used in log messages.

    Returns:
        A :class:`PretreatResult` with ``frames`` uint8 ``[T', img_size, img_size]``.
    """
    if isinstance(frames, np.ndarray) and frames.ndim != 3:
        raise ValueError(
            f"pretreat: {name}: frames have shape {tuple(frames.shape)}; expected uint8 [T, H, W]"
        )
    result = PretreatResult(frames=np.zeros((0, img_size, img_size), dtype=np.uint8))
    out: list[np.ndarray] = []
    for i, frame in enumerate(frames):
        _check_frame(frame, i)
        img, reason = pretreat_frame(frame, img_size)
        if img is None:
            (result.skipped_no_data if reason == "no_data" else result.skipped_no_center).append(i)
            logger.debug("%s: frame %d dropped (%s)", name, i, reason)
            continue
        out.append(img)
        result.kept.append(i)
    if out:
        result.frames = np.stack(out)
        if len(out) < FEW_FRAMES_WARNING:
            logger.warning("%s: only %d valid frames after pretreatment", name, len(out))
    else:
        msg = f"{name}: no frame survived pretreatment (pixel sum <= {NO_DATA_THRESHOLD} or no centre)"
        logger.warning(msg)
        warnings.warn(msg, NoValidFrameWarning, stacklevel=3)
    return result


def pretreat_sequence(
    frames: np.ndarray | SequenceABC[np.ndarray], img_size: int = 64, return_kept: bool = False
) -> np.ndarray | tuple[np.ndarray, list[int]]:
    """The field's standard silhouette pretreatment.

    Args:
        frames: uint8 ``[T, H, W]`` or a sequence of uint8 ``[H, W]`` frames, in processing order.
        img_size: Output size.
        return_kept: Also return the indices of the kept input frames.

    Returns:
        uint8 ``[T', img_size, img_size]`` (``T' = 0`` and a :class:`NoValidFrameWarning` when nothing survives),
        or ``(array, kept_indices)`` when ``return_kept``.
    """
    res = pretreat_sequence_detailed(frames, img_size)
    return (res.frames, res.kept) if return_kept else res.frames


def read_png_folder(
    folder: str | Path, before_decode: Callable[[list[Path]], None] | None = None
) -> tuple[list[np.ndarray], list[str]]:
    """Read every regular ``*.png`` file in ``folder`` (sorted by path) as 8-bit greyscale.

    A named pipe, socket or device named ``*.png`` is skipped with a warning, never opened (opening a pipe would
    wait for a writer forever).

    Args:
        folder: The folder.
        before_decode: Called with the paths to read before any is decoded (bounds checks raise from it).

    Returns:
        ``(frames, names)``: uint8 ``[H, W]`` frames and their file names.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of PNG frames")
    paths = []
    for p in sorted(folder.glob("*.png")):
        if p.is_file():  # regular files only (follows symlinks; False for pipes, sockets, devices)
            paths.append(p)
        else:
            logger.warning("%s: not a regular file; skipped", p)
    if before_decode is not None:
        before_decode(paths)
    frames = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError(f"{p}: cannot be decoded as a PNG image")
        frames.append(img)
    return frames, [p.name for p in paths]


def pretreat_folder(folder: str | Path, img_size: int = 64) -> tuple[np.ndarray, list[str]]:
    """Pretreat one sequence stored as a folder of PNG frames.

    Returns:
        ``(frames, kept_names)``: uint8 ``[T', img_size, img_size]`` and the file names of the kept frames.
    """
    frames, names = read_png_folder(folder)
    res = pretreat_sequence_detailed(frames, img_size, name=str(folder))
    return res.frames, [names[i] for i in res.kept]
