"""Choosing the front end by camera motion, and the pipeline on a hand-held synthetic street."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gaitforge.preprocess.video import evaluate_tracks, extract_tracks
from gaitforge.preprocess.video.blazepose import MODEL_DIR_ENV, blazepose_available
from gaitforge.preprocess.video.frontend import choose_frontend
from gaitforge.synth.video import SceneConfig, VideoGroundTruth, make_synthetic_video

#: A hand-held 384×288 street (drift 25 px, shake, slight zoom), 60 frames at 10 fps, three walkers.
HANDHELD = SceneConfig(
    width=384, height=288, frames=60, fps=10.0, n_people=3, seed=5, camera_distance_m=9.0, depth_range_m=(-2.0, 3.0),
    camera_drift_px=25.0, camera_shake_px=1.5, camera_zoom=0.04,
)  # fmt: skip


@pytest.fixture(scope="module")
def handheld(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VideoGroundTruth]:
    path = tmp_path_factory.mktemp("handheld") / "handheld.mp4"
    return path, make_synthetic_video(path, HANDHELD)


def test_requests_are_checked(scene_video: tuple[Path, VideoGroundTruth]) -> None:
    with pytest.raises(ValueError, match="frontend 'yolo' is unknown"):
        choose_frontend("yolo", scene_video[0])
    with pytest.raises(ValueError, match="stabilise 'maybe' is unknown"):
        choose_frontend("auto", scene_video[0], stabilise="maybe")


def test_a_static_camera_gets_the_background_model(scene_video: tuple[Path, VideoGroundTruth]) -> None:
    front = choose_frontend("auto", scene_video[0])
    assert front.name == "background" and front.detector is None and not front.stabilise
    assert front.motion is not None and not front.motion.moving


def test_without_the_models_a_moving_camera_falls_back_to_stabilised_background(
    handheld: tuple[Path, VideoGroundTruth], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))  # an empty model folder: nothing installed
    with caplog.at_level(logging.WARNING):
        front = choose_frontend("auto", handheld[0])
    assert front.name == "background" and front.stabilise and front.motion is not None and front.motion.moving
    assert "make install" in caplog.text
    with pytest.raises(ImportError, match="make install"):
        choose_frontend("detector", handheld[0])


def test_stabilising_a_handheld_video_keeps_the_walkers_whole(handheld: tuple[Path, VideoGroundTruth]) -> None:
    path, gt = handheld
    shaky = evaluate_tracks(extract_tracks(path, frontend="background", stabilise="off", min_frames=15), gt)
    result = extract_tracks(path, frontend="background", min_frames=15)
    steady = evaluate_tracks(result, gt)
    assert result.components["stabilised"] and result.components["frontend"] == "background"
    assert steady["coverage"] > shaky["coverage"] and steady["coverage"] >= 0.8
    assert steady["mean_iou"] >= 0.7 and steady["mean_iou"] > shaky["mean_iou"] and steady["id_switches"] == 0
    assert len(result.kept()) == 3
    for t in result.kept():  # boxes are given back in frame coordinates
        assert (t.boxes[:, 2] <= HANDHELD.width + 1).all() and (t.boxes[:, 3] <= HANDHELD.height + 1).all()


@pytest.mark.skipif(not blazepose_available(), reason="BlazePose models / ai-edge-litert not installed")
def test_auto_picks_the_detector_for_a_handheld_video(handheld: tuple[Path, VideoGroundTruth]) -> None:
    path, gt = handheld
    result = extract_tracks(path, min_frames=15)
    assert result.components["frontend"] == "detector" and result.components["background"] == "none"
    scores = evaluate_tracks(result, gt)
    assert len(result.kept()) >= 2 and scores["mean_iou"] >= 0.6 and scores["id_switches"] <= 1
