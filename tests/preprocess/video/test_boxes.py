"""Box IoU, non-maximum suppression, clipping, crops."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.preprocess.video.boxes import Detections, box_iou, clip_boxes, expand_box, nms


def test_iou_values() -> None:
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]], np.float32)
    assert box_iou(a, b)[0] == pytest.approx([1.0, 50 / 150, 0.0, 0.0])
    assert box_iou(b, a).shape == (4, 1)


def test_nms_keeps_best_of_overlapping() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    keep = nms(boxes, np.array([0.6, 0.9, 0.5]), 0.5)
    assert keep.tolist() == [1, 2]


def test_clip_expand_and_detections() -> None:
    assert clip_boxes(np.array([[-5, -5, 200, 50]]), 100, 40).tolist() == [[0, 0, 100, 40]]
    assert expand_box(np.array([10, 10, 20, 30]), 0.1, 100, 100) == (9, 8, 21, 32)
    assert expand_box(np.array([0, 0, 20, 30]), 0.5, 25, 100) == (0, 0, 25, 45)
    d = Detections(np.zeros((2, 4)), np.ones(2))
    assert len(d) == 2 and d.split.tolist() == [False, False]
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        Detections(np.zeros((2, 4)), np.ones(1))
