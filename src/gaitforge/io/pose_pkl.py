"""Import the field's pose pickles (``root/subject/type/view/<name>.pkl``, one ``[T, 17, 3]`` array per sequence)
into a store's ``pose`` modality.

Files are read with :func:`gaitforge.io.safe_pickle.load_numpy_pickle` (numpy arrays only, no code ever runs).
Besides COCO-17 ``[T, 17, 3]`` (FastPoseGait / OpenGait CASIA-B, Gait3D, OU-MVLP-17 pickles) the layouts of
:func:`gaitforge.io.pose_formats.to_coco17` are accepted: GREW's ``[T, 53]`` rows and 18-point OpenPose /
AlphaPose ``[T, 18, 3]`` (OU-MVLP-Pose), converted to COCO-17.
"""

from __future__ import annotations

import fnmatch
import logging
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.io.common import ImportReport, SequenceFolder, import_folders
from gaitforge.io.pose_formats import to_coco17
from gaitforge.io.safe_pickle import RefusedPickleError, load_numpy_pickle

__all__ = ["import_pose_pkl", "load_pose_pkl"]

logger = logging.getLogger(__name__)


def load_pose_pkl(path: str | Path) -> np.ndarray:
    """One pose pickle as float32 ``[T, 17, 3]`` (safe loading, layout conversion).

    Raises:
        RefusedPickleError: the file holds anything but a numpy array.
        ValueError: an unknown array layout.
    """
    return to_coco17(load_numpy_pickle(path), str(path))


def _job(job: tuple[SequenceFolder, str]) -> dict[str, Any]:
    folder, pattern = job
    files = sorted(p for p in folder.path.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, pattern))
    if not files:
        return {"folder": folder, "error": ("empty_folder", f"no file matching {pattern!r}")}
    if len(files) > 1:
        names = [p.name for p in files]
        return {"folder": folder, "error": ("ambiguous", f"several files match {pattern!r}: {names}")}
    try:
        pose = load_pose_pkl(files[0])
    except RefusedPickleError as exc:
        return {"folder": folder, "error": ("refused_pickle", str(exc))}
    except (OSError, pickle.UnpicklingError) as exc:
        return {"folder": folder, "error": ("unreadable", f"{files[0]}: {exc}")}
    except ValueError as exc:
        return {"folder": folder, "error": ("invalid", str(exc))}
    return {"folder": folder, "pose": pose, "file": files[0].name}


def _convert(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict] | None:
    pose = out["pose"]
    if len(pose) == 0:
        report.problem(folder.key, "no_valid_frames", f"{out['file']}: the pose has 0 frames")
        return None
    if len(pose) < 5:
        report.warnings.append(f"{folder.key}: only {len(pose)} frames")
    return {"pose": pose}, {"file": out["file"]}


def import_pose_pkl(
    root: str | Path,
    store_root: str | Path,
    pattern: str = "*.pkl",
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    workers: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> ImportReport:
    """Import ``root/subject/type/view/<pattern>`` pose pickles (exactly one per folder) as ``pose``.

    Args:
        root: Dataset folder.
        store_root: Store folder; created, or extended (keys already there are skipped: re-runs resume).
        pattern: File-name glob selecting the pose file in each folder.
        partition: Optional partition JSON or mapping; only listed subjects are imported.
        workers: Worker processes (0 = in-process).
        progress: Show a progress bar.
        overwrite: Replace an existing store.

    Returns:
        The report; refused or unreadable pickles, unknown layouts and folders with no or several matching
        files are reported per sequence and skipped.
    """
    return import_folders(
        root,
        store_root,
        _job,
        pattern,
        _convert,
        source="pose_pkl",
        workers=workers,
        progress=progress,
        partition=partition,
        overwrite=overwrite,
    )
