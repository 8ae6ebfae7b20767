"""Per-person silhouettes: clean-up, colour-model assignment where people overlap, crops and boxes."""

from __future__ import annotations

import numpy as np

from gaitforge.preprocess.video.background import FOREGROUND
from gaitforge.preprocess.video.segment import ForegroundSilhouettes, MaskCrop, mask_box, paste_mask, refine_mask


def test_refine_keeps_the_person_and_its_fragments_drops_outside_noise() -> None:
    mask = np.zeros((60, 40), np.uint8)
    mask[10:50, 15:25] = 255  # body
    mask[5:9, 17:22] = 255  # a separate head inside the box
    mask[52:58, 0:4] = 255  # clutter outside the box, in the crop margin
    out = refine_mask(mask, (12, 4, 28, 51))
    assert (out[10:50, 15:25] == 255).all() and (out[5:9, 17:22] == 255).all()
    assert not out[52:58, 0:4].any()
    assert set(np.unique(out)) == {0, 255}


def _two_people() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = np.zeros((120, 160, 3), np.uint8)
    fg = np.zeros((120, 160), np.uint8)
    frame[20:100, 40:70] = (220, 40, 40)  # red person, farther (box bottom higher)
    fg[20:100, 40:70] = FOREGROUND
    frame[30:110, 60:90] = (40, 40, 220)  # blue person, nearer, overlapping the red one
    fg[30:110, 60:90] = FOREGROUND
    boxes = np.array([[40, 20, 70, 100], [60, 30, 90, 110]], np.float32)
    return frame, fg, boxes


def test_overlaps_go_to_the_nearer_person_without_colour_models() -> None:
    frame, fg, boxes = _two_people()
    cut = ForegroundSilhouettes(margin=0.0)
    red, blue = (paste_mask(c, 120, 160) for c in cut(frame, fg, [1, 2], boxes))
    assert blue[30:110, 60:90].all()  # nearer: keeps the overlap
    assert red[20:100, 40:60].all() and not red[30:100, 60:70].any()  # farther: loses it


def test_colour_models_decide_overlaps() -> None:
    frame, fg, boxes = _two_people()
    cut = ForegroundSilhouettes(margin=0.0)
    # learn each person's colours from frames where they stand apart
    apart = np.array([[0, 20, 30, 100], [120, 30, 150, 110]], np.float32)
    frame_apart = np.zeros_like(frame)
    fg_apart = np.zeros_like(fg)
    for (x0, y0, x1, y1), colour in zip(apart.astype(int), [(220, 40, 40), (40, 40, 220)]):
        frame_apart[y0:y1, x0:x1] = colour
        fg_apart[y0:y1, x0:x1] = FOREGROUND
    cut(frame_apart, fg_apart, [1, 2], apart)
    assert set(cut.models) == {1, 2}
    # now the farther (red) person is in front where the red pixels are: colour wins over the depth prior
    frame[30:100, 60:70] = (220, 40, 40)
    red, blue = (paste_mask(c, 120, 160) for c in cut(frame, fg, [1, 2], boxes))
    assert red[30:100, 60:70].mean() > 0.9 and blue[30:100, 60:70].mean() < 0.1
    assert blue[30:110, 70:90].all()


def test_mask_box_and_paste() -> None:
    crop = MaskCrop(np.zeros((10, 8), np.uint8), (100, 50))
    assert mask_box(crop) is None
    crop.mask[2:5, 3:6] = 255
    assert mask_box(crop).tolist() == [103, 52, 106, 55]
    full = paste_mask(crop, 60, 105)  # clipped at the frame border
    assert full.shape == (60, 105) and full.sum() == 2 * 3
