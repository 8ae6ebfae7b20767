"""Import datasets stored as PNG frames (``root/subject/type/view/*.png``, e.g. CASIA-B silhouettes) into a store.

Every sequence goes through the field's pretreatment (:func:`gaitforge.preprocess.silhouette.pretreat_sequence`)
in worker processes; the main process writes the store. Imports are resumable: the store is opened in append
mode and sequences already present are skipped.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.io.common import ImportReport, SequenceFolder, import_folders
from gaitforge.preprocess.silhouette import (
    FEW_FRAMES_WARNING,
    NoValidFrameWarning,
    pretreat_sequence_detailed,
    read_png_folder,
)

__all__ = ["import_png_folders"]

logger = logging.getLogger(__name__)


def _pretreat_job(job: tuple[SequenceFolder, int]) -> dict[str, Any]:
    """Worker: read and pretreat one folder. Returns plain data (errors as text, never raised)."""
    folder, img_size = job
    try:
        frames, names = read_png_folder(folder.path)
        if not frames:
            return {"folder": folder, "error": ("empty_folder", "no PNG frames in the folder")}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoValidFrameWarning)
            res = pretreat_sequence_detailed(frames, img_size, name=folder.key)
    except (OSError, ValueError) as exc:
        return {"folder": folder, "error": ("unreadable", str(exc))}
    return {
        "folder": folder,
        "frames": res.frames,
        "n_in": len(names),
        "no_data": [names[i] for i in res.skipped_no_data],
        "no_center": [names[i] for i in res.skipped_no_center],
    }


def import_png_folders(
    root: str | Path,
    store_root: str | Path,
    workers: int | None = None,
    progress: bool = True,
    img_size: int = 64,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Pretreat every ``root/subject/type/view`` folder of PNG frames and write the results to a store.

    Args:
        root: Dataset folder.
        store_root: Store folder; created, or extended (keys already there are skipped, so a re-run resumes).
        workers: Worker processes for reading and pretreatment (default: ``min(4, cpu_count)``; 0 = in-process).
        progress: Show a progress bar.
        img_size: Pretreatment output size.
        partition: Optional partition (JSON path or mapping of set name → subject ids); only listed subjects are
            imported and ``meta["sets"]`` records their sets.
        overwrite: Replace an existing store instead of extending it.

    Returns:
        The report: imported keys, skipped ones and every problem (missing root, empty folders, sequences with no
        valid frame, unreadable files), counted and named. Nothing is raised for bad data.
    """
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    return import_folders(
        root,
        store_root,
        _pretreat_job,
        img_size,
        _to_arrays,
        source="png_folders",
        workers=workers,
        progress=progress,
        partition=partition,
        overwrite=overwrite,
    )


def _to_arrays(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict] | None:
    frames: np.ndarray = out["frames"]
    if frames.shape[0] == 0:
        report.problem(
            folder.key,
            "no_valid_frames",
            f"none of {out['n_in']} frames survived pretreatment ({len(out['no_data'])} without data, "
            f"{len(out['no_center'])} without centre)",
        )
        return None
    if frames.shape[0] < FEW_FRAMES_WARNING:
        report.warnings.append(f"{folder.key}: only {frames.shape[0]} valid frames")
    extra = {"frames_in": out["n_in"], "dropped_no_data": out["no_data"], "dropped_no_center": out["no_center"]}
    return {"sil": frames}, extra
