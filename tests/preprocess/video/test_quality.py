"""Per-frame silhouette rules: a whole body passes, fragments, outlines, slivers and spills are named."""

from __future__ import annotations

import cv2
import numpy as np

from gaitforge.preprocess.video.quality import SilhouetteQuality, check_silhouette, silhouette_quality
from gaitforge.preprocess.video.segment import MaskCrop

BOX = np.array([100, 50, 140, 150], np.float32)  # 40 × 100 px person box


def _body() -> np.ndarray:
    """A person-like shape filling the box: head, torso, two legs (crop = the box)."""
    m = np.zeros((100, 40), np.uint8)
    cv2.circle(m, (20, 10), 8, 255, -1)
    cv2.rectangle(m, (8, 18), (32, 60), 255, -1)
    cv2.rectangle(m, (9, 60), (18, 99), 255, -1)
    cv2.rectangle(m, (22, 60), (31, 99), 255, -1)
    return m


def test_a_whole_body_passes() -> None:
    assert check_silhouette(MaskCrop(_body(), (100, 50)), BOX) is None


def test_each_kind_of_bad_silhouette_is_named() -> None:
    assert check_silhouette(MaskCrop(np.zeros((100, 40), np.uint8), (100, 50)), BOX) == "empty"
    pieces = _body()
    pieces[30:34] = 0
    pieces[62:66] = 0  # cut into three similar pieces
    assert check_silhouette(MaskCrop(pieces, (100, 50)), BOX) == "fragment"
    legs = _body()
    legs[:60] = 0  # only the legs: their box covers 40 % of the track's
    assert check_silhouette(MaskCrop(legs, (100, 50)), BOX) == "box_overlap"
    outline = np.zeros((100, 40), np.uint8)
    cv2.rectangle(outline, (0, 0), (39, 99), 255, 1)  # a thin outline of the whole box
    assert check_silhouette(MaskCrop(outline, (100, 50)), BOX) == "fill"
    solid = np.full((100, 40), 255, np.uint8)
    assert check_silhouette(MaskCrop(solid, (100, 50)), BOX) == "fill"
    wide = np.zeros((100, 120), np.uint8)
    cv2.ellipse(wide, (60, 50), (58, 30), 0, 0, 360, 255, -1)  # lying down: wider than tall
    assert check_silhouette(MaskCrop(wide, (60, 50)), np.array([60, 50, 180, 150], np.float32)) == "aspect"


def test_rules_can_be_loosened_and_a_track_is_counted_per_reason() -> None:
    legs = _body()
    legs[:60] = 0
    crops = [MaskCrop(_body(), (100, 50)), MaskCrop(legs, (100, 50)), MaskCrop(_body(), (100, 50))]
    ok, drops = silhouette_quality(crops, np.stack([BOX] * 3))
    assert ok.tolist() == [True, False, True] and drops["box_overlap"] == 1 and sum(drops.values()) == 1
    loose = SilhouetteQuality(min_box_overlap=0.2)
    assert silhouette_quality(crops, np.stack([BOX] * 3), loose)[0].all()
