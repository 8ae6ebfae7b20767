"""The video pipeline end to end on a synthetic street with ground truth, and its pluggable parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.validation import validate_sequence
from gaitforge.preprocess.video import (
    Detections,
    MaskCrop,
    VideoDecodeError,
    VideoResult,
    evaluate_tracks,
    extract_sequences,
    extract_tracks,
)
from gaitforge.synth.video import VideoGroundTruth


def test_finds_every_walker_with_accurate_silhouettes(
    scene_video: tuple[Path, VideoGroundTruth], scene_result: VideoResult
) -> None:
    _, gt = scene_video
    kept = scene_result.kept()
    assert len(kept) == len(gt.people) == 3
    scores = evaluate_tracks(scene_result, gt)
    assert sorted(scores["matches"].values()) == [0, 1, 2]  # one track per person
    assert scores["mean_iou"] >= 0.9  # per person-frame, raw-resolution masks (see evaluate_tracks)
    assert scores["id_switches"] == 0
    assert scores["coverage"] >= 0.9


def test_sequences_carry_provenance(scene_video: tuple[Path, VideoGroundTruth], scene_result: VideoResult) -> None:
    seqs = scene_result.sequences()
    assert len(seqs) == 3 and len({s.key for s in seqs}) == 3
    for seq in seqs:
        validate_sequence(seq)
        sil = seq.modalities["sil"]
        assert sil.dtype == np.uint8 and sil.shape[1:] == (64, 64) and sil.shape[0] >= 15
        assert set(seq.modalities) == {"sil"}
        meta = seq.meta
        assert meta["video"] == str(scene_video[0].resolve()) and meta["fps"] == 10.0
        assert len(meta["frame_indices"]) == len(meta["boxes"]) == sil.shape[0]
        assert meta["frame_indices"] == sorted(meta["frame_indices"])
        assert seq.subject == f"street-t{meta['track_id']:04d}" and (seq.condition, seq.view) == ("video", "unknown")
    summary = scene_result.summary()
    json.dumps(summary)
    assert summary["tracks_kept"] == 3 and {k["frames"] for k in summary["kept"]} == {s.length for s in seqs}
    assert summary["tentative_discarded"] + summary["tracks_confirmed"] >= 3


class _FakePose:
    """Keypoint j of a person at (x1 + j, y1), confidence 1; heatmaps filled with the call count."""

    name = "fake_pose"

    def __init__(self) -> None:
        self.calls = 0

    def estimate(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert frame_rgb.dtype == np.uint8 and frame_rgb.ndim == 3 and boxes.shape[1] == 4
        self.calls += 1
        kp = np.zeros((len(boxes), 17, 3), np.float32)
        kp[:, :, 0] = boxes[:, :1] + np.arange(17)
        kp[:, :, 1] = boxes[:, 1:2]
        kp[:, :, 2] = 1.0
        return kp, np.full((len(boxes), 17, 8, 6), self.calls % 100, np.float16)


def test_pose_hook_stores_pose_and_heatmaps(scene_video: tuple[Path, VideoGroundTruth]) -> None:
    pose = _FakePose()
    result = extract_tracks(scene_video[0], min_frames=15, pose=pose)
    assert 0 < pose.calls <= 60  # once per frame with a kept track, never for the others
    for seq in result.sequences():
        kp, hm = seq.modalities["pose"], seq.modalities["heatmap"]
        assert kp.dtype == np.float32 and kp.shape == (seq.length, 17, 3)
        assert hm.dtype == np.float16 and hm.shape == (seq.length, 17, 8, 6)
        boxes = np.asarray(seq.meta["boxes"])
        assert np.allclose(kp[:, 0, :2], boxes[:, :2], atol=0.06)  # keypoints belong to their own frame and box
        assert seq.meta["pose_estimator"] == "fake_pose"


def test_pose_hook_checks_the_estimator(scene_video: tuple[Path, VideoGroundTruth]) -> None:
    class Broken:
        def estimate(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, None]:
            return np.zeros((len(boxes), 18, 3), np.float32), None

    with pytest.raises(ValueError, match=r"keypoints have shape .*expected \[\d+, 17, 3\]"):
        extract_tracks(scene_video[0], min_frames=15, pose=Broken(), end_s=3.0)


def test_detector_and_segmenter_hooks(scene_video: tuple[Path, VideoGroundTruth]) -> None:
    path, gt = scene_video

    class TruthDetector:
        """Returns the ground-truth boxes (frames arrive in order, so a counter is the frame index)."""

        name = "truth"

        def __init__(self) -> None:
            self.index = -1

        def __call__(self, frame: np.ndarray) -> Detections:
            self.index += 1
            boxes = gt.boxes[self.index]
            ok = ~np.isnan(boxes).any(1) & (gt.area()[self.index] > 150)
            return Detections(boxes[ok], np.ones(int(ok.sum())))

    class BoxSegmenter:
        name = "box"

        def __call__(self, frame: np.ndarray, boxes: np.ndarray) -> list[MaskCrop]:
            return [
                MaskCrop(np.full((int(b[3] - b[1]), int(b[2] - b[0])), 255, np.uint8), (int(b[0]), int(b[1])))
                for b in boxes
            ]

    result = extract_tracks(path, min_frames=15, detector=TruthDetector())
    assert result.components["detector"] == "truth"
    assert evaluate_tracks(result, gt)["id_switches"] == 0 and len(result.kept()) == 3
    # quality=None: a filled box is not a body shape and the silhouette rules would drop it
    boxed = extract_tracks(path, min_frames=15, detector=TruthDetector(), segmenter=BoxSegmenter(), quality=None)
    expected = {"background": "none", "detector": "truth", "segmenter": "box", "pose_estimator": "none"}
    assert {k: boxed.components[k] for k in expected} == expected and boxed.components["frontend"] == "custom"
    sil = boxed.kept()[0].sil
    assert sil is not None and (sil[:, 5:60, 30:34] == 255).all()  # a filled box: the middle columns are all white


def test_stride_and_time_range(scene_video: tuple[Path, VideoGroundTruth]) -> None:
    result = extract_tracks(scene_video[0], stride=2, start_s=1.0, end_s=5.0, min_frames=8)
    assert result.frames_processed == 20
    frames = np.concatenate([t.frames for t in result.tracks])
    assert frames.min() >= 10 and frames.max() < 50 and ((frames - 10) % 2 == 0).all()
    assert len(result.kept()) >= 2


def test_unreadable_video(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF....AVI garbage")
    with pytest.raises(VideoDecodeError, match="bad.avi"):
        extract_sequences(bad)
