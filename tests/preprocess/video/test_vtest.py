"""The default pipeline on a real street scene (OpenCV's vtest.avi, 768×576, 10 fps), 10 seconds of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.validation import validate_sequence
from gaitforge.preprocess.video import extract_tracks
from gaitforge.preprocess.video.blazepose import blazepose_available

REASONS = {
    "too_few_frames",
    "too_small",
    "not_upright",
    "too_elongated",
    "stationary",
    "too_slow",
    "too_few_silhouettes",
}


def test_walkers_in_a_real_street(shared_dir: Path) -> None:
    video = shared_dir / "data" / "vtest.avi"
    if not video.exists():
        pytest.skip(f"{video} is absent")
    result = extract_tracks(video, start_s=10.0, end_s=20.0)
    assert result.frames_processed == 100
    kept = result.kept()
    assert len(kept) >= 3  # several people walk through in these ten seconds
    for seq in result.sequences():
        validate_sequence(seq)
        assert seq.modalities["sil"].shape[1:] == (64, 64) and seq.length >= 20
        boxes = np.asarray(seq.meta["boxes"])
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 768).all() and (boxes[:, 3] <= 576).all()
        assert all(100 <= f < 200 for f in seq.meta["frame_indices"])
        # silhouettes are person-shaped: taller than wide, with most of the 64 rows filled
        sil = seq.modalities["sil"] > 0
        assert sil.any(2).sum(1).mean() > 50
    summary = result.summary()
    assert {d["reason"] for d in summary["dropped"]} <= REASONS
    assert summary["tracks_kept"] == len(kept) and summary["tracks_confirmed"] == len(result.tracks)


@pytest.mark.skipif(not blazepose_available(), reason="BlazePose models / ai-edge-litert not installed")
def test_the_detector_front_end_finds_whole_walkers_in_a_real_street(shared_dir: Path) -> None:
    video = shared_dir / "data" / "vtest.avi"
    if not video.exists():
        pytest.skip(f"{video} is absent")
    result = extract_tracks(video, start_s=10.0, end_s=16.0, frontend="detector", min_frames=15)
    assert result.components["frontend"] == "detector" and result.components["background"] == "none"
    kept = result.kept()
    assert len(kept) >= 3
    for seq in result.sequences():
        validate_sequence(seq)
        sil = seq.modalities["sil"] > 0
        assert sil.any(2).sum(1).mean() > 50  # whole bodies: most of the 64 rows filled
