"""Front-end metrics on small hand-made cases: correspondences, identity switches, silhouette IoU, coverage."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from gaitforge.preprocess.video.metrics import crop_iou, frame_correspondences, score_tracks
from gaitforge.preprocess.video.segment import MaskCrop
from gaitforge.synth.video import VideoGroundTruth

H, W, T = 40, 80, 10


@dataclass
class _Track:
    track_id: int
    frames: np.ndarray
    boxes: np.ndarray
    masks: list[MaskCrop] = field(default_factory=list)


def _gt() -> VideoGroundTruth:
    """Two 10×20 people: person 0 walks right from x=2, person 1 left from x=60, 4 px a frame (they cross)."""
    ids = np.zeros((T, H, W), np.uint8)
    boxes = np.full((T, 2, 4), np.nan, np.float32)
    for t in range(T):
        for p, x in enumerate((2 + 6 * t, 60 - 6 * t)):
            ids[t, 10:30, x : x + 10][ids[t, 10:30, x : x + 10] == 0] = p + 1  # person 0 in front
    for t in range(T):
        for p in range(2):
            ys, xs = np.nonzero(ids[t] == p + 1)
            boxes[t, p] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return VideoGroundTruth(ids, boxes, np.zeros((T, 2, 17, 3), np.float32), 10.0, [{}, {}])


def _perfect(gt: VideoGroundTruth, person: int, frames: range, track_id: int) -> _Track:
    fr = np.array(list(frames))
    masks = []
    for f in fr:
        x0, y0, x1, y1 = gt.boxes[f, person].astype(int)
        masks.append(MaskCrop(((gt.ids[f, y0:y1, x0:x1] == person + 1) * 255).astype(np.uint8), (x0, y0)))
    return _Track(track_id, fr, gt.boxes[fr, person].copy(), masks)


def _join(a: _Track, b: _Track, track_id: int) -> _Track:
    return _Track(track_id, np.concatenate([a.frames, b.frames]), np.concatenate([a.boxes, b.boxes]), a.masks + b.masks)


def test_perfect_tracks_score_one_and_no_switch() -> None:
    gt = _gt()
    tracks = [_perfect(gt, 0, range(T), 1), _perfect(gt, 1, range(T), 2)]
    s = score_tracks(tracks, gt, min_visible_px=20)
    assert s["mean_iou"] == pytest.approx(1.0)
    assert s["coverage"] == pytest.approx(1.0)
    assert s["id_switches"] == 0 and s["people_found"] == 2 and s["people_present"] == 2
    assert s["unmatched_track_frames"] == 0 and s["tracks_matched"] == 2
    assert [p["tracks"] for p in s["per_person"]] == [[1], [2]]


def test_two_tracks_swapping_people_are_two_switches() -> None:
    gt = _gt()
    a = _join(_perfect(gt, 0, range(5), 1), _perfect(gt, 1, range(5, T), 1), 1)  # track 1: person 0, then 1
    b = _join(_perfect(gt, 1, range(5), 2), _perfect(gt, 0, range(5, T), 2), 2)
    s = score_tracks([a, b], gt, min_visible_px=20)
    assert s["id_switches"] == 2
    assert s["person_switches"] == 2 and s["track_switches"] == 2
    assert [p["switches"] for p in s["per_person"]] == [1, 1]
    assert s["mean_iou"] == pytest.approx(1.0)  # every mask is right for the person it covers


def test_a_track_moving_to_a_second_person_is_one_switch() -> None:
    gt = _gt()
    hop = _join(_perfect(gt, 0, range(4), 7), _perfect(gt, 1, range(4, T), 7), 7)  # nobody else is tracked
    s = score_tracks([hop], gt, min_visible_px=20)
    assert s["id_switches"] == 1 and s["track_switches"] == 1 and s["person_switches"] == 0
    assert s["coverage"] == pytest.approx(10 / 20)
    # person 1 is covered in 6 of 10 frames: found; person 0 in 4 of 10: not found
    assert [p["covered_frames"] for p in s["per_person"]] == [4, 6]
    assert s["people_found"] == 1


def test_a_person_reacquired_under_a_new_id_is_one_switch() -> None:
    gt = _gt()
    tracks = [_perfect(gt, 0, range(0, 4), 1), _perfect(gt, 0, range(6, T), 2), _perfect(gt, 1, range(T), 3)]
    s = score_tracks(tracks, gt, min_visible_px=20)
    assert s["id_switches"] == 1 and s["person_switches"] == 1 and s["track_switches"] == 0
    assert s["per_person"][0]["tracks"] == [1, 2]
    assert s["coverage"] == pytest.approx(18 / 20)


def test_fragments_find_no_correspondence() -> None:
    """A track on the person's feet only (box IoU < 0.5) is not the person; its frames count as unmatched."""
    gt = _gt()
    feet = _perfect(gt, 1, range(T), 4)
    feet.boxes[:, 1] = feet.boxes[:, 3] - 4
    s = score_tracks([_perfect(gt, 0, range(T), 1), feet], gt, min_visible_px=20)
    assert s["per_person"][1]["covered_frames"] == 0
    assert s["unmatched_track_frames"] == T and s["tracks_matched"] == 1
    assert s["coverage"] == pytest.approx(0.5)


def test_silhouette_iou_is_measured_at_frame_resolution() -> None:
    gt = _gt()
    half = _perfect(gt, 0, range(T), 1)
    for m in half.masks:
        m.mask[: m.mask.shape[0] // 2] = 0  # only the lower half of the person
    s = score_tracks([half], gt, min_visible_px=20)
    expected = []
    for f in range(T):
        full = int((gt.ids[f] == 1).sum())
        mine = int((half.masks[f].mask > 0).sum())
        expected.append(mine / full)
    assert s["mean_iou"] == pytest.approx(float(np.mean(expected)))
    assert 0.4 < s["mean_iou"] < 0.6


def test_crop_iou_clips_crops_outside_the_frame() -> None:
    ids = np.zeros((10, 10), np.uint8)
    ids[0:4, 0:4] = 1
    crop = MaskCrop(np.full((6, 6), 255, np.uint8), (-2, -2))  # 4×4 of it inside the frame, on the person
    assert crop_iou(crop, ids, 0) == pytest.approx(16 / 36)
    assert crop_iou(None, ids, 0) == 0.0
    assert crop_iou(MaskCrop(np.full((2, 2), 255, np.uint8), (20, 20)), ids, 0) == 0.0


def test_correspondences_keep_a_track_through_a_crossing() -> None:
    """While the boxes overlap (person 0 in front), a valid correspondence is kept rather than re-assigned."""
    gt = _gt()
    tracks = [_perfect(gt, 0, range(T), 1), _perfect(gt, 1, range(T), 2)]
    corr = frame_correspondences(tracks, gt, min_visible_px=20)
    assert all(c[0][0] == 0 and c[1][0] == 1 for c in corr if len(c) == 2)
    assert sum(len(c) for c in corr) == 20
