"""Camera, rasteriser and simulated pose estimator."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.synth.camera import Camera
from gaitforge.synth.parts import Part, capsule, ellipsoid, sphere
from gaitforge.synth.render import rasterise


def _camera(azimuth: float, t: int = 1) -> Camera:
    return Camera(azimuth, 0.0, 6.0, 60.0 * 6.0, 64.0, 64.0, np.tile([0.0, 0.0, 0.0], (t, 1)))


def test_view_conventions() -> None:
    fwd, left = np.array([[[0.5, 0, 0]]]), np.array([[[0, 0.5, 0]]])
    side = _camera(90.0)
    assert side.project(fwd)[0][0, 0, 0] > 64 + 25  # 90°: walking direction points to the image right
    front, back = _camera(0.0), _camera(180.0)
    assert front.project(fwd)[1][0, 0] < front.project(-fwd)[1][0, 0]  # 0°: walking towards the camera
    assert back.project(fwd)[1][0, 0] > back.project(-fwd)[1][0, 0]  # 180°: walking away
    assert front.project(left)[0][0, 0, 0] > 64 > back.project(left)[0][0, 0, 0]  # facing the camera: left on the right
    up = np.array([[[0, 0, 1.0]]])
    assert front.project(up)[0][0, 0, 1] == pytest.approx(64 - 60, abs=0.5)  # image y points down


def test_outline_of_a_sphere_and_a_disc() -> None:
    cam = _camera(90.0)
    c = np.zeros((1, 1, 3))
    pts, _ = cam.outlines(c, np.eye(3)[None, None] * 0.5, n=32)
    r = np.linalg.norm(pts[0, 0] - [64, 64], axis=1)
    assert np.allclose(r, 30.0, atol=0.01)
    # A horizontal disc seen exactly from the side is a flat line segment of the same width.
    disc = (np.eye(3) * [0.5, 0.5, 0.0])[None, None]
    pts, _ = cam.outlines(c, disc, n=32)
    assert np.ptp(pts[0, 0, :, 1]) < 1e-6 and np.ptp(pts[0, 0, :, 0]) == pytest.approx(60.0, abs=0.01)


def test_rasterise_fills_parts_in_depth_order() -> None:
    t = 2
    cam = _camera(90.0, t)  # camera on the -y side
    near = np.tile([0.0, -0.3, 0.0], (t, 1))
    far = np.tile([0.0, 0.3, 0.0], (t, 1))
    parts = [
        Part("near", [sphere(near, 0.3)]),
        Part("far", [sphere(far, 0.5)]),
        Part("stick", capsule(np.tile([-0.8, 0, -0.5], (t, 1)), np.tile([-0.8, 0, 0.5], (t, 1)), 0.05, 0.05)),
        Part(
            "box",
            [ellipsoid(np.tile([0.8, 0, 0], (t, 1)), np.broadcast_to(np.eye(3), (t, 3, 3)), (0.1, 0.1, 0.1))],
        ),
    ]
    labels = rasterise(parts, cam, 128, 128)
    assert labels.shape == (t, 128, 128) and labels.dtype == np.uint8
    assert labels[0, 64, 64] == 1  # the nearer sphere covers the farther one at the centre
    assert labels[0, 64, 64 + int(0.45 * 60 * 6 / 6.3)] == 2  # only the big far sphere reaches out there
    assert labels[0, 64 - 25, 64 - 48] == 3 and labels[0, 64, 64 + 48] == 4
    assert np.array_equal(labels[0], labels[1])
    near_area = (labels[0] == 1).sum()
    assert near_area == pytest.approx(np.pi * (0.3 * 360 / 5.7) ** 2, rel=0.05)
