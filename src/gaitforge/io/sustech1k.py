"""Import SUSTech1K (Shen et al., "LidarGait: Benchmarking 3D Gait Recognition with Point Clouds", CVPR 2023) as
released in pickles: LiDAR point clouds (``points``, ragged) and the LiDAR depth images (``depth_rgb``).

The released ``SUSTech1K-Released-pkl`` folder is ``<subject>/<seq>-<covariate>/<view>/`` (e.g.
``0000/00-nm/000/``), one pickle per modality, named ``<NN>-<view>-LiDAR-PCDs.pkl`` (a list of per-frame
``[N_t, 3]`` float64 point arrays, metres), ``<NN>-<view>-LiDAR-PCDs_depths.pkl`` (uint8 ``[T, 3, 64, 64]``: range
images colour-mapped with 'jet'), ``...-Camera-...`` files (not read here), and the same names with ``-sync-``
after the number for the frames synchronised with the camera. Pickles are read with the restricted unpickler
(:func:`gaitforge.io.safe_pickle.load_numpy_pickle_list`), never ``pickle.load``.

Point clouds are checked before anything is written: every frame a finite ``[N_t, 3 | 4]`` array with at least
one point; a bad frame skips the sequence with one line naming the file, the field and the frame.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.io.common import ImportReport, SequenceFolder, import_folders
from gaitforge.io.safe_pickle import RefusedPickleError, load_numpy_pickle, load_numpy_pickle_list
from gaitforge.io.silhouettes import InputLimits, InputRefused, check_frame_count

__all__ = ["import_sustech1k", "read_sustech1k_points", "sustech1k_files"]

_FILE_RE = re.compile(r"^(\d+)-(sync-)?(.+)-LiDAR-(PCDs|PCDs_depths)\.pkl$")
#: The modalities this importer writes → the SUSTech1K file kind they come from.
SOURCES = {"points": "PCDs", "depth_rgb": "PCDs_depths"}


def sustech1k_files(folder: Path, sync: bool = False) -> dict[str, Path]:
    """``{"points": ..., "depth_rgb": ...}``: the LiDAR pickles of one ``subject/seq/view`` folder (the synchronised
    ones with ``sync``). A kind found twice is an error naming both files."""
    out: dict[str, Path] = {}
    kinds = {v: k for k, v in SOURCES.items()}
    for path in sorted(folder.iterdir()):
        m = _FILE_RE.match(path.name)
        if not m or bool(m.group(2)) != sync or not path.is_file():
            continue
        modality = kinds[m.group(4)]
        if modality in out:
            raise ValueError(f"{path}: a second {m.group(4)} pickle in the folder (also {out[modality].name})")
        out[modality] = path
    return out


def read_sustech1k_points(path: Path, limits: InputLimits | None = None) -> Any:
    """The point clouds of one ``*-LiDAR-PCDs.pkl`` as float32 :class:`~gaitforge.data.ragged.RaggedFrames`.

    Raises:
        ValueError: a frame that is not ``[N, 3 | 4]``, is empty or holds NaN / inf (one line naming the file,
            the field ``points`` and the frame), too many frames, or a refused / damaged pickle.
    """
    from gaitforge.data.ragged import RaggedFrames

    limits = limits or InputLimits()
    frames = load_numpy_pickle_list(path)
    if not frames:
        raise ValueError(f"{path}: field 'points' has no frames; expected a list of [N, 3] point arrays")
    check_frame_count(len(frames), str(path), limits)
    for k, pts in enumerate(frames):
        if pts.ndim != 2 or pts.shape[1] not in (3, 4):
            raise ValueError(
                f"{path}: frame {k} of field 'points' has shape {pts.shape}; expected [N, 3] or [N, 4] (x, y, z "
                "[, intensity])"
            )
        if len(pts) == 0:
            raise ValueError(f"{path}: frame {k} of field 'points' is empty; expected at least one point per frame")
        if pts.dtype.kind == "f" and not np.isfinite(pts).all():
            row = int(np.flatnonzero(~np.isfinite(pts).all(axis=1))[0])
            raise ValueError(f"{path}: frame {k} of field 'points' has NaN or inf at point {row}; expected finite")
    if len({f.shape[1] for f in frames}) > 1:
        raise ValueError(f"{path}: frames of field 'points' mix 3 and 4 columns; expected one width")
    return RaggedFrames.from_frames(frames, np.float32)


def _job(job: tuple[SequenceFolder, tuple[tuple[str, ...], bool, InputLimits]]) -> dict[str, Any]:
    """Worker: read one sequence's LiDAR pickles. Errors come back as text naming the file and the field."""
    folder, (modalities, sync, limits) = job
    try:
        files = sustech1k_files(folder.path, sync)
        missing = [m for m in modalities if m not in files]
        if missing:
            want = ", ".join(f"<NN>-{'sync-' if sync else ''}{folder.view}-LiDAR-{SOURCES[m]}.pkl" for m in missing)
            return {"folder": folder, "error": ("unreadable", f"{folder.path}: no {want}")}
        arrays: dict[str, Any] = {}
        if "points" in modalities:
            arrays["points"] = read_sustech1k_points(files["points"], limits)
        if "depth_rgb" in modalities:
            path = files["depth_rgb"]
            dep = load_numpy_pickle(path)
            if dep.ndim != 4 or dep.shape[1] != 3 or dep.dtype != np.uint8:
                raise ValueError(
                    f"{path}: field 'depth_rgb' is {dep.dtype} {list(dep.shape)}; expected uint8 [T, 3, H, W] "
                    "(colour-mapped depth images)"
                )
            check_frame_count(len(dep), str(path), limits)
            arrays["depth_rgb"] = np.ascontiguousarray(dep.transpose(0, 2, 3, 1))
        counts = {m: len(a) for m, a in arrays.items()}
        if len(set(counts.values())) > 1:
            names = ", ".join(f"{files[m].name}: {n}" for m, n in counts.items())
            raise ValueError(f"{folder.path}: frame counts differ ({names}); expected the same number of frames")
    except (RefusedPickleError, InputRefused) as exc:
        return {"folder": folder, "error": ("refused_pickle" if isinstance(exc, RefusedPickleError) else "invalid",
                                            str(exc))}  # fmt: skip
    except (OSError, ValueError, pickle.UnpicklingError) as exc:
        return {"folder": folder, "error": ("invalid", str(exc))}
    return {"folder": folder, "arrays": arrays, "files": {m: p.name for m, p in files.items() if m in arrays}}


def _convert(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict]:
    return out["arrays"], {"files": out["files"]}


def import_sustech1k(
    root: str | Path,
    store_root: str | Path,
    modalities: Iterable[str] = ("points", "depth_rgb"),
    sync: bool = False,
    workers: int | None = None,
    progress: bool = True,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    overwrite: bool = False,
    limits: InputLimits | None = None,
) -> ImportReport:
    """Import SUSTech1K's released pickles into a store (resumable: keys already there are skipped).

    Sequence keys are ``<subject>/<seq>-<covariate>/<view>`` (e.g. ``0000/00-nm/000``), the folder names.

    Args:
        root: The ``SUSTech1K-Released-pkl`` folder.
        store_root: Store folder (created, or extended).
        modalities: Which of ``points`` (``*-LiDAR-PCDs.pkl``) and ``depth_rgb`` (``*-LiDAR-PCDs_depths.pkl``).
        sync: Read the ``-sync-`` pickles (frames synchronised with the camera) instead.
        workers: Reader processes (default ``min(4, cpu_count)``; 0 = in-process).
        progress: Show a progress bar.
        partition: Optional partition (JSON path or mapping set → subject ids), as for the other importers.
        overwrite: Replace an existing store.
        limits: Bounds on frames per sequence (:class:`~gaitforge.io.silhouettes.InputLimits`).

    Returns:
        The report; a sequence with a bad file is skipped with a problem naming the file, the field and the frame
        (nothing of it is written).
    """
    modalities = tuple(modalities)
    unknown = [m for m in modalities if m not in SOURCES]
    if not modalities or unknown:
        raise ValueError(f"import_sustech1k: modalities {list(modalities)}; expected some of {sorted(SOURCES)}")
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    return import_folders(
        root, store_root, _job, (modalities, sync, limits or InputLimits()), _convert, source="sustech1k",
        workers=workers, progress=progress, partition=partition, overwrite=overwrite,
    )  # fmt: skip
