"""The ground-truth scoring: perfect tracks score 1 and no switch; swapped identities are counted."""

from __future__ import annotations

import numpy as np

from gaitforge.preprocess.video import MaskCrop, TrackResult, VideoInfo, VideoResult, evaluate_tracks
from gaitforge.synth.video import VideoGroundTruth


def _truth() -> VideoGroundTruth:
    ids = np.zeros((10, 40, 60), np.uint8)
    boxes = np.full((10, 2, 4), np.nan, np.float32)
    for t in range(10):
        ids[t, 5:35, 2 + 2 * t : 12 + 2 * t] = 1
        ids[t, 5:35, 45 - 2 * t : 55 - 2 * t] = 2
        boxes[t, 0] = (2 + 2 * t, 5, 12 + 2 * t, 35)
        boxes[t, 1] = (45 - 2 * t, 5, 55 - 2 * t, 35)
    return VideoGroundTruth(ids, boxes, np.zeros((10, 2, 17, 3), np.float32), 10.0, [{}, {}])


def _track(track_id: int, gt: VideoGroundTruth, person_at: list[int]) -> TrackResult:
    frames = np.arange(10)
    boxes = np.stack([gt.boxes[t, p] for t, p in zip(frames, person_at)])
    masks = [MaskCrop(np.where(gt.ids[t] == p + 1, 255, 0).astype(np.uint8), (0, 0)) for t, p in zip(frames, person_at)]
    return TrackResult(track_id, frames, boxes, np.zeros(10, bool), masks)


def _result(tracks: list[TrackResult]) -> VideoResult:
    return VideoResult("v.mp4", "v", VideoInfo("v.mp4", 60, 40, 10.0, 10, "x"), 1, None, None, tracks=tracks)


def test_perfect_tracks() -> None:
    gt = _truth()
    scores = evaluate_tracks(_result([_track(1, gt, [0] * 10), _track(2, gt, [1] * 10)]), gt, min_visible_px=10)
    assert scores["mean_iou"] == 1.0 and scores["person_frames"] == 20
    assert scores["id_switches"] == 0 and scores["coverage"] == 1.0
    assert scores["matches"] == {"1": 0, "2": 1}


def test_swapped_identities_are_counted_and_cost_iou() -> None:
    gt = _truth()
    swap = [0] * 5 + [1] * 5
    scores = evaluate_tracks(
        _result([_track(1, gt, swap), _track(2, gt, [1 - p for p in swap])]), gt, min_visible_px=10
    )
    assert scores["id_switches"] == 2  # each person changes track once
    assert scores["mean_iou"] == 0.5  # half of each track's frames show the other person


def test_a_valid_correspondence_is_kept_through_a_closer_overlap() -> None:
    gt = _truth()
    one = _track(1, gt, [0] * 10)
    one.boxes[3:6] += np.array([1, 0, 1, 0], np.float32)  # still IoU >= 0.5 with person 0, but not the best
    stray = _track(3, gt, [0] * 10)  # a duplicate track exactly on person 0 in frames 3..5 only
    keep = np.arange(3, 6)
    stray.frames, stray.boxes, stray.split = stray.frames[keep], stray.boxes[keep], stray.split[keep]
    stray.masks = [stray.masks[k] for k in keep]
    scores = evaluate_tracks(_result([one, _track(2, gt, [1] * 10), stray]), gt, kept_only=False, min_visible_px=10)
    assert scores["id_switches"] == 0 and scores["coverage"] == 1.0
