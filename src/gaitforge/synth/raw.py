"""What a renderer returns for one sequence before pretreatment (the mannequin and the realistic world alike)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gaitforge.synth.estimator import EstimatorOutput

__all__ = ["RawRender"]


@dataclass
class RawRender:
    """One sequence before pretreatment.

    Attributes:
        frames: uint8 ``[T,H,W]`` binary silhouettes (0/255) on the raw canvas, artefacts included.
        labels: uint8 ``[T,H,W]`` visible part per pixel (``i + 1`` = ``part_names[i]``, 0 = background).
        part_names: Names of the labelled parts.
        pose: float32 ``[T,17,3]`` COCO-17 keypoints (x, y in raw-frame pixels, confidence).
        joints3d: float32 ``[T,17,3]`` COCO-17 joints in world metres.
        meta: Generating parameters (JSON-serialisable).
        estimator: With ``pose_estimator="topdown"``, the simulated estimator's output (heatmaps in crop
            coordinates, crop affines, boxes, swaps); else ``None``.
    """

    frames: np.ndarray
    labels: np.ndarray
    part_names: list[str]
    pose: np.ndarray
    joints3d: np.ndarray
    meta: dict[str, Any]
    estimator: EstimatorOutput | None = None
