"""A person segmenter from a user-supplied ONNX model, applied to each person's box crop.

Each box, grown by ``margin``, is cropped from the frame, resized to the model's input size and given as RGB
``[N, 3, H, W]`` float32 in [0, 1] (the crops of a frame form one batch when the model's batch axis is dynamic).
Accepted outputs: ``[N, 1, h, w]`` or ``[N, h, w]`` person probability (values outside [0, 1] are taken as logits),
or ``[N, 2, h, w]`` two-class scores (background, person; softmax). The mask is resized back to the crop and
thresholded.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from gaitforge.preprocess.video.boxes import expand_box
from gaitforge.preprocess.video.onnx_detector import model_input_hw, onnx_session
from gaitforge.preprocess.video.segment import MaskCrop

__all__ = ["OnnxSegmenter"]

logger = logging.getLogger(__name__)


class OnnxSegmenter:
    """Per-box person segmentation with an ONNX model.

    Args:
        path: The ``.onnx`` file.
        input_size: Network input ``(height, width)``; default: from the model, else 256×128.
        threshold: Probability above which a pixel is person.
        margin: Crop margin around each box (fraction of its size).
        providers: ONNX Runtime execution providers (default CPU).
        threads: Intra-op threads.
    """

    def __init__(
        self,
        path: str | Path,
        input_size: tuple[int, int] | None = None,
        threshold: float = 0.5,
        margin: float = 0.1,
        providers: list[str] | None = None,
        threads: int = 1,
    ) -> None:
        self.path = str(path)
        self.session = onnx_session(path, providers, threads)
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{path}: segmenter models take one image input, this one has {len(inputs)}")
        self._input = inputs[0].name
        shape = list(inputs[0].shape)
        self.input_size = tuple(input_size) if input_size else model_input_hw(shape, (256, 128))
        self._batched = not (isinstance(shape[0], int) and shape[0] == 1) if shape else True
        self.threshold, self.margin = float(threshold), float(margin)
        self.name = f"onnx:{Path(path).name}"

    def _probabilities(self, out: np.ndarray, n: int) -> np.ndarray:
        out = np.asarray(out, np.float32)
        if out.ndim == 4 and out.shape[1] == 2:
            e = np.exp(out - out.max(1, keepdims=True))
            return e[:, 1] / e.sum(1)
        if out.ndim == 4 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 3 or out.shape[0] != n:
            raise ValueError(
                f"{self.path}: output has shape {out.shape}; expected [{n}, 1, h, w], [{n}, h, w] or [{n}, 2, h, w]"
            )
        if out.min() < 0.0 or out.max() > 1.0:
            out = 1.0 / (1.0 + np.exp(-out))
        return out

    def __call__(self, frame: np.ndarray, boxes: np.ndarray) -> list[MaskCrop]:
        """Masks for the people in ``boxes`` (float32 ``[N, 4]`` xyxy) of a uint8 ``[H, W, 3]`` RGB frame."""
        height, width = frame.shape[:2]
        th, tw = self.input_size  # type: ignore[misc]
        regions = [expand_box(b, self.margin, width, height) for b in np.asarray(boxes, np.float32).reshape(-1, 4)]
        tensors = []
        for x0, y0, x1, y1 in regions:
            crop = frame[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
            tensors.append(cv2.resize(crop, (tw, th), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1))
        if not tensors:
            return []
        batch = np.stack(tensors).astype(np.float32) / 255.0  # [N,3,th,tw]
        if self._batched:
            probs = self._probabilities(self.session.run(None, {self._input: batch})[0], len(batch))
        else:
            probs = np.concatenate(
                [self._probabilities(self.session.run(None, {self._input: b[None]})[0], 1) for b in batch]
            )
        out = []
        for (x0, y0, x1, y1), prob in zip(regions, probs):
            w, h = max(1, x1 - x0), max(1, y1 - y0)
            mask = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR) > self.threshold
            out.append(MaskCrop(np.where(mask, np.uint8(255), np.uint8(0)), (x0, y0)))
        return out
