"""The trunk-asymmetry screening baseline: the feature on drawn silhouettes, thresholds against a brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gaitforge.evaluation.posture import fit_thresholds, predict_grades, trunk_asymmetry


def _figure(trunk_shift: int) -> np.ndarray:
    """[4, 64, 64] silhouettes: hips centred at column 32, a trunk block shifted by ``trunk_shift`` columns."""
    sil = np.zeros((4, 64, 64), np.uint8)
    sil[:, 28:36, 26:38] = 255  # hip band rows (0.45-0.55 of 64)
    sil[:, 10:28, 24 + trunk_shift : 40 + trunk_shift] = 255  # trunk band
    sil[:, 36:64, 27:37] = 255  # legs
    return sil


def test_feature_sign_and_size_follow_the_shift() -> None:
    assert trunk_asymmetry(_figure(0)) == pytest.approx(0.0, abs=1e-9)
    right, left = trunk_asymmetry(_figure(3)), trunk_asymmetry(_figure(-3))
    assert right > 0 and left == pytest.approx(-right)
    assert trunk_asymmetry(_figure(5)) > right
    # exact value: half-widths L = 32 - (24+3) = 5, R = (39+3) - 32 = 10 -> (10 - 5) / 15
    hips = _figure(3)[0, 29:35]
    centre = float((hips > 0).nonzero()[1].mean())
    assert right == pytest.approx(((42 - centre) - (centre - 27)) / (42 - 27))
    with pytest.raises(ValueError, match=r"\[T, H, W\]"):
        trunk_asymmetry(np.zeros((64, 64), np.uint8))
    assert trunk_asymmetry(np.zeros((2, 64, 64), np.uint8)) == 0.0


def _brute_best(f: np.ndarray, y: np.ndarray) -> int:
    u = np.unique(f)
    cands = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    best = 0
    for a, b in itertools.combinations_with_replacement(cands.tolist(), 2):
        pred = [0 if v < a else (1 if v < b else 2) for v in f.tolist()]
        best = max(best, sum(int(p == t) for p, t in zip(pred, y.tolist())))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_thresholds_reach_the_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=40)
    f = np.round(y * 0.3 + rng.normal(0, 0.25, size=40), 2)  # rounded: ties between classes too
    t0, t1 = fit_thresholds(f, y)
    assert t0 <= t1
    assert int((predict_grades(f, (t0, t1)) == y).sum()) == _brute_best(f, y)


def test_threshold_input_errors() -> None:
    with pytest.raises(ValueError, match="fit_thresholds"):
        fit_thresholds(np.zeros(3), np.zeros(2, np.int64))
    assert predict_grades(np.array([0.0, 0.5, 1.0]), (0.25, 0.75)).tolist() == [0, 1, 2]
