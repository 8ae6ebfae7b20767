"""Preprocessing: silhouette pretreatment (and, in other modules, video, tracking, pose, skeleton maps).

Only the silhouette pretreatment is re-exported here; other submodules are imported on demand so that
optional dependencies are never pulled in at package import.
"""

from __future__ import annotations

from gaitforge.preprocess.silhouette import (
    NoValidFrameWarning,
    PretreatResult,
    pretreat_folder,
    pretreat_sequence,
    pretreat_sequence_detailed,
)

__all__ = [
    "NoValidFrameWarning",
    "PretreatResult",
    "pretreat_folder",
    "pretreat_sequence",
    "pretreat_sequence_detailed",
]
