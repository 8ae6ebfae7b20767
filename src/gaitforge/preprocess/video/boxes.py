"""Box utilities shared by detection and tracking. Boxes are float32 ``[N, 4]`` ``x1, y1, x2, y2`` in pixels
(``x2``, ``y2`` exclusive: a box covering columns 10..19 has ``x1 = 10, x2 = 20``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Detections", "box_iou", "clip_boxes", "expand_box", "nms"]


@dataclass
class Detections:
    """People found in one frame.

    Attributes:
        boxes: float32 ``[N, 4]`` xyxy.
        scores: float32 ``[N]`` in [0, 1].
        split: bool ``[N]``: box obtained by splitting a merged foreground blob.
        features: float32 ``[N, D]`` appearance descriptions for the tracker, or ``None``.
    """

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    split: np.ndarray | None = None
    features: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(-1)
        if len(self.scores) != len(self.boxes):
            raise ValueError(f"Detections: {len(self.boxes)} boxes but {len(self.scores)} scores")
        if self.split is None:
            self.split = np.zeros(len(self.boxes), bool)

    def __len__(self) -> int:
        return len(self.boxes)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair: ``a`` ``[N, 4]``, ``b`` ``[M, 4]`` → float32 ``[N, M]``."""
    a = np.asarray(a, np.float32).reshape(-1, 4)[:, None, :]
    b = np.asarray(b, np.float32).reshape(-1, 4)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns the kept indices, best score first (int64 ``[K]``)."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while len(order):
        i = int(order[0])
        keep.append(i)
        if len(order) == 1:
            break
        rest = order[1:]
        order = rest[box_iou(boxes[i], boxes[rest])[0] <= iou_threshold]
    return np.asarray(keep, np.int64)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip boxes ``[N, 4]`` to the frame."""
    out = np.asarray(boxes, np.float32).copy()
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def expand_box(box: np.ndarray, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer crop ``(x1, y1, x2, y2)`` of ``box`` grown by ``margin`` × its size on every side, inside the frame."""
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    return (
        int(np.clip(np.floor(x1 - mx), 0, width)),
        int(np.clip(np.floor(y1 - my), 0, height)),
        int(np.clip(np.ceil(x2 + mx), 0, width)),
        int(np.clip(np.ceil(y2 + my), 0, height)),
    )
