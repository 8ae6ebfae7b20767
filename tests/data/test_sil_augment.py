"""The peer's silhouette augmentations: deterministic per rng, shared across modalities, and their geometry."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.data.sil_augment import (
    RandomAffine,
    RandomErasing,
    RandomPartBlur,
    RandomPartDilate,
    RandomPerspective,
    RandomRotate,
)
from gaitforge.data.transforms import TRANSFORMS, build_transform

AUGMENTATIONS = {
    "random_rotate": {"degree": 15},
    "random_perspective": {},
    "random_affine": {},
    "random_erasing": {},
    "random_part_dilate": {},
    "random_part_blur": {},
}


def _walker(t: int = 4, h: int = 64, w: int = 64) -> np.ndarray:
    """A uint8 stick figure: a torso column and two legs, moving a little per frame."""
    x = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        c = w // 2 + i
        x[i, 8:40, c - 5 : c + 5] = 255
        x[i, 40:60, c - 8 : c - 4] = 255
        x[i, 40:60, c + 4 : c + 8] = 255
    return x


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_augmentations_are_deterministic_and_keep_shape_and_dtype(name: str) -> None:
    t = build_transform({"name": name, "p": 1.0, **AUGMENTATIONS[name]})
    x = _walker()
    a, b = t(x, np.random.default_rng(3)), t(x, np.random.default_rng(3))
    assert a.shape == x.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, x)  # p = 1 changes the frames
    assert np.array_equal(x, _walker())  # the input is never modified in place
    others = [t(x, np.random.default_rng(s)) for s in range(4, 12)]
    assert any(not np.array_equal(a, o) for o in others)  # the rng decides
    f = x.astype(np.float32) / 255.0
    out = t(f, np.random.default_rng(3))
    assert out.dtype == np.float32 and out.shape == f.shape
    off = build_transform({"name": name, "p": 0.0, **AUGMENTATIONS[name]})
    assert off(x, np.random.default_rng(3)) is x
    with pytest.raises(ValueError, match="needs an rng"):
        t(x)


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_augmentations_agree_across_modalities(name: str) -> None:
    """Equally seeded generators give a silhouette and 2-channel maps of the same frames the same change."""
    t = build_transform({"name": name, "p": 1.0, **AUGMENTATIONS[name]})
    sil = _walker()
    maps = np.stack([sil, sil], axis=1)  # [T, 2, H, W]
    a, b = t(sil, np.random.default_rng(5)), t(maps, np.random.default_rng(5))
    assert b.shape == maps.shape
    assert np.array_equal(b[:, 0], a) and np.array_equal(b[:, 1], a)


def test_rotate_geometry() -> None:
    x = np.zeros((1, 21, 21), np.float32)
    x[0, 10, 16] = 1.0  # six pixels right of the centre (10, 10)
    draw = np.random.default_rng(0)
    draw.random()  # the apply-or-not decision
    theta = np.deg2rad(draw.uniform(-90, 90))  # the angle RandomRotate draws next from the same generator
    out = RandomRotate(p=1.0, degree=90)(x, np.random.default_rng(0))[0]
    rows, cols = np.indices(out.shape)
    cy, cx = (rows * out).sum() / out.sum(), (cols * out).sum() / out.sum()
    # OpenCV turns counter-clockwise for a positive angle (rows grow downwards)
    assert cx == pytest.approx(10 + 6 * np.cos(theta), abs=0.3)
    assert cy == pytest.approx(10 - 6 * np.sin(theta), abs=0.3)
    same = RandomRotate(p=1.0, degree=0)(x, np.random.default_rng(1))
    np.testing.assert_allclose(same, x, atol=1e-6)
    tall = np.zeros((1, 64, 44), np.float32)
    tall[0, 32, 22] = 1.0
    a = RandomRotate(p=1.0, degree=90)(tall, np.random.default_rng(0))
    b = RandomRotate(p=1.0, degree=90, center="peer")(tall, np.random.default_rng(0))
    assert not np.allclose(a, b)  # the peer turns about (x, y) = (H // 2, W // 2) = (32, 22)
    with pytest.raises(ValueError, match="center 'middle' is unknown"):
        RandomRotate(center="middle")


def test_erasing_box_is_shared_by_frames_unless_per_frame() -> None:
    x = np.full((5, 64, 44), 255, np.uint8)
    out = RandomErasing(p=1.0)(x, np.random.default_rng(0))
    zero = out == 0
    assert all(np.array_equal(zero[0], zero[i]) for i in range(5))
    frac = zero[0].mean()
    assert 0.04 <= frac <= 0.21
    rows, cols = np.nonzero(zero[0])
    assert zero[0][rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # one rectangle
    per = RandomErasing(p=1.0, per_frame=True)(x, np.random.default_rng(0))
    assert any(not np.array_equal(per[0] == 0, per[i] == 0) for i in range(1, 5))
    with pytest.raises(ValueError, match="sl <= sh"):
        RandomErasing(sl=0.5, sh=0.1)


def test_perspective_needs_side_bands() -> None:
    x = _walker()
    out = RandomPerspective(p=1.0)(x, np.random.default_rng(0))
    assert out.shape == x.shape and out.max() == 255
    narrow = x[..., 10:54][..., ::2]  # 22 columns: the peer's band width W // 44 * 10 is 0
    with pytest.raises(ValueError, match="side bands of 0 px do not fit width 22"):
        RandomPerspective(p=1.0)(narrow, np.random.default_rng(0))
    assert RandomPerspective(p=1.0, cut=3)(narrow, np.random.default_rng(0)).shape == narrow.shape


def test_part_dilate_and_blur_touch_only_their_band() -> None:
    x = _walker()
    dil = RandomPartDilate(p=1.0)(x, np.random.default_rng(0))
    changed = np.nonzero((dil != x).any(axis=(0, 2)))[0]
    assert changed.size and changed.min() >= 12 and changed.max() < 40
    assert (dil >= x).all()  # dilation only adds foreground
    blur = RandomPartBlur(p=1.0)(x, np.random.default_rng(1))
    assert set(np.unique(blur)) <= {0, 255}
    changed = np.nonzero((blur != x).any(axis=(0, 2)))[0]
    assert changed.size == 0 or (changed.min() >= 9 and changed.max() < 40)
    f = RandomPartBlur(p=1.0)(x.astype(np.float32) / 255.0, np.random.default_rng(1))
    assert set(np.unique(f)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match=r"top_range is \[5, 2\]"):
        RandomPartDilate(top_range=(5, 2))


def test_augmentation_names_are_registered() -> None:
    assert set(AUGMENTATIONS) <= set(TRANSFORMS.names())
    t = build_transform([{"name": "random_perspective", "p": 0.2}, {"name": "sil_cut"}, {"name": "random_rotate"}])
    assert t(_walker(), np.random.default_rng(0)).shape == (4, 64, 44)
    assert isinstance(build_transform({"name": "random_affine", "p": 1.0}), RandomAffine)
