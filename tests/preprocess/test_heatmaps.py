"""Heatmap geometry: affines, decoding, RGB-space and heatmap-space pretreatment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gaitforge.preprocess.heatmaps import (
    CROP_SIZE,
    HEATMAP_SIZE,
    apply_affine,
    box_to_crop_affine,
    compose_affines,
    decode_heatmaps,
    heatmap_space_heatmaps,
    heatmap_to_crop_affine,
    invert_affine,
    person_extent,
    pretreat_affine,
    quantize_heatmaps,
    rgb_space_heatmaps,
    warp_heatmaps,
)


def _gaussians(points: np.ndarray, size: tuple[int, int] = HEATMAP_SIZE, sigma: float = 1.5, peak=1.0) -> np.ndarray:
    """One Gaussian per channel at ``points`` ``[K, 2]`` (grid pixels) → ``[K, h, w]``."""
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float64)
    d2 = (xs[None] - points[:, 0, None, None]) ** 2 + (ys[None] - points[:, 1, None, None]) ** 2
    return (np.asarray(peak, dtype=np.float64).reshape(-1, 1, 1) * np.exp(-0.5 * d2 / sigma**2)).astype(np.float32)


def test_affine_helpers_compose_invert_and_apply() -> None:
    a = np.array([[2.0, 0.5, 3.0], [-0.2, 1.5, -1.0]])
    b = np.array([[0.5, 0.0, 1.0], [0.0, 0.25, 2.0]])
    p = np.array([[1.0, 2.0], [-3.0, 4.5]])
    np.testing.assert_allclose(apply_affine(compose_affines(a, b), p), apply_affine(a, apply_affine(b, p)))
    np.testing.assert_allclose(apply_affine(invert_affine(a), apply_affine(a, p)), p, atol=1e-12)
    stacked = np.stack([a, b])  # batched affines apply per item
    np.testing.assert_allclose(apply_affine(stacked, np.stack([p, p]))[1], apply_affine(b, p))


def test_box_to_crop_affine_fixes_aspect_scales_and_centres() -> None:
    ch, cw = CROP_SIZE
    tall = box_to_crop_affine(np.array([100.0, 50.0, 160.0, 250.0]))  # 60 x 200: height decides the scale
    np.testing.assert_allclose(apply_affine(tall, np.array([[130.0, 150.0]])), [[(cw - 1) / 2, (ch - 1) / 2]])
    s = ch / (200 * 1.25)
    np.testing.assert_allclose(tall[0, 0], s)
    top, bottom = apply_affine(tall, np.array([[130.0, 50.0], [130.0, 250.0]]))[:, 1]
    assert top == pytest.approx((ch - 1) / 2 - s * 100) and bottom - top == pytest.approx(ch / 1.25)
    wide = box_to_crop_affine(np.array([0.0, 0.0, 300.0, 100.0]))  # width decides
    assert wide[0, 0] == pytest.approx(cw / (300 * 1.25))
    assert box_to_crop_affine(np.zeros((3, 4)) + [0, 0, 10, 20]).shape == (3, 2, 3)
    with pytest.raises(ValueError, match="x0, y0, x1, y1"):
        box_to_crop_affine(np.zeros(3))


def test_heatmap_cell_is_the_mean_of_its_crop_pixels() -> None:
    crop = np.zeros(CROP_SIZE, np.float32)
    crop[100:104, 40:44] = 1.0  # exactly heatmap cell (25, 10)
    hm = cv2.resize(crop, (48, 64), interpolation=cv2.INTER_AREA)
    (cy, cx) = np.unravel_index(hm.argmax(), hm.shape)
    centre = apply_affine(heatmap_to_crop_affine(), np.array([[cx, cy]], float))[0]
    np.testing.assert_allclose(centre, [41.5, 101.5])  # the middle of pixels 40..43 / 100..103


def test_decode_recovers_subpixel_gaussian_peaks() -> None:
    pts = np.array([[12.3, 20.7], [30.0, 5.25], [0.0, 63.0]])
    heat = _gaussians(pts, peak=[0.9, 0.5, 0.7])
    xy, score = decode_heatmaps(heat[None])
    assert xy.shape == (1, 3, 2) and score.shape == (1, 3)
    np.testing.assert_allclose(xy[0, :2], pts[:2], atol=2e-3)
    np.testing.assert_allclose(xy[0, 2], pts[2])  # on the border: no refinement, the argmax cell
    assert score[0, 0] == pytest.approx(heat[0].max())


def test_warp_is_exact_for_identity_and_integer_shifts() -> None:
    rng = np.random.default_rng(0)
    heat = rng.random((2, 3, 16, 12)).astype(np.float32)
    eye = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(warp_heatmaps(heat, eye, (16, 12)), heat)
    shifted = warp_heatmaps(heat[0], np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]), (16, 12))
    np.testing.assert_array_equal(shifted[:, :15, 2:], heat[0][:, 1:, :10])
    assert (shifted[:, :, :2] == 0).all() and (shifted[:, 15] == 0).all()  # zero outside
    # A general affine matches OpenCV's single-channel bilinear warp away from the border.
    a = np.array([[1.1, 0.05, 0.4], [0.02, 0.9, 0.7]])
    ref = cv2.warpAffine(heat[0, 0], a, (12, 16), flags=cv2.INTER_LINEAR)
    np.testing.assert_allclose(warp_heatmaps(heat[0], a, (16, 12))[0, 2:-2, 2:-2], ref[2:-2, 2:-2], atol=1e-3)


def _scene(scale: float, offset: tuple[float, float], low_joint: float = 1.0):
    """A person seen at ``scale`` / ``offset`` in the image: keypoints, extent, box, and the estimator's heatmaps.

    The estimator crops around the box, so its heatmaps do not depend on where or how big the person is.
    """
    base = np.array([[0.0, -80.0], [0.0, -55.0], [-12.0, -10.0], [10.0, 40.0], [-6.0, 80.0]])  # around the centre
    kp = base * scale + np.array(offset)
    top_edge, bottom_edge, cx = offset[1] - 92.5 * scale, offset[1] + 90.5 * scale, offset[0]
    top, bottom = top_edge + 0.5, bottom_edge - 0.5  # first and last rows: pixel centres inside the edges
    box = np.array([cx - 30 * scale, top_edge, cx + 30 * scale, bottom_edge])
    crop = box_to_crop_affine(box)
    to_hm = compose_affines(invert_affine(heatmap_to_crop_affine()), crop)
    heat = _gaussians(apply_affine(to_hm, kp), sigma=1.5, peak=[1, 1, 1, 1, low_joint])
    return kp, np.array([top, bottom, cx]), crop, heat


def test_rgb_space_puts_keypoints_where_the_image_affine_says() -> None:
    kp, extent, crop, heat = _scene(1.0, (160.0, 120.0))
    out, total = rgb_space_heatmaps(heat[None], crop[None], extent[None])
    assert out.shape == (1, 5, 64, 48) and out.dtype == np.float32
    expected = apply_affine(pretreat_affine(*extent), kp)
    xy, _ = decode_heatmaps(out[0])
    np.testing.assert_allclose(xy, expected, atol=0.1)
    # The person spans rows 6.4 .. 57.6 of 64 (fill 0.8), centred at column 23.5.
    np.testing.assert_allclose(apply_affine(pretreat_affine(*extent), np.array([[extent[2], extent[0] - 0.5]])),
                               [[23.5, 6.4 - 0.5]])  # fmt: skip
    # The composed affine also maps heatmap-grid points to the output.
    hm_pts = apply_affine(compose_affines(invert_affine(heatmap_to_crop_affine()), crop), kp)
    np.testing.assert_allclose(apply_affine(total[0], hm_pts), expected, atol=1e-9)


@pytest.mark.parametrize(("scale", "offset"), [(0.5, (60.0, 70.0)), (2.0, (300.0, 250.0)), (1.3, (90.0, 400.0))])
def test_rgb_space_is_invariant_to_the_persons_scale_and_place_in_the_frame(scale, offset) -> None:
    _, ext1, crop1, heat1 = _scene(1.0, (160.0, 120.0))
    _, ext2, crop2, heat2 = _scene(scale, offset)
    out1, _ = rgb_space_heatmaps(heat1[None], crop1[None], ext1[None])
    out2, _ = rgb_space_heatmaps(heat2[None], crop2[None], ext2[None])
    np.testing.assert_allclose(out1, out2, atol=1e-4)


def test_heatmap_space_follows_the_heatmaps_and_depends_on_confidence() -> None:
    kp, extent, crop, heat = _scene(1.0, (160.0, 120.0))
    out, affines = heatmap_space_heatmaps(heat[None])
    to_hm = compose_affines(invert_affine(heatmap_to_crop_affine()), crop)
    expected = apply_affine(affines[0], apply_affine(to_hm, kp))
    xy, _ = decode_heatmaps(out[0])
    np.testing.assert_allclose(xy, expected, atol=0.35)  # resized on the coarse grid: interpolation error
    # The rows kept are those of the thresholded heatmap mass: the top joint's Gaussian is cut just above its
    # threshold row, so part of its mass is lost, while RGB-space keeps it whole.
    rgb, _ = rgb_space_heatmaps(heat[None], crop[None], extent[None])
    scale_rgb = pretreat_affine(*extent)[1, 1] / to_hm[1, 1]
    scale_hm = affines[0, 1, 1]
    assert rgb[0, 0].sum() / scale_rgb**2 == pytest.approx(heat[0].sum(), rel=0.02)
    assert out[0, 0].sum() / scale_hm**2 < 0.99 * heat[0].sum()
    # A less confident ankle changes the heatmap-space framing (scale and place of every joint) but not RGB-space.
    _, _, _, weak = _scene(1.0, (160.0, 120.0), low_joint=0.05)
    out_weak, aff_weak = heatmap_space_heatmaps(weak[None])
    assert aff_weak[0, 1, 1] > 1.05 * affines[0, 1, 1]
    xy_weak, _ = decode_heatmaps(out_weak[0])
    assert np.abs(xy_weak[:4] - xy[:4]).max() > 2.0
    rgb_weak, _ = rgb_space_heatmaps(weak[None], crop[None], extent[None])
    np.testing.assert_allclose(decode_heatmaps(rgb_weak[0])[0][:4], decode_heatmaps(rgb[0])[0][:4], atol=1e-4)


def test_heatmap_space_handles_empty_frames() -> None:
    out, aff = heatmap_space_heatmaps(np.zeros((2, 3, 64, 48), np.float32))
    assert out.shape == (2, 3, 64, 48) and not out.any()
    np.testing.assert_array_equal(aff[0], [[1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match=r"\[T, K, h, w\]"):
        heatmap_space_heatmaps(np.zeros((3, 64, 48)))


def test_person_extent_and_pretreat_affine() -> None:
    mask = np.zeros((100, 80), np.uint8)
    mask[20:71, 30:41] = 1
    mask[40:45, 41:61] = 1  # an arm to the right pulls the mass centre right
    top, bottom, cx = person_extent(mask)
    assert (top, bottom) == (20, 70) and 35 <= cx <= 40
    assert person_extent(np.zeros((5, 5))) is None
    a = pretreat_affine(top, bottom, cx, (64, 48), fill=1.0)
    np.testing.assert_allclose(
        apply_affine(a, np.array([[cx, top - 0.5], [cx, bottom + 0.5]])), [[23.5, -0.5], [23.5, 63.5]]
    )
    with pytest.raises(ValueError, match="fill"):
        pretreat_affine(0, 10, 5, fill=0.0)


def test_rgb_space_validates_shapes() -> None:
    with pytest.raises(ValueError, match="extents"):
        rgb_space_heatmaps(np.zeros((2, 17, 64, 48)), np.zeros((2, 2, 3)), np.zeros((3, 3)))


def test_quantize() -> None:
    x = np.array([-0.1, 0.0, 0.5, 1.0, 1.2], np.float32)
    np.testing.assert_array_equal(quantize_heatmaps(x), [0, 0, 128, 255, 255])
    assert quantize_heatmaps(x, "float16").dtype == np.float16
    with pytest.raises(ValueError, match="uint8"):
        quantize_heatmaps(x, "int8")
