"""Contact sheets: frames with boxes, a silhouette strip per kept track, the dropped tracks listed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gaitforge.preprocess.video import VideoResult, render_contact_sheet, save_contact_sheet
from gaitforge.preprocess.video.contact_sheet import track_colour


def test_sheet_layout(scene_result: VideoResult, tmp_path: Path) -> None:
    assert len(scene_result.sheet_frames) == 4
    image = render_contact_sheet(scene_result, columns=2, frame_width=300, strip=6)
    frame_h = round(384 * 300 / 512)
    n_strips = len(scene_result.kept())
    dropped = len(scene_result.tracks) - n_strips
    expected_h = 30 + 2 * frame_h + n_strips * (64 + 24) + (10 + 18 * dropped if dropped else 0)
    assert image.shape == (expected_h, 600, 3) and image.dtype == np.uint8
    # each kept track's box colour appears in the frames
    frames_part = image[30 : 30 + 2 * frame_h]
    for t in scene_result.kept():
        assert (frames_part == track_colour(t.track_id)).all(-1).any()
    # the first strip shows white silhouettes in its cells
    strip = image[30 + 2 * frame_h + 22 : 30 + 2 * frame_h + 22 + 64, 6 : 6 + 64]
    assert (strip == 255).all(-1).mean() > 0.05
    path = save_contact_sheet(tmp_path / "sheet.png", scene_result)
    back = cv2.imread(str(path))
    assert back is not None and back.shape[1] == 960
