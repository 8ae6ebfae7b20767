"""Import depth images stored as single-channel PNG frames (``root/subject/type/view/*.png``) as ``depth``.

Depth cameras and range-image renderings save depth as 16-bit PNGs (millimetres, or any fixed unit); 8-bit
ones are widened to uint16 unchanged. The store keeps them as ``depth`` uint16 ``[T, H, W]``. Colour-mapped
depth images (SUSTech1K's ``PCDs_depths``, 3 channels) are not depth values: they come in through
:func:`gaitforge.io.sustech1k.import_sustech1k` as ``depth_rgb``, and are refused here with that hint.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.io.common import ImportReport, SequenceFolder, import_folders
from gaitforge.io.png_frames import read_png_stack
from gaitforge.io.silhouettes import InputLimits, InputRefused

__all__ = ["import_depth_png"]


def _job(job: tuple[SequenceFolder, InputLimits]) -> dict[str, Any]:
    folder, limits = job
    try:
        frames, paths = read_png_stack(folder.path, limits, "depth")
    except (OSError, ValueError, InputRefused) as exc:
        msg = str(exc)
        if "channels" in msg:
            msg += " (colour-mapped depth images such as SUSTech1K's are imported by 'import sustech1k' as depth_rgb)"
        return {"folder": folder, "error": ("invalid", msg)}
    return {"folder": folder, "depth": frames.astype(np.uint16, copy=False), "bits": frames.dtype.itemsize * 8}


def _convert(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict]:
    return {"depth": out["depth"]}, {"png_bits": out["bits"]}


def import_depth_png(
    root: str | Path,
    store_root: str | Path,
    workers: int | None = None,
    progress: bool = True,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    overwrite: bool = False,
    limits: InputLimits | None = None,
) -> ImportReport:
    """Import every ``root/subject/type/view`` folder of depth PNGs into a store as ``depth`` uint16 ``[T, H, W]``
    (resumable; arguments as :func:`gaitforge.io.png_folders.import_png_folders`). Every frame of a sequence must
    have one size and bit depth; a bad folder is a problem naming the file, its sequence is not written."""
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    return import_folders(
        root, store_root, _job, limits or InputLimits(), _convert, source="depth_png", workers=workers,
        progress=progress, partition=partition, overwrite=overwrite,
    )  # fmt: skip
