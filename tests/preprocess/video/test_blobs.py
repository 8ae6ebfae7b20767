"""Foreground blobs → person boxes: size filters, fragment merging, splitting side-by-side people."""

from __future__ import annotations

import numpy as np

from gaitforge.preprocess.video.background import FOREGROUND, SHADOW
from gaitforge.preprocess.video.blobs import BlobDetector


def _person(mask: np.ndarray, x: int, y: int, h: int, w: int) -> None:
    mask[y : y + h, x : x + w] = FOREGROUND


def test_separate_people_noise_and_shadow() -> None:
    mask = np.zeros((200, 300), np.uint8)
    _person(mask, 20, 40, 80, 25)
    _person(mask, 200, 60, 100, 30)
    mask[10:14, 100:104] = FOREGROUND  # noise speck
    mask[150:170, 100:160] = SHADOW  # a shadow is not a person
    dets = BlobDetector()(mask)
    boxes = sorted(dets.boxes.tolist())
    assert boxes == [[20, 40, 45, 120], [200, 60, 230, 160]]
    assert not dets.split.any() and np.all(dets.scores == 1)


def test_fragments_of_one_person_are_merged() -> None:
    mask = np.zeros((200, 200), np.uint8)
    _person(mask, 50, 30, 14, 12)  # head, separated by a gap of 5 rows
    _person(mask, 45, 49, 80, 22)  # body
    dets = BlobDetector()(mask)
    assert dets.boxes.tolist() == [[45, 30, 67, 129]]


def test_side_by_side_people_are_split() -> None:
    mask = np.zeros((200, 200), np.uint8)
    _person(mask, 40, 40, 100, 34)
    _person(mask, 78, 45, 95, 34)
    mask[100:104, 74:78] = FOREGROUND  # they touch (hands)
    dets = BlobDetector()(mask)
    assert len(dets) == 2 and dets.split.all()
    left, right = sorted(dets.boxes.tolist())
    assert abs(left[0] - 40) <= 1 and abs(left[2] - 74) <= 4
    assert abs(right[2] - 112) <= 1 and abs(right[0] - 78) <= 4
    assert right[1] == 45 and left[1] == 40
