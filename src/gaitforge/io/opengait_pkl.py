"""Import the field's pickle layout (``root/subject/type/view/*.pkl``, one array per modality) into a store.

Files are read with :func:`gaitforge.io.safe_pickle.load_numpy_pickle`, which refuses anything but numpy arrays
(no code in a downloaded dataset is ever run). The file name decides the modality through ``modality_map``:
an ordered mapping of glob pattern → modality, first match wins; the modality ``"auto"`` decides from the array
(uint8 ``[T,H,W]`` → ``sil``, float ``[T,V,2|3]`` → ``pose``, uint8 ``[T,2,H,W]`` → ``skeleton_map``,
uint8 ``[T,H,W,3]`` → ``rgb``).
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
from gaitforge.io.safe_pickle import RefusedPickleError, load_numpy_pickle

__all__ = ["DEFAULT_MODALITY_MAP", "guess_modality", "import_opengait_pkl"]

logger = logging.getLogger(__name__)

#: Pattern → modality, first match wins. ``<view>.pkl`` alone (the silhouette layout) falls to ``auto``.
DEFAULT_MODALITY_MAP: dict[str, str] = {
    "*-sils.pkl": "sil",
    "*sil*.pkl": "sil",
    "*pose*.pkl": "pose",
    "*skeleton*.pkl": "skeleton_map",
    "*heatmap*.pkl": "heatmap",
    "*rgb*.pkl": "rgb",
    "*depth*.pkl": "depth",
    "*-ratios.pkl": "ratio",  # BigGait's pretreatment_rgb.py: crop width / height per frame
    "*DenoisingFea*.pkl": "diffusion_feature",  # DenoisingGait's precomputed Stable Diffusion features
    "*.pkl": "auto",
}


def guess_modality(arr: np.ndarray) -> str | None:
    """The modality an array's dtype and shape suggest, or ``None``."""
    if arr.dtype == np.uint8 and arr.ndim == 3:
        return "sil"
    if arr.dtype.kind == "f" and arr.ndim == 3 and arr.shape[-1] in (2, 3):
        return "pose"
    if arr.dtype == np.uint8 and arr.ndim == 4 and arr.shape[1] == 2:
        return "skeleton_map"
    if arr.dtype == np.uint8 and arr.ndim == 4 and arr.shape[-1] == 3:
        return "rgb"
    return None


def _conform(modality: str, arr: np.ndarray) -> np.ndarray:
    """Lossless-enough dtype fixes the field's files need (float64 poses, float32 heatmaps)."""
    if modality in ("pose", "joints3d") and arr.dtype.kind == "f" and arr.dtype != np.float32:
        return arr.astype(np.float32)
    if modality == "heatmap" and arr.dtype.kind == "f" and arr.dtype != np.float16:
        return arr.astype(np.float16)
    if modality in ("ratio", "diffusion_feature") and arr.dtype.kind == "f" and arr.dtype != np.float32:
        return arr.astype(np.float32)
    if modality == "rgb" and arr.ndim == 4 and arr.shape[1] == 3 and arr.shape[-1] != 3:
        return np.ascontiguousarray(arr.transpose(0, 2, 3, 1))  # the peer's channel-first [T, 3, H, W] frames
    return arr


def _load_job(job: tuple[SequenceFolder, tuple[tuple[str, str], ...]]) -> dict[str, Any]:
    """Worker: map the folder's files to modalities and load them safely. Errors come back as data."""
    folder, mapping = job
    files = sorted(p for p in folder.path.iterdir() if p.is_file() and p.suffix == ".pkl")
    if not files:
        return {"folder": folder, "error": ("empty_folder", "no .pkl files in the folder")}
    arrays: dict[str, np.ndarray] = {}
    names: dict[str, str] = {}
    unknown: list[str] = []
    for path in files:
        modality = next((m for pat, m in mapping if fnmatch.fnmatch(path.name, pat)), None)
        if modality is None:
            unknown.append(path.name)
            continue
        try:
            arr = load_numpy_pickle(path)
        except RefusedPickleError as exc:
            return {"folder": folder, "error": ("refused_pickle", str(exc))}
        except (OSError, pickle.UnpicklingError) as exc:
            return {"folder": folder, "error": ("unreadable", str(exc))}
        if modality == "auto":
            modality = guess_modality(arr)
            if modality is None:
                return {
                    "folder": folder,
                    "error": (
                        "invalid",
                        f"{path}: cannot tell the modality of dtype {arr.dtype} shape {arr.shape}",
                    ),
                }
        if modality in arrays:
            return {
                "folder": folder,
                "error": (
                    "ambiguous",
                    f"{path.name} and {names[modality]} both map to modality {modality!r}",
                ),
            }
        arrays[modality] = _conform(modality, arr)
        names[modality] = path.name
    return {"folder": folder, "arrays": arrays, "files": names, "unknown": unknown}


def import_opengait_pkl(
    root: str | Path,
    store_root: str | Path,
    modality_map: Mapping[str, str] | None = None,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    workers: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> ImportReport:
    """Import a ``root/subject/type/view/*.pkl`` dataset into a store, safely.

    Args:
        root: Dataset folder.
        store_root: Store folder; created, or extended (keys already there are skipped: re-runs resume).
        modality_map: Ordered glob pattern → modality (``"auto"`` guesses); default :data:`DEFAULT_MODALITY_MAP`.
        partition: Optional partition JSON (``TRAIN_SET``, ``TEST_SET``, ...) or mapping; only listed subjects are
            imported and ``meta["sets"]`` records their sets.
        workers: Worker processes for loading (0 = in-process).
        progress: Show a progress bar.
        overwrite: Replace an existing store instead of extending it.

    Returns:
        The report. Refused pickles (a global other than numpy's), unreadable files, arrays that break the
        store contract and empty folders are reported per sequence; the sequence is skipped.
    """
    mapping = tuple((modality_map or DEFAULT_MODALITY_MAP).items())
    return import_folders(
        root,
        store_root,
        _load_job,
        mapping,
        _to_arrays,
        source="opengait_pkl",
        workers=workers,
        progress=progress,
        partition=partition,
        overwrite=overwrite,
    )


def _to_arrays(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict] | None:
    if out["unknown"]:
        report.warnings.append(f"{folder.key}: files matching no modality pattern ignored: {out['unknown']}")
    if not out["arrays"]:
        report.problem(folder.key, "unknown_file", f"no file matches a modality pattern: {out['unknown']}")
        return None
    return out["arrays"], {"files": out["files"]}
