"""Open-set calibration: thresholds at a target FAR, and genuine / impostor distances against naive loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaitforge.retrieval.calibration import calibrate_threshold, leave_one_out_distances, pair_distances
from gaitforge.retrieval.vectors import pairwise_distances


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_threshold_on_gaussian_scores_matches_the_analytic_one() -> None:
    rng = np.random.default_rng(0)
    genuine = rng.normal(1.0, 0.2, 50_000)
    impostor = rng.normal(2.0, 0.2, 50_000)
    cal = calibrate_threshold(genuine, impostor, far=0.01)
    z = 2.3263478740408408  # standard normal quantile at 0.99
    expected = 2.0 - z * 0.2
    assert cal.threshold == pytest.approx(expected, abs=0.01)
    assert 0.009 <= cal.far <= 0.01 and cal.target_far == 0.01
    assert cal.tar == pytest.approx(_phi((expected - 1.0) / 0.2), abs=0.003)
    assert (cal.n_genuine, cal.n_impostor) == (50_000, 50_000)


@pytest.mark.parametrize("seed", range(20))
def test_far_is_met_and_the_threshold_is_the_largest_that_meets_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    impostor = rng.integers(0, 30, size=int(rng.integers(1, 200))).astype(float)  # many ties
    genuine = rng.integers(0, 30, size=50).astype(float)
    far = float(rng.choice([0.0, 0.01, 0.05, 0.1, 0.5, 1.0]))
    cal = calibrate_threshold(genuine, impostor, far)
    allowed = math.floor(far * impostor.size + 1e-9)
    assert (impostor <= cal.threshold).sum() <= allowed
    above = impostor[impostor > cal.threshold]
    if above.size:  # accepting the next impostor value would break the target
        assert (impostor <= above.min()).sum() > allowed
    assert cal.far == pytest.approx((impostor <= cal.threshold).mean())
    assert cal.tar == pytest.approx((genuine <= cal.threshold).mean())


def test_extreme_rates() -> None:
    cal = calibrate_threshold([0.1, 0.5], [0.3, 0.4], far=0.0)
    assert cal.threshold < 0.3 and cal.far == 0.0 and cal.tar == 0.5
    cal = calibrate_threshold([0.1, 0.5], [0.3, 0.4], far=1.0)
    assert cal.threshold == 0.4 and cal.far == 1.0 and cal.tar == 0.5


def test_errors() -> None:
    with pytest.raises(ValueError, match="no impostor distances"):
        calibrate_threshold([0.1], [])
    with pytest.raises(ValueError, match="genuine distances contain NaN"):
        calibrate_threshold([np.nan], [1.0])
    with pytest.raises(ValueError, match=r"expected a rate in \[0, 1\]"):
        calibrate_threshold([0.1], [1.0], far=2.0)
    with pytest.raises(ValueError, match="one label"):
        leave_one_out_distances(np.zeros((3, 2)), ["a", "a", "a"])
    with pytest.raises(ValueError, match="labels has 2 entries"):
        pair_distances(np.zeros((3, 2)), ["a", "b"])


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_pair_distances_against_a_loop(metric: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(25, 6)).astype(np.float32)
    labels = rng.integers(0, 5, 25).astype(str)
    genuine, impostor = pair_distances(x, labels, metric)
    ref_g, ref_i = [], []
    for i in range(25):
        for j in range(i + 1, 25):
            d = pairwise_distances(x[i : i + 1], x[j : j + 1], metric)[0, 0]
            (ref_g if labels[i] == labels[j] else ref_i).append(d)
    np.testing.assert_allclose(np.sort(genuine), np.sort(ref_g), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.sort(impostor), np.sort(ref_i), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_leave_one_out_against_a_loop(metric: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 5)).astype(np.float32)
    labels = np.array([f"p{i % 7}" for i in range(29)] + ["lonely"])
    genuine, impostor = leave_one_out_distances(x, labels, metric)
    ref_g, ref_i = [], []
    for i in range(30):
        d = pairwise_distances(x[i : i + 1], x, metric)[0]
        own = [d[j] for j in range(30) if j != i and labels[j] == labels[i]]
        if own:
            ref_g.append(min(own))
        ref_i.append(min(d[j] for j in range(30) if labels[j] != labels[i]))
    np.testing.assert_allclose(genuine, ref_g, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(impostor, ref_i, rtol=1e-6, atol=1e-9)
    assert len(genuine) == 29  # the lonely subject has no genuine pair
