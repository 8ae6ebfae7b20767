"""The store record: one walking sequence of one subject under one condition and view."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Sequence", "MODALITY_DTYPES"]

#: Expected dtype per known modality (others are free-form).
#: sil uint8 [T,H,W]; pose float32 [T,17,3] (x, y, confidence; COCO-17); heatmap float16/uint8 [T,K,h,w];
#: skeleton_map uint8 [T,2,H,W]; rgb uint8 [T,H,W,3]; depth float16/uint16 [T,H,W]; joints3d float32 [T,J,3];
#: ratio float32 [T] (width / height of each frame's person box before the crop was resized; RGB models);
#: points float32 [T, N_t, 3|4] (ragged: a LiDAR point cloud per frame, x y z [intensity] in metres, stored as
#: :class:`~gaitforge.data.ragged.RaggedFrames`); depth_rgb uint8 [T,H,W,3] (range images colour-mapped as
#: SUSTech1K releases them); parsing uint8 [T,H,W] (Gait3D-Parsing labels 0..11); smpl float32 [T,85]
#: (Gait3D: 3 camera, 72 pose, 10 shape).
MODALITY_DTYPES: dict[str, tuple[np.dtype, ...]] = {
    "sil": (np.dtype(np.uint8),),
    "pose": (np.dtype(np.float32),),
    "heatmap": (np.dtype(np.float16), np.dtype(np.uint8)),
    "skeleton_map": (np.dtype(np.uint8),),
    "rgb": (np.dtype(np.uint8),),
    "depth": (np.dtype(np.float16), np.dtype(np.uint16)),
    "joints3d": (np.dtype(np.float32),),
    "ratio": (np.dtype(np.float32),),
    "points": (np.dtype(np.float32),),
    "depth_rgb": (np.dtype(np.uint8),),
    "parsing": (np.dtype(np.uint8),),
    "smpl": (np.dtype(np.float32),),
}


@dataclass
class Sequence:
    """One sequence.

    Attributes:
        subject: Identity label as the dataset names it (e.g. ``"001"``).
        condition: The dataset's sequence type (e.g. ``"nm-01"``, ``"bg-02"``, ``"cl-01"``).
        view: View name (e.g. ``"090"``).
        modalities: Arrays by modality name, all with the same frame count on axis 0.
        meta: Free, JSON-serialisable metadata (provenance, generator parameters, ...).
    """

    subject: str
    condition: str
    view: str
    modalities: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        """Frame count (axis 0 of every modality)."""
        first = next(iter(self.modalities.values()))
        return int(first.shape[0])

    @property
    def key(self) -> str:
        """``subject/condition/view``, the field's folder naming."""
        return f"{self.subject}/{self.condition}/{self.view}"
