"""Pose backends: what turns a frame and person boxes into keypoints and heatmaps.

Every backend follows :class:`PoseBackend`; the video pipeline calls ``estimate`` once per frame with the
tracked boxes. Backends are imported on demand (``onnxruntime`` is only loaded by the ONNX backend, ``mediapipe``
only by :class:`MediaPipePose`, which needs its own environment: ``make mediapipe-env``).

Example::

    from gaitforge.preprocess.pose_backends import OnnxTopDownEstimator
    est = OnnxTopDownEstimator("vitpose-b.onnx")
    keypoints, heatmaps = est.estimate(frame_rgb, boxes)  # [N,17,3] image coords, float16 [N,17,64,48]

    from gaitforge.preprocess.pose_backends import MediaPipePose
    keypoints, heatmaps = MediaPipePose().estimate(frame_rgb, boxes)  # [N,17,3] image coords, None
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from gaitforge.preprocess.pose_backends.mediapipe_pose import MediaPipePose
    from gaitforge.preprocess.pose_backends.onnx_topdown import OnnxTopDownEstimator

__all__ = ["MediaPipePose", "OnnxTopDownEstimator", "PoseBackend"]


@runtime_checkable
class PoseBackend(Protocol):
    """A 2D pose estimator for given person boxes."""

    def estimate(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Keypoints and heatmaps of the people in ``boxes``.

        Args:
            frame_rgb: uint8 ``[H, W, 3]`` RGB frame.
            boxes: float32 ``[N, 4]`` person boxes ``x0, y0, x1, y1`` in image pixels.

        Returns:
            ``(keypoints float32 [N, 17, 3]`` — x, y in image pixels and a confidence —,
            ``heatmaps float16 [N, 17, 64, 48]`` in each person's crop coordinates, or ``None`` for a backend
            without heatmaps, e.g. :class:`MediaPipePose`).
        """
        ...


def __getattr__(name: str) -> Any:
    if name == "OnnxTopDownEstimator":
        from gaitforge.preprocess.pose_backends.onnx_topdown import OnnxTopDownEstimator

        return OnnxTopDownEstimator
    if name == "MediaPipePose":
        from gaitforge.preprocess.pose_backends.mediapipe_pose import MediaPipePose

        return MediaPipePose
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
