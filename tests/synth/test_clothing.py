"""Clothes: sleeves that merge arms into the torso, trousers and skirts that widen the legs, hems that lag."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.synth.anthropometry import sample_population_body
from gaitforge.synth.camera import Camera
from gaitforge.synth.clothing import Outfit, _follow, dressed_parts, sample_wardrobe
from gaitforge.synth.kinematics import simulate_walk
from gaitforge.synth.render import rasterise
from gaitforge.synth.style import sample_style

BODY = sample_population_body(np.random.default_rng(1))
STYLE = sample_style(np.random.default_rng(2))
SKEL = simulate_walk(BODY, STYLE, 10, 25.0, 0.1)


def _render(outfit: Outfit, azimuth: float = 0.0) -> np.ndarray:
    target = np.stack([SKEL.speed * np.arange(10) / 25.0, np.zeros(10), np.full(10, 0.5 * BODY.height)], -1)
    cam = Camera(azimuth, 5.0, 6.0, 110.0 * 6.0 / BODY.height, 64.0, 64.0, target)
    return rasterise(dressed_parts(BODY, SKEL, outfit, 25.0), cam, 128, 128) > 0


def _band_width(sil: np.ndarray, a: float, b: float) -> float:
    out = []
    for f in sil:
        ys = np.nonzero(f.any(1))[0]
        h = np.ptp(ys) + 1
        out.append(f[ys[0] + int(a * h) : ys[0] + int(b * h)].sum(1).mean())
    return float(np.mean(out))


def test_loose_tops_and_baggy_trousers_are_wider() -> None:
    tight = _render(Outfit("tight", "slim", "short", 1.0, 0.05))
    loose = _render(Outfit("hoodie", "baggy", "short", 1.0, 0.05))
    assert _band_width(loose, 0.2, 0.4) > 1.05 * _band_width(tight, 0.2, 0.4)
    assert _band_width(loose, 0.6, 0.85) > 1.05 * _band_width(tight, 0.6, 0.85)


def test_skirt_covers_the_legs_and_its_hem_lags() -> None:
    slim = _render(Outfit("tight", "slim", "long", 1.0, 0.05))
    skirt = _render(Outfit("tight", "skirt_long", "long", 1.0, 0.05))
    assert _band_width(skirt, 0.6, 0.85) > 1.1 * _band_width(slim, 0.6, 0.85)
    ref = np.zeros((50, 3))
    x = np.zeros((50, 3))
    x[10:, 0] = 1.0
    lagged = _follow(x, ref, 3.0)
    assert 0 < lagged[11, 0] < 1 and lagged[-1, 0] == pytest.approx(1.0, abs=1e-3)


def test_wardrobe_and_validation() -> None:
    w = sample_wardrobe(np.random.default_rng(0), True, 3)
    assert len(w) == 3 and len({o.hair for o in w}) == 1
    with pytest.raises(ValueError, match="outfit top"):
        Outfit("cape", "slim", "short", 1.0, 0.05)
