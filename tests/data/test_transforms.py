"""Transforms: silhouette cut, resize, flip, the peer's augmentations, composition and the config builder."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.data.transforms import (
    TRANSFORMS,
    Compose,
    RandomAffine,
    RandomErasing,
    RandomHorizontalFlip,
    RandomPartBlur,
    RandomPartDilate,
    RandomPerspective,
    RandomRotate,
    Resize,
    SilCut,
    build_transform,
)


def _sil(t: int = 3, h: int = 64, w: int = 64) -> np.ndarray:
    x = np.zeros((t, h, w), np.uint8)
    x[:, :, w // 4 : w // 2] = 255
    x[:, :, 0] = 7  # marks the left edge
    return x


def test_sil_cut_64_to_44_and_scale() -> None:
    x = _sil()
    out = SilCut()(x)
    assert out.shape == (3, 64, 44) and out.dtype == np.float32
    np.testing.assert_allclose(out, x[:, :, 10:54] / 255.0, rtol=1e-6)
    assert out.max() == pytest.approx(1.0)


def test_sil_cut_scales_with_width() -> None:
    assert SilCut()(_sil(2, 128, 128)).shape == (2, 128, 88)
    assert SilCut(cut=4, scale=1.0)(_sil()).shape == (3, 64, 56)
    assert SilCut()(np.zeros((2, 2, 64, 64), np.uint8)).shape == (2, 2, 64, 44)  # [T, C, H, W]
    kept = SilCut(scale=None)(_sil())
    assert kept.dtype == np.uint8 and np.array_equal(kept, _sil()[:, :, 10:54])
    with pytest.raises(ValueError, match="leaves nothing"):
        SilCut(cut=32)(_sil())


def test_resize_area_halves_exactly() -> None:
    x = np.arange(2 * 64 * 44, dtype=np.float32).reshape(2, 64, 44)
    out = Resize((32, 22))(x)
    assert out.shape == (2, 32, 22) and out.dtype == np.float32
    np.testing.assert_allclose(out, x.reshape(2, 32, 2, 22, 2).mean(axis=(2, 4)), rtol=1e-6)
    u8 = Resize([32, 32], mode="bilinear")(_sil())
    assert u8.dtype == np.uint8 and u8.shape == (3, 32, 32)
    assert Resize((64, 64))(_sil()) is not None
    four_d = Resize((16, 16), mode="nearest")(np.ones((2, 2, 64, 64), np.float32))
    assert four_d.shape == (2, 2, 16, 16)
    with pytest.raises(ValueError, match="mode 'fancy' is unknown"):
        Resize((2, 2), mode="fancy")


def test_flip_probability_and_whole_sequence() -> None:
    x = _sil()
    assert np.array_equal(RandomHorizontalFlip(1.0)(x, np.random.default_rng(0)), x[..., ::-1])
    assert RandomHorizontalFlip(0.0)(x, np.random.default_rng(0)) is x
    flips = sum(
        not np.array_equal(RandomHorizontalFlip(0.5)(x, np.random.default_rng(s)), x) for s in range(400)
    )
    assert 150 < flips < 250
    with pytest.raises(ValueError, match="needs an rng"):
        RandomHorizontalFlip(0.5)(x)


def test_compose_and_builder() -> None:
    t = build_transform([{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}])
    assert isinstance(t, Compose)
    out = t(_sil())
    assert out.shape == (3, 32, 22) and out.dtype == np.float32
    single = build_transform({"name": "random_horizontal_flip", "p": 1.0})
    assert isinstance(single, RandomHorizontalFlip)
    nested = build_transform({"name": "compose", "transforms": [{"name": "sil_cut"}]})
    assert nested(_sil()).shape == (3, 64, 44)
    assert build_transform(None) is None
    assert {"sil_cut", "resize", "random_horizontal_flip"} <= set(TRANSFORMS.names())


def test_builder_errors_name_the_config_path() -> None:
    with pytest.raises(KeyError, match="unknown transform 'blur'"):
        build_transform([{"name": "blur"}])
    with pytest.raises(ValueError, match=r"transform\[1\] \(resize\).*unexpected keyword.*'sise'"):
        build_transform([{"name": "sil_cut"}, {"name": "resize", "sise": [1, 2]}])
    with pytest.raises(ValueError, match=r"transform\[0\]: field 'name' is missing"):
        build_transform([{"size": [1, 2]}])


# --- the peer's augmentations --------------------------------------------------------------------------------

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


def test_crop_width_lines_up_modalities() -> None:
    maps = np.arange(2 * 2 * 4 * 64, dtype=np.float32).reshape(2, 2, 4, 64)
    out = build_transform({"name": "crop_width", "width": 44})(maps)
    assert out.shape == (2, 2, 4, 44) and np.array_equal(out, maps[..., 10:54])
    sil = np.zeros((2, 4, 44), np.uint8)
    assert build_transform({"name": "crop_width", "width": 44})(sil) is sil
    with pytest.raises(ValueError, match="middle 44 columns of width 45"):
        build_transform({"name": "crop_width", "width": 44})(np.zeros((1, 4, 45)))
