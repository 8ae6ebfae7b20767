"""Camera motion: pairwise estimate, the stabilised frame, box and mask mapping, the static/moving verdict."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.preprocess.video import write_video
from gaitforge.preprocess.video.stabilise import (
    Stabiliser,
    estimate_motion,
    map_boxes,
    measure_camera_motion,
    warp_crop,
)


def _texture(h: int = 600, w: int = 800, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST), (5, 5), 1.0)


def _view(tex: np.ndarray, dx: float, dy: float, scale: float = 1.0, size: tuple[int, int] = (480, 360)) -> np.ndarray:
    """A camera looking at ``tex`` from offset (dx, dy), magnified ``scale`` about the view's centre."""
    w, h = size
    cx, cy = 400 + dx, 300 + dy
    M = np.array([[scale, 0, w / 2 - scale * cx], [0, scale, h / 2 - scale * cy]], np.float32)
    return cv2.warpAffine(tex, M, (w, h), flags=cv2.INTER_LINEAR)


def test_pairwise_motion_is_recovered() -> None:
    tex = _texture()
    a, b = _view(tex, 0, 0), _view(tex, 6.0, -3.5, 1.03)
    M = estimate_motion(a, b)  # b's pixels → a's
    assert M is not None
    pts = np.array([[50.0, 40.0, 1.0], [400.0, 300.0, 1.0], [240.0, 180.0, 1.0]])
    # truth: b pixel p sees texture point (p - centre)/1.03 + (cx_b, cy_b); in a that point is at ... - (cx_a, cy_a)
    texture_pt = (pts[:, :2] - [240, 180]) / 1.03 + [406.0, 296.5]
    in_a = texture_pt - [400, 300] + [240, 180]
    assert np.abs((pts @ M.T)[:, :2] - in_a).max() < 0.5


def test_blank_frames_have_no_estimate() -> None:
    blank = np.full((120, 160, 3), 90, np.uint8)
    assert estimate_motion(blank, blank) is None


def test_stabiliser_maps_every_frame_into_the_first_ones_coordinates() -> None:
    tex = _texture(seed=1)
    offsets = [(0.0, 0.0), (3.0, 1.0), (7.0, 2.5), (12.0, 2.0), (15.0, -1.0)]
    stab = Stabiliser()
    first = _view(tex, *offsets[0])
    for dx, dy in offsets:
        frame = _view(tex, dx, dy)
        M = stab.update(frame)
        assert np.allclose(M[:2, 2], [dx, dy], atol=0.6)  # pure translation: frame pixel + offset = first's pixel
        warped, seen = Stabiliser.warp(frame, M)
        diff = np.abs(warped.astype(int) - first.astype(int)).mean(2)
        assert np.median(diff[seen]) < 6  # the warped frame lines up with the first one
        assert seen.all() == ((dx, dy) == (0.0, 0.0))  # a moved view leaves unseen pixels at its border
    assert stab.failures == 0


def test_boxes_and_mask_crops_go_through_a_transform_and_back() -> None:
    M = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, -5.0], [0.0, 0.0, 1.0]])
    boxes = np.array([[20, 30, 60, 130], [0, 0, 10, 10]], np.float32)
    assert np.allclose(map_boxes(boxes, M), boxes + [10, -5, 10, -5])
    assert np.allclose(map_boxes(map_boxes(boxes, M), np.linalg.inv(M)), boxes)
    mask = np.zeros((40, 20), np.uint8)
    mask[5:35, 4:16] = 255
    out, origin = warp_crop(mask, (100, 50), M, 640, 480)
    assert origin == (110, 45) and (out > 0).sum() == (mask > 0).sum()
    empty, at = warp_crop(mask, (100, 50), np.array([[1, 0, 5000], [0, 1, 0], [0, 0, 1]], float), 640, 480)
    assert at == (0, 0) and not empty.any()  # mapped outside the frame


@pytest.fixture(scope="module")
def panning_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 frames, 10 fps, of a camera panning 2 px per frame over a texture."""
    tex = _texture(seed=2)
    path = tmp_path_factory.mktemp("pan") / "pan.mp4"
    write_video(path, [_view(tex, 2.0 * i - 40, 0.3 * i) for i in range(40)], fps=10.0)
    return path


def test_a_panning_camera_is_moving_and_a_fixed_one_static(panning_video: Path, tmp_path: Path) -> None:
    moving = measure_camera_motion(panning_video, pairs=6)
    assert moving.moving and 2.5 < moving.median_shift_px < 6  # 2 frames apart (0.2 s at 10 fps): about 4 px
    still = tmp_path / "still.mp4"
    view = _view(_texture(seed=3), 0, 0)
    rng = np.random.default_rng(0)
    frames = [np.clip(view + rng.normal(0, 2, view.shape), 0, 255).astype(np.uint8) for _ in range(30)]
    write_video(still, frames, fps=10.0)
    static = measure_camera_motion(still, pairs=6)
    assert not static.moving and static.median_shift_px < 0.5 and "static" in static.summary()
