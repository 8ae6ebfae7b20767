"""Keypoint scoring against a naive per-joint loop, and the known answers of perfect, shifted, mirrored and missing
poses and of the mean-pose baseline."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.preprocess.video import MaskCrop, TrackResult, VideoInfo, VideoResult
from gaitforge.preprocess.video.keypoint_eval import (
    COCO_SIDE_SWAP,
    KeypointRecords,
    box_pose_baseline,
    keypoint_error,
    keypoint_records,
    mean_box_pose,
)
from gaitforge.synth.pose import COCO_KEYPOINTS
from gaitforge.synth.video import VideoGroundTruth

T = 10
#: Box-relative joint positions of the toy people (a left/right asymmetric pattern).
REL = np.stack([np.linspace(0.1, 0.9, 17), np.linspace(0.05, 0.95, 17)], 1)


def _truth() -> VideoGroundTruth:
    """Two 10×30 px people walking towards each other, joints at :data:`REL` in their boxes; the left ear hidden."""
    ids = np.zeros((T, 40, 60), np.uint8)
    boxes = np.full((T, 2, 4), np.nan, np.float32)
    kp = np.zeros((T, 2, 17, 3), np.float32)
    for t in range(T):
        for p, x0 in enumerate((2 + 2 * t, 45 - 2 * t)):
            ids[t, 5:35, x0 : x0 + 10] = p + 1
            boxes[t, p] = (x0, 5, x0 + 10, 35)
            kp[t, p, :, 0] = x0 + REL[:, 0] * 10
            kp[t, p, :, 1] = 5 + REL[:, 1] * 30
            kp[t, p, :, 2] = 1.0
    kp[:, :, COCO_KEYPOINTS.index("left_ear"), 2] = 0.0
    return VideoGroundTruth(ids, boxes, kp, 10.0, [{}, {}])


def _result(gt: VideoGroundTruth, sil_index: np.ndarray | None = None) -> VideoResult:
    """One kept, perfectly segmented track per person (track ``p + 1``), sequence frames ``sil_index``."""
    tracks = []
    for p in range(2):
        frames = np.arange(T)
        masks = [MaskCrop(np.where(gt.ids[t] == p + 1, 255, 0).astype(np.uint8), (0, 0)) for t in frames]
        track = TrackResult(p + 1, frames, gt.boxes[:, p].copy(), np.zeros(T, bool), masks)
        track.sil_index = np.arange(T) if sil_index is None else sil_index
        tracks.append(track)
    return VideoResult("v.mp4", "v", VideoInfo("v.mp4", 60, 40, 10.0, T, "x"), 1, None, None, tracks=tracks)


def _perfect(gt: VideoGroundTruth, result: VideoResult) -> dict[int, np.ndarray]:
    return {t.track_id: gt.keypoints[t.frames[t.sil_index], t.track_id - 1].copy() for t in result.kept()}


def test_perfect_poses_score_zero_error_and_full_pck() -> None:
    gt = _truth()
    result = _result(gt)
    scores = keypoint_error(result, gt, _perfect(gt, result))
    assert scores["person_frames"] == 2 * T and scores["visible_joints"] == 2 * T * 16  # the left ear is hidden
    assert scores["mean_error"] == 0.0 and scores["pck@0.05"] == 1.0 and scores["pck@0.1"] == 1.0
    assert scores["detected"] == 1.0 and scores["found"] == 1.0
    ear = scores["per_joint"][COCO_KEYPOINTS.index("left_ear")]
    assert ear["joint"] == "left_ear" and ear["visible_joints"] == 0


def test_a_known_shift_gives_its_error_in_box_heights() -> None:
    gt = _truth()
    result = _result(gt)
    poses = _perfect(gt, result)
    for p in poses.values():
        p[:, :, :2] += (1.8, 2.4)  # 3 px = 0.1 of the 30 px box height
    scores = keypoint_error(result, gt, poses, thresholds=(0.05, 0.12))
    assert scores["mean_error"] == pytest.approx(0.1) and scores["mean_error_px"] == pytest.approx(3.0)
    assert scores["pck@0.05"] == 0.0 and scores["pck@0.12"] == 1.0


def test_pose_rows_follow_the_sequence_frames() -> None:
    gt = _truth()
    result = _result(gt, sil_index=np.array([1, 4, 7]))
    scores = keypoint_error(result, gt, _perfect(gt, result))
    assert scores["person_frames"] == 6 and scores["pck@0.05"] == 1.0
    with pytest.raises(ValueError, match="track 1: pose has 5 rows"):
        keypoint_error(result, gt, {1: np.zeros((5, 17, 3), np.float32)})


def test_missing_and_unconfident_joints_are_misses() -> None:
    gt = _truth()
    result = _result(gt)
    poses = _perfect(gt, result)
    poses[1][:] = 0.0  # person 0: nobody found (the missing marker)
    poses[2][:, :, 2] = 0.3  # person 1: found, below the confidence threshold
    scores = keypoint_error(result, gt, poses, conf_threshold=0.5)
    assert scores["found"] == 0.5 and scores["detected"] == 0.0 and scores["pck@0.1"] == 0.0
    assert scores["mean_error"] is None
    low = keypoint_error(result, gt, poses, conf_threshold=0.2)
    assert low["detected"] == 0.5 and low["pck@0.1"] == 0.5 and low["mean_error"] == 0.0


def test_side_swaps_are_forgiven_only_in_their_own_figure() -> None:
    assert [COCO_KEYPOINTS[j] for j in COCO_SIDE_SWAP[5:7]] == ["right_shoulder", "left_shoulder"]
    gt = _truth()
    result = _result(gt)
    poses = {k: p[:, list(COCO_SIDE_SWAP)] for k, p in _perfect(gt, result).items()}
    scores = keypoint_error(result, gt, poses)
    assert scores["pck@0.05"] < 0.2  # only the nose (its own mirror) is right
    assert scores["pck@0.1_side_swaps_forgiven"] == 1.0


def test_figures_match_a_naive_loop() -> None:
    gt = _truth()
    result = _result(gt, sil_index=np.arange(0, T, 2))
    rng = np.random.default_rng(0)
    poses = {k: p + rng.normal(0, 2.0, p.shape).astype(np.float32) for k, p in _perfect(gt, result).items()}
    for p in poses.values():
        p[..., 2] = rng.uniform(0, 1, p.shape[:2])
    scores = keypoint_error(result, gt, poses, conf_threshold=0.4)
    errors, hits05, hits10, n = [], 0, 0, 0
    for t in result.kept():
        for row, f in enumerate(t.frames[t.sil_index]):
            h = gt.boxes[f, t.track_id - 1, 3] - gt.boxes[f, t.track_id - 1, 1]
            for j in range(17):
                true = gt.keypoints[f, t.track_id - 1, j]
                if true[2] < 0.5:
                    continue
                n += 1
                pred = poses[t.track_id][row, j]
                if pred[2] < 0.4:
                    continue
                e = float(np.hypot(pred[0] - true[0], pred[1] - true[1])) / h
                errors.append(e)
                hits05 += e <= 0.05
                hits10 += e <= 0.1
    assert scores["visible_joints"] == n
    assert scores["detected"] == pytest.approx(len(errors) / n)
    assert scores["mean_error"] == pytest.approx(np.mean(errors))
    assert scores["pck@0.05"] == pytest.approx(hits05 / n) and scores["pck@0.1"] == pytest.approx(hits10 / n)
    per_joint = sum(j["visible_joints"] * j["pck@0.1"] for j in scores["per_joint"])
    assert per_joint == pytest.approx(hits10)


def test_records_of_several_videos_concatenate() -> None:
    gt = _truth()
    result = _result(gt)
    rec = keypoint_records(result, gt, _perfect(gt, result))
    both = KeypointRecords.concat([rec, rec])
    assert both.person_frames == 2 * rec.person_frames and len(both.joint) == 2 * len(rec.joint)
    assert KeypointRecords.concat([]).person_frames == 0


def test_mean_box_pose_baseline_recovers_a_constant_pose() -> None:
    gt = _truth()
    result = _result(gt)
    visible = np.arange(17) != COCO_KEYPOINTS.index("left_ear")
    with pytest.raises(ValueError, match="left_ear"):
        mean_box_pose([(result, gt)])  # no visible left ear anywhere
    gt.keypoints[0, 0, COCO_KEYPOINTS.index("left_ear"), 2] = 1.0
    rel = mean_box_pose([(result, gt)])
    np.testing.assert_allclose(rel[visible], REL[visible], atol=1e-5)
    scores = keypoint_error(result, gt, box_pose_baseline(result, rel))
    assert scores["pck@0.05"] == 1.0 and scores["mean_error"] == pytest.approx(0.0, abs=1e-5)
