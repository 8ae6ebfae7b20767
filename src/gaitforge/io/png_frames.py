"""Folders of single-channel PNG frames read as they are (label maps, 16-bit depth), bounded before decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gaitforge.io.silhouettes import InputLimits, check_frame_count, check_frame_side, png_size

__all__ = ["read_png_files", "read_png_stack"]


def read_png_files(folder: Path, limits: InputLimits, field: str) -> tuple[list[np.ndarray], list[Path]]:
    """The ``*.png`` regular files of ``folder`` in name order, decoded unchanged (8- or 16-bit, one channel).

    Frame count and every frame's size are checked from the PNG headers before anything is decoded
    (:class:`~gaitforge.io.silhouettes.InputLimits`).

    Args:
        folder: The sequence folder.
        limits: Bounds on frames and frame sides.
        field: The modality being read (for messages).

    Raises:
        ValueError: no frames, a file that is not a single-channel PNG, or a bound exceeded; one line naming the
            file and ``field``.
    """
    import cv2

    paths = sorted(p for p in folder.glob("*.png") if p.is_file())
    if not paths:
        raise ValueError(f"{folder}: no PNG frames for field '{field}'")
    check_frame_count(len(paths), str(folder), limits)
    for path in paths:
        with open(path, "rb") as fh:
            width, height = png_size(fh.read(24), str(path))
        check_frame_side(width, height, str(path), limits)
    frames = []
    for path in paths:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ValueError(f"{path}: cannot be decoded as a PNG image (field '{field}')")
        if img.ndim != 2:
            raise ValueError(f"{path}: field '{field}' has {img.shape[2]} channels; expected a single-channel image")
        frames.append(img)
    return frames, paths


def read_png_stack(folder: Path, limits: InputLimits, field: str) -> tuple[np.ndarray, list[Path]]:
    """:func:`read_png_files` stacked into one ``[T, H, W]`` array (every frame one size and bit depth).

    Raises:
        ValueError: as :func:`read_png_files`, or frames of different sizes or bit depths (naming the file).
    """
    frames, paths = read_png_files(folder, limits, field)
    for img, path in zip(frames, paths):
        if img.shape != frames[0].shape or img.dtype != frames[0].dtype:
            raise ValueError(
                f"{path}: field '{field}' is {img.dtype} {img.shape[1]}x{img.shape[0]} but {paths[0].name} is "
                f"{frames[0].dtype} {frames[0].shape[1]}x{frames[0].shape[0]}; expected one size and bit depth"
            )
    return np.stack(frames), paths
