"""Transforms: silhouette cut, resize, flip, width crop, composition and the config builder."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.data.transforms import (
    TRANSFORMS,
    Compose,
    RandomHorizontalFlip,
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
    flips = sum(not np.array_equal(RandomHorizontalFlip(0.5)(x, np.random.default_rng(s)), x) for s in range(400))
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


def test_crop_width_lines_up_modalities() -> None:
    maps = np.arange(2 * 2 * 4 * 64, dtype=np.float32).reshape(2, 2, 4, 64)
    out = build_transform({"name": "crop_width", "width": 44})(maps)
    assert out.shape == (2, 2, 4, 44) and np.array_equal(out, maps[..., 10:54])
    sil = np.zeros((2, 4, 44), np.uint8)
    assert build_transform({"name": "crop_width", "width": 44})(sil) is sil
    with pytest.raises(ValueError, match="middle 44 columns of width 45"):
        build_transform({"name": "crop_width", "width": 44})(np.zeros((1, 4, 45)))
