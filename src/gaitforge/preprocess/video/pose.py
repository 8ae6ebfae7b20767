"""The pose-estimation hook of the video pipeline.

Any object with an ``estimate`` method of this shape can be passed as ``pose=`` to
:func:`~gaitforge.preprocess.video.pipeline.extract_tracks`; the top-down ONNX estimators of
:mod:`gaitforge.preprocess.pose_backends` implement it. The pipeline calls it once per frame with the boxes of the
kept tracks present in that frame, and stores ``pose`` (image coordinates) and, when returned, ``heatmap`` per track.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["PoseEstimator", "check_pose_output"]


@runtime_checkable
class PoseEstimator(Protocol):
    """Top-down 2D pose estimation for given person boxes."""

    def estimate(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Estimate COCO-17 keypoints of each boxed person.

        Args:
            frame_rgb: uint8 ``[H, W, 3]`` RGB frame.
            boxes: float32 ``[N, 4]`` ``x1, y1, x2, y2`` in frame pixels.

        Returns:
            ``(keypoints, heatmaps)``: float32 ``[N, 17, 3]`` (x, y in frame pixels, confidence) and float16
            ``[N, 17, h, w]`` heatmaps, or ``None`` when the estimator has none.
        """
        ...


def check_pose_output(
    keypoints: np.ndarray, heatmaps: np.ndarray | None, n: int, name: str = "pose estimator"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate and normalise an estimator's output for ``n`` boxes (raises ``ValueError`` naming what is wrong)."""
    kp = np.asarray(keypoints)
    if kp.shape != (n, 17, 3):
        raise ValueError(f"{name}: keypoints have shape {kp.shape}; expected [{n}, 17, 3] (x, y, confidence)")
    if heatmaps is None:
        return kp.astype(np.float32), None
    hm = np.asarray(heatmaps)
    if hm.ndim != 4 or hm.shape[:2] != (n, 17):
        raise ValueError(f"{name}: heatmaps have shape {hm.shape}; expected [{n}, 17, h, w]")
    return kp.astype(np.float32), hm.astype(np.float16)
