"""RGB pretreatment: crop by the silhouette's box, the peer's pad-resize, aligned silhouettes and ratios."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.preprocess.rgb import pad_resize, pretreat_rgb_sequence, silhouette_box


def test_pad_resize_centres_narrow_crops_and_cuts_wide_ones() -> None:
    narrow = np.full((100, 30, 3), 200, np.uint8)  # resized to 256 x int(30 * 256 / 100) = 76
    out = pad_resize(narrow, (256, 128))
    assert out.shape == (256, 128, 3)
    filled = np.flatnonzero(out[128, :, 0])
    assert filled[0] == (128 - 76) // 2 and filled[-1] == (128 - 76) // 2 + 75
    wide = np.zeros((50, 100, 3), np.uint8)
    wide[:, 40:60] = 255  # the middle fifth survives the centre cut (512 wide -> 128)
    cut = pad_resize(wide, (256, 128))
    assert cut.shape == (256, 128, 3) and cut[:, 20:108].max() == 255 and cut[:, :10].max() == 0


def test_sequence_keeps_rgb_and_silhouettes_aligned_with_ratios() -> None:
    frames = np.zeros((3, 120, 160, 3), np.uint8)
    masks = np.zeros((3, 120, 160), np.uint8)
    for t, (x0, w) in enumerate([(20, 30), (60, 40), (0, 0)]):  # the last frame has no silhouette
        if w:
            masks[t, 10:110, x0 : x0 + w] = 255
            frames[t, 10:110, x0 : x0 + w] = (200, 100, 50)
    out = pretreat_rgb_sequence(frames, masks, size=(64, 64))
    assert out.kept == [0, 1] and out.skipped == [2]
    assert out.rgb.shape == (2, 64, 64, 3) and out.sil.shape == (2, 64, 64)
    np.testing.assert_allclose(out.ratio, [30 / 100, 40 / 100])
    assert np.array_equal(out.rgb[..., 0] > 0, out.sil > 0)  # the same geometry for colour and mask
    assert silhouette_box(masks[0]) == (10, 110, 20, 50)


def test_mismatched_frames_and_silhouettes_are_named() -> None:
    with pytest.raises(ValueError, match="frame 0 is 120x160 but its silhouette is 120x150"):
        pretreat_rgb_sequence(np.zeros((2, 120, 160, 3), np.uint8), np.zeros((2, 120, 150), np.uint8))
    with pytest.raises(ValueError, match=r"expected uint8 \[T, H, W, 3\]"):
        pretreat_rgb_sequence(np.zeros((2, 120, 160), np.uint8), np.zeros((2, 120, 160), np.uint8))
