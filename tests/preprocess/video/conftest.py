"""Small synthetic videos shared by the video-pipeline tests (rendered once per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.preprocess.video import VideoResult, extract_tracks, write_video
from gaitforge.synth.video import SceneConfig, VideoGroundTruth, make_synthetic_video

#: A 512×384 street, 60 frames at 10 fps, three walkers (about 60–110 px tall) crossing at different depths.
SCENE = SceneConfig(
    width=512, height=384, frames=60, fps=10.0, n_people=3, seed=0, camera_distance_m=9.0, depth_range_m=(-2.0, 3.0)
)


@pytest.fixture(scope="session")
def scene_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VideoGroundTruth]:
    """The :data:`SCENE` video file and its ground truth."""
    path = tmp_path_factory.mktemp("scene") / "street.mp4"
    gt = make_synthetic_video(path, SCENE)
    return path, gt


@pytest.fixture(scope="session")
def scene_result(scene_video: tuple[Path, VideoGroundTruth]) -> VideoResult:
    """The default pipeline's result on :data:`SCENE` (with contact-sheet frames)."""
    return extract_tracks(scene_video[0], min_frames=15, sheet_frames=4)


@pytest.fixture(scope="session")
def counter_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 frames of 64×48 whose grey level is ``8 * index`` (frame numbers can be read back), 10 fps."""
    path = tmp_path_factory.mktemp("counter") / "counter.mkv"
    frames = [np.full((48, 64, 3), 8 * i, np.uint8) for i in range(30)]
    write_video(path, frames, fps=10.0, codec="ffv1")
    return path
