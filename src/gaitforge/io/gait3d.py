"""Import Gait3D's SMPL vectors (Zheng et al., "Gait Recognition in the Wild with Dense 3D Representations and A
Benchmark", CVPR 2022) and Gait3D-Parsing's label maps (Zheng et al., "Parsing is All You Need for Accurate Gait
Recognition in the Wild", ACM MM 2023) into a store, as ``smpl`` and ``parsing``.

Both are released as ``<subject>/<camera_video>/<seq>/`` folders (e.g. ``0000/camid0_videoid2/seq0/``):

* SMPL: one pickle per sequence, ``<seq>.pkl``, a float array ``[T, 85]`` (per frame 3 camera, 72 pose and
  10 shape parameters, in that order, as the benchmark's ``pretreatment_smpl.py`` concatenates them). Read with
  the restricted unpickler (:func:`gaitforge.io.safe_pickle.load_numpy_pickle`), never ``pickle.load``.
* Parsing: one 8-bit label PNG per frame, values in Gait3D-Parsing's 12 labels
  (:data:`gaitforge.data.validation.GAIT3D_PARSING_LABELS`: 0 background … 11 dress).

Sequence keys are ``<subject>/<camera_video>/<seq>``. Given both roots, a sequence gets both modalities (frame
counts must agree). A bad file skips its sequence with one line naming the file and the field (a SMPL vector of
the wrong length, a label outside the set, NaN); nothing of that sequence is written.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.validation import GAIT3D_PARSING_LABELS, SMPL_SIZE
from gaitforge.io.common import ImportReport, SequenceFolder, find_sequence_folders, import_sources
from gaitforge.io.png_frames import read_png_files, read_png_stack
from gaitforge.io.safe_pickle import RefusedPickleError, load_numpy_pickle
from gaitforge.io.silhouettes import InputLimits, InputRefused, check_frame_count

__all__ = ["import_gait3d", "read_gait3d_parsing", "read_gait3d_smpl"]


def read_gait3d_smpl(folder: Path, limits: InputLimits | None = None) -> np.ndarray:
    """The SMPL vectors of one sequence folder (its single ``*.pkl``), float32 ``[T, 85]``.

    Raises:
        ValueError: no or several pickles, a refused or damaged pickle, vectors that are not 85 long, NaN / inf;
            one line naming the file and the field ``smpl``.
    """
    pkls = sorted(p for p in folder.glob("*.pkl") if p.is_file())
    if len(pkls) != 1:
        raise ValueError(
            f"{folder}: {len(pkls)} .pkl files; expected one SMPL pickle <seq>.pkl (field 'smpl')"
            + (f": {[p.name for p in pkls[:3]]}" if pkls else "")
        )
    path = pkls[0]
    arr = load_numpy_pickle(path)
    if arr.ndim != 2 or arr.shape[1] != SMPL_SIZE:
        per = f"{arr.shape[1]} values per frame" if arr.ndim == 2 else f"shape {list(arr.shape)}"
        raise ValueError(
            f"{path}: field 'smpl' has {per}; expected [T, {SMPL_SIZE}] (3 camera, 72 pose, 10 shape per frame)"
        )
    check_frame_count(len(arr), str(path), limits or InputLimits())
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        frame = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"{path}: field 'smpl' frame {frame} has NaN or inf; expected finite values")
    return arr.astype(np.float32)


def read_gait3d_parsing(
    folder: Path, limits: InputLimits | None = None, size: tuple[int, int] | None = None
) -> np.ndarray:
    """The label maps of one sequence folder, uint8 ``[T, H, W]`` (resized with nearest neighbour to ``size``
    ``(H, W)`` when given).

    Raises:
        ValueError: a frame that is not an 8-bit single-channel PNG, frames of different sizes (without
            ``size``), or a label outside Gait3D-Parsing's set; one line naming the PNG and the field ``parsing``.
    """
    import cv2

    limits = limits or InputLimits()
    if size is None:
        maps, paths = read_png_stack(folder, limits, "parsing")
    else:  # frames may differ in size: each resized on its own
        frames, paths = read_png_files(folder, limits, "parsing")
        maps = np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_NEAREST) for f in frames])
    if maps.dtype != np.uint8:
        raise ValueError(f"{paths[0]}: field 'parsing' is {maps.dtype}; expected 8-bit label PNGs")
    top = maps.reshape(len(maps), -1).max(axis=1)
    bad = np.flatnonzero(top >= len(GAIT3D_PARSING_LABELS))
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"{paths[k]}: field 'parsing' has label {int(top[k])}; expected Gait3D-Parsing labels "
            f"0..{len(GAIT3D_PARSING_LABELS) - 1} ({', '.join(GAIT3D_PARSING_LABELS)})"
        )
    return maps


def _job(job: tuple[SequenceFolder, tuple[dict[str, Path], InputLimits, tuple[int, int] | None]]) -> dict[str, Any]:
    folder, (roots, limits, size) = job
    rel = Path(folder.subject, folder.condition, folder.view)
    arrays: dict[str, np.ndarray] = {}
    try:
        for modality, root in roots.items():
            where = root / rel
            if not where.is_dir():
                raise ValueError(f"{where}: missing; expected the sequence's {modality} folder here")
            if modality == "smpl":
                arrays["smpl"] = read_gait3d_smpl(where, limits)
            else:
                arrays["parsing"] = read_gait3d_parsing(where, limits, size)
        counts = {m: len(a) for m, a in arrays.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(f"{folder.key}: frame counts differ {counts}; expected the same in every modality")
    except RefusedPickleError as exc:
        return {"folder": folder, "error": ("refused_pickle", str(exc))}
    except (OSError, ValueError, InputRefused, pickle.UnpicklingError) as exc:
        return {"folder": folder, "error": ("invalid", str(exc))}
    return {"folder": folder, "arrays": arrays}


def _convert(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict]:
    return out["arrays"], {}


def import_gait3d(
    store_root: str | Path,
    smpl_root: str | Path | None = None,
    parsing_root: str | Path | None = None,
    size: tuple[int, int] | None = None,
    workers: int | None = None,
    progress: bool = True,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    overwrite: bool = False,
    limits: InputLimits | None = None,
) -> ImportReport:
    """Import Gait3D's SMPL pickles and / or Gait3D-Parsing's label PNGs into a store (resumable).

    Args:
        store_root: Store folder (created, or extended; keys already there are skipped).
        smpl_root: Folder of ``<subject>/<camera_video>/<seq>/<seq>.pkl`` SMPL pickles.
        parsing_root: Folder of ``<subject>/<camera_video>/<seq>/*.png`` label maps.
        size: Resize label maps to ``(H, W)`` (nearest neighbour); default: keep them (every frame of a sequence
            must then have one size).
        workers: Reader processes (default ``min(4, cpu_count)``; 0 = in-process).
        progress: Show a progress bar.
        partition: Optional partition (JSON path or mapping set → subject ids).
        overwrite: Replace an existing store.
        limits: Bounds on frames and frame sides.

    Returns:
        The report; bad files are problems naming the file and the field, their sequences not written.
    """
    roots = {m: Path(r) for m, r in (("smpl", smpl_root), ("parsing", parsing_root)) if r is not None}
    if not roots:
        raise ValueError("import_gait3d: give smpl_root, parsing_root or both")
    walk_root = next(iter(roots.values()))
    report = ImportReport(walk_root, Path(store_root))
    folders = find_sequence_folders(walk_root, report)
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    arg = (roots, limits or InputLimits(), size)
    return import_sources(
        [(f, arg) for f in folders], walk_root, store_root, _job, _convert, source="gait3d", workers=workers,
        progress=progress, partition=partition, overwrite=overwrite, report=report,
    )  # fmt: skip
