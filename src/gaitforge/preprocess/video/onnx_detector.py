"""A person detector from a user-supplied ONNX model (YOLO-style), run with ONNX Runtime on the CPU by default.

Supported output layouts (``layout="auto"`` tells them apart by the number and shapes of the outputs):

* ``boxes_scores``: two outputs, boxes ``[1, N, 4]`` (``x1, y1, x2, y2`` in network-input pixels) and scores
  ``[1, N]`` or per class ``[1, N, C]``;
* ``yolov5``: one output ``[1, N, 5 + C]`` rows of ``cx, cy, w, h, objectness, class scores…``;
* ``yolov8``: one output ``[1, 4 + C, N]`` columns of ``cx, cy, w, h, class scores…`` (no objectness).

The frame is letterboxed (aspect kept, grey padding) to the model's input size, given as RGB ``[1, 3, H, W]`` float32
in [0, 1]; boxes are mapped back to the frame, filtered by score and non-maximum suppression.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gaitforge.preprocess.video.boxes import Detections, clip_boxes, nms

__all__ = ["OnnxDetector", "letterbox", "model_input_hw", "onnx_session"]

logger = logging.getLogger(__name__)

LAYOUTS = ("auto", "boxes_scores", "yolov5", "yolov8")


def onnx_session(path: str | Path, providers: list[str] | None = None, threads: int = 1) -> Any:
    """An ``onnxruntime.InferenceSession`` for ``path`` (CPU by default); ``FileNotFoundError``/``ValueError`` name
    the file."""
    from gaitforge.export.runtime import make_session

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: ONNX model not found")
    try:
        return make_session(p, list(providers or ["CPUExecutionProvider"]), max(1, int(threads)))
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        raise ValueError(f"{p}: cannot be loaded as an ONNX model ({exc})") from exc


def letterbox(frame: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize keeping the aspect ratio and pad to ``size = (height, width)``.

    Returns:
        ``(image, scale, (pad_x, pad_y))``: uint8 ``[height, width, 3]``; a frame point ``p`` lands at
        ``p * scale + pad``.
    """
    h, w = frame.shape[:2]
    th, tw = size
    scale = min(th / h, tw / w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    out = np.full((th, tw, 3), 114, np.uint8)
    px, py = (tw - nw) // 2, (th - nh) // 2
    out[py : py + nh, px : px + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, scale, (float(px), float(py))


def model_input_hw(shape: list[object], default: tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of an NCHW input shape when both are fixed numbers, else ``default``."""
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int) and shape[2] > 0 and shape[3] > 0:
        return int(shape[2]), int(shape[3])
    return default


class OnnxDetector:
    """Person detection with a YOLO-style ONNX model.

    Args:
        path: The ``.onnx`` file.
        input_size: Network input ``(height, width)``; default: from the model, else 640×640.
        score_threshold: Smallest kept score.
        nms_iou: IoU above which the lower-scoring of two boxes is suppressed.
        person_class: Class index of "person" (0 in COCO-trained models).
        layout: Output layout (see the module docstring).
        providers: ONNX Runtime execution providers (default CPU).
        threads: Intra-op threads.
    """

    def __init__(
        self,
        path: str | Path,
        input_size: tuple[int, int] | None = None,
        score_threshold: float = 0.4,
        nms_iou: float = 0.5,
        person_class: int = 0,
        layout: str = "auto",
        providers: list[str] | None = None,
        threads: int = 1,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"OnnxDetector: layout {layout!r} is unknown; expected one of {LAYOUTS}")
        self.path = str(path)
        self.session = onnx_session(path, providers, threads)
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{path}: detector models take one image input, this one has {len(inputs)}")
        self._input = inputs[0].name
        self.input_size = tuple(input_size) if input_size else model_input_hw(list(inputs[0].shape), (640, 640))
        self.score_threshold, self.nms_iou, self.person_class = score_threshold, nms_iou, int(person_class)
        self.layout = layout
        self.name = f"onnx:{Path(path).name}"

    def _decode(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Boxes xyxy ``[N, 4]`` and person scores ``[N]`` in network-input pixels."""
        layout = self.layout
        if layout == "auto":
            if len(outputs) >= 2:
                layout = "boxes_scores"
            elif outputs[0].ndim == 3 and outputs[0].shape[1] < outputs[0].shape[2]:
                layout = "yolov8"
            else:
                layout = "yolov5"
        if layout == "boxes_scores":
            if len(outputs) < 2:
                raise ValueError(
                    f"{self.path}: layout 'boxes_scores' needs two outputs (boxes, scores), got {len(outputs)}"
                )
            boxes = np.asarray(outputs[0], np.float32).reshape(-1, 4)
            scores = np.asarray(outputs[1], np.float32)
            scores = scores.reshape(len(boxes), -1)
            scores = scores[:, self.person_class] if scores.shape[1] > 1 else scores[:, 0]
            return boxes, scores
        out = np.asarray(outputs[0], np.float32)
        if out.ndim != 3 or out.shape[0] != 1:
            raise ValueError(f"{self.path}: output has shape {out.shape}; expected [1, N, 5+C] or [1, 4+C, N]")
        rows = out[0].T if layout == "yolov8" else out[0]  # [N, 4+...]
        need = 5 if layout == "yolov8" else 6
        if rows.shape[1] < need:
            raise ValueError(f"{self.path}: {layout} rows have {rows.shape[1]} values; expected at least {need}")
        cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        if layout == "yolov8":
            scores = rows[:, 4 + self.person_class]
        else:
            scores = rows[:, 4] * rows[:, 5 + self.person_class]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
        return boxes, scores

    def __call__(self, frame: np.ndarray) -> Detections:
        """Detect people in a uint8 ``[H, W, 3]`` RGB frame."""
        image, scale, (px, py) = letterbox(frame, self.input_size)  # type: ignore[arg-type]
        tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None], np.float32) / 255.0  # [1,3,h,w]
        outputs = self.session.run(None, {self._input: tensor})
        boxes, scores = self._decode(outputs)
        keep = scores >= self.score_threshold
        boxes, scores = boxes[keep], scores[keep]
        if len(boxes):
            order = nms(boxes, scores, self.nms_iou)
            boxes, scores = boxes[order], scores[order]
        boxes = (boxes - np.array([px, py, px, py], np.float32)) / scale
        boxes = clip_boxes(boxes, frame.shape[1], frame.shape[0])
        ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return Detections(boxes[ok], scores[ok])
