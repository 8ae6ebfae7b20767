"""Importers: existing datasets into the sequence store (never ``pickle.load`` on their files)."""

from __future__ import annotations

from gaitforge.io.common import ImportProblem, ImportReport
from gaitforge.io.opengait_pkl import DEFAULT_MODALITY_MAP, import_opengait_pkl
from gaitforge.io.png_folders import import_png_folders
from gaitforge.io.safe_pickle import RefusedPickleError, RestrictedUnpickler, load_numpy_pickle
from gaitforge.io.silhouettes import InputLimits, InputRefused

__all__ = [
    "DEFAULT_MODALITY_MAP",
    "ImportProblem",
    "ImportReport",
    "InputLimits",
    "InputRefused",
    "RefusedPickleError",
    "RestrictedUnpickler",
    "import_opengait_pkl",
    "import_png_folders",
    "load_numpy_pickle",
]
