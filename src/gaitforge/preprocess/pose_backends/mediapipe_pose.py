"""MediaPipe Pose (BlazePose, Bazarevsky et al., CVPRW 2020) as a top-down pose backend, CPU only, no download.

Uses the legacy ``mediapipe.solutions.pose`` graph of MediaPipe 0.10.21, the last release whose wheel ships the pose
models (``pose_detection.tflite`` and ``pose_landmark_full.tflite``, i.e. ``model_complexity=1``). MediaPipe needs
``numpy<2``, so it lives in its own environment: ``make mediapipe-env`` (see ``docs/video.md``).

Per person box:

1. the box is grown by ``margin`` (a fraction of its width and height, on each side) and clipped to the frame
   (:func:`crop_window`); the crop is cut out as is (MediaPipe resizes it to its own inputs);
2. the single-person landmarker runs on the crop in ``static_image_mode``: its person detector, then the 33
   BlazePose landmarks, normalised to the crop;
3. the landmarks are mapped to COCO-17 (:data:`BLAZEPOSE_TO_COCO`) and back to image pixels
   (:func:`landmarks_to_coco`); the confidence is the landmark's ``visibility``.

A crop in which MediaPipe finds nobody gives 17 missing joints ``(0, 0, 0)`` (the field's marker for a missing
joint). There are no heatmaps: :meth:`MediaPipePose.estimate` returns ``None`` for them, and the pipeline then stores
``pose`` only.

Why ``static_image_mode`` and not MediaPipe's tracking mode: the backend is called per frame with a list of boxes
and no track ids, the crop window moves and changes size with the person, and MediaPipe's tracking (landmarks of
the previous frame as the next region of interest, plus its landmark smoothing) assumes a fixed image. One
tracking graph per person would need identities the interface does not carry, and smoothing in a moving window
would lag. Static mode is stateless and gives the same keypoints for the same crop, at the price of running the
person detector on every crop.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BLAZEPOSE_TO_COCO", "INSTALL_HINT", "MediaPipePose", "crop_window", "landmarks_to_coco"]

logger = logging.getLogger(__name__)

#: BlazePose landmark index of each COCO-17 keypoint (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
#: ankles; left before right as in COCO).
BLAZEPOSE_TO_COCO: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

#: What to tell a user whose environment lacks MediaPipe.
INSTALL_HINT = (
    "MediaPipePose needs mediapipe==0.10.21, which requires numpy<2 and so cannot share the main environment: "
    "run `make mediapipe-env` (a separate venv .venv-mediapipe with `pip install -e .[mediapipe]`), "
    "see docs/video.md"
)

# Landmark model of each model_complexity, relative to the mediapipe package; only ``full`` ships in the wheel.
_LANDMARK_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}


def crop_window(box: np.ndarray, margin: float, frame_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The crop cut around a person box: grown by ``margin`` and clipped to the frame.

    Args:
        box: ``[4]`` ``x0, y0, x1, y1`` in image pixels.
        margin: Growth on each side, as a fraction of the box's width (left/right) and height (top/bottom).
        frame_size: ``(height, width)`` of the frame.

    Returns:
        Integer ``(x0, y0, x1, y1)`` with ``x1``/``y1`` exclusive, inside the frame and at least one pixel each way
        (``frame[y0:y1, x0:x1]`` is the crop).
    """
    h, w = int(frame_size[0]), int(frame_size[1])
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    if not np.isfinite([x0, y0, x1, y1]).all():
        raise ValueError(f"box: expected finite x0, y0, x1, y1, got {[x0, y0, x1, y1]}")
    bw, bh = max(x1 - x0, 0.0), max(y1 - y0, 0.0)
    cx0 = int(np.clip(np.floor(x0 - margin * bw), 0, w - 1))
    cy0 = int(np.clip(np.floor(y0 - margin * bh), 0, h - 1))
    cx1 = int(np.clip(np.ceil(x1 + margin * bw), cx0 + 1, w))
    cy1 = int(np.clip(np.ceil(y1 + margin * bh), cy0 + 1, h))
    return cx0, cy0, cx1, cy1


def landmarks_to_coco(landmarks: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """BlazePose landmarks of a crop → COCO-17 keypoints in image pixels.

    Args:
        landmarks: ``[33, 3]`` ``x, y`` normalised to the crop (0..1 across its width / height, may fall outside)
            and ``visibility``.
        window: The crop ``(x0, y0, x1, y1)`` in image pixels (from :func:`crop_window`).

    Returns:
        float32 ``[17, 3]``: ``x, y`` in image pixels and the visibility as confidence.
    """
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (33, 3):
        raise ValueError(f"landmarks: expected [33, 3] (x, y, visibility), got {list(lm.shape)}")
    x0, y0, x1, y1 = window
    coco = lm[list(BLAZEPOSE_TO_COCO)]  # [17, 3]
    out = np.empty((17, 3), np.float32)
    out[:, 0] = x0 + coco[:, 0] * (x1 - x0)
    out[:, 1] = y0 + coco[:, 1] * (y1 - y0)
    out[:, 2] = np.clip(coco[:, 2], 0.0, 1.0)
    return out


def _import_mediapipe() -> Any:
    try:
        import mediapipe as mp
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    return mp


class MediaPipePose:
    """COCO-17 keypoints from MediaPipe Pose, one crop per person box (a
    :class:`~gaitforge.preprocess.pose_backends.PoseBackend` without heatmaps).

    Args:
        margin: Crop growth on each side, as a fraction of the box's width and height. MediaPipe's person detector
            needs context around the person: on synthetic street videos (seeds 3 and 4, ground-truth boxes) a margin
            of 0 found 57–62 % of the people, 0.15–0.3 found 92–97 %, and 0.5–1.0 did worse again (more
            neighbours in the crop).
        model_complexity: BlazePose landmark model: 1 (``full``, shipped in the wheel); 0 (``lite``) and 2
            (``heavy``) are not in the wheel and MediaPipe downloads them on first use.
        min_detection_confidence: MediaPipe's person-detector threshold (below it, nobody is found in the crop).
        allow_download: Let MediaPipe fetch a landmark model missing from its package (needs the internet).

    Raises:
        ImportError: MediaPipe is not installed (the message says how to install it).
        FileNotFoundError: The landmark model of ``model_complexity`` is not installed and ``allow_download`` is off.
        ValueError: ``model_complexity`` not in 0, 1, 2, or a negative ``margin``.
    """

    name = "mediapipe_pose"

    def __init__(
        self,
        margin: float = 0.3,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        allow_download: bool = False,
    ) -> None:
        if model_complexity not in _LANDMARK_MODELS:
            raise ValueError(f"model_complexity: expected 0, 1 or 2, got {model_complexity!r}")
        if margin < 0:
            raise ValueError(f"margin: expected >= 0, got {margin}")
        mp = _import_mediapipe()
        model = Path(mp.__file__).parent / "modules" / "pose_landmark" / _LANDMARK_MODELS[model_complexity]
        if not model.is_file() and not allow_download:
            raise FileNotFoundError(
                f"{model}: the landmark model of model_complexity={model_complexity} is not in the mediapipe wheel; "
                "use model_complexity=1 or pass allow_download=True"
            )
        self.margin = float(margin)
        self.model_complexity = int(model_complexity)
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True,
            model_complexity=self.model_complexity,
            smooth_landmarks=False,
            enable_segmentation=False,
            min_detection_confidence=float(min_detection_confidence),
        )
        logger.debug("MediaPipe %s pose: model_complexity=%d, margin=%.2f", mp.__version__, model_complexity, margin)

    def landmarks(self, crop_rgb: np.ndarray) -> np.ndarray | None:
        """The 33 landmarks ``[33, 3]`` (x, y normalised to the crop, visibility) of the person MediaPipe finds in
        a uint8 RGB crop, or ``None`` when it finds nobody."""
        found = self._pose.process(np.ascontiguousarray(crop_rgb)).pose_landmarks
        if found is None:
            return None
        return np.array([(p.x, p.y, p.visibility) for p in found.landmark], np.float64)

    def estimate(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, None]:
        """Keypoints of the people in ``boxes``.

        Args:
            frame_rgb: uint8 ``[H, W, 3]`` RGB frame.
            boxes: ``[N, 4]`` person boxes ``x0, y0, x1, y1`` in image pixels.

        Returns:
            ``(keypoints float32 [N, 17, 3]`` — x, y in image pixels, landmark visibility as confidence; all zeros
            for a person MediaPipe does not find —, ``None``: MediaPipe has no heatmaps).
        """
        frame = np.asarray(frame_rgb)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame_rgb: expected uint8 [H, W, 3], got {frame.dtype} {list(frame.shape)}")
        b = np.asarray(boxes, dtype=np.float32)
        if b.size == 0:
            return np.zeros((0, 17, 3), np.float32), None
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(f"boxes: expected [N, 4] (x0, y0, x1, y1), got {list(b.shape)}")
        keypoints = np.zeros((len(b), 17, 3), np.float32)
        for i, box in enumerate(b):
            window = crop_window(box, self.margin, frame.shape[:2])
            x0, y0, x1, y1 = window
            lm = self.landmarks(frame[y0:y1, x0:x1])
            if lm is not None:
                keypoints[i] = landmarks_to_coco(lm, window)
        return keypoints, None

    def close(self) -> None:
        """Release MediaPipe's graph and its threads (the estimator cannot be used afterwards)."""
        self._pose.close()
