"""Distances stay exact for any finite magnitude (issue 18, defect 2): the peer fixtures' embeddings scaled by
1e17, 1e-30 (euc) and 1e20, 1e-30 (cos) give the float64 reference's distances and the unscaled Rank-1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.evaluation import load_embeddings_npz, score_data
from gaitforge.evaluation.data import EvalData, make_eval_data
from gaitforge.evaluation.distance import PreparedGallery, common_scale, distance_rows, part_distance

from .reference_impl import naive_distance

CASES = [("euc", 1e17), ("euc", 1e18), ("euc", 1e-30), ("euc", 1e30), ("cos", 1e20), ("cos", 1e-30), ("cos", 1e-38)]


@pytest.fixture(scope="module")
def casiab(fixtures_dir: Path) -> EvalData:
    return load_embeddings_npz(fixtures_dir / "evaluation" / "casiab.npz")


@pytest.mark.parametrize(("metric", "factor"), CASES)
def test_scaled_fixture_distances_match_the_float64_reference(casiab: EvalData, metric: str, factor: float) -> None:
    x, y = casiab.embeddings[:40], casiab.embeddings[40:100]
    got = part_distance(x * np.float32(factor), y * np.float32(factor), metric).numpy()
    assert np.isfinite(got).all()
    if metric == "euc":  # homogeneous: the reference on the scaled float64 values
        ref = naive_distance(x.astype(np.float64) * factor, y.astype(np.float64) * factor, metric)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-3 * factor)
    else:  # scale-invariant; the float64 reference's eps would swallow tiny vectors, so compare to unscaled
        np.testing.assert_allclose(got, naive_distance(x, y, metric), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("metric", "factor"), CASES)
def test_scaled_fixture_rank1_equals_unscaled(casiab: EvalData, metric: str, factor: float) -> None:
    base = score_data("casia-b", casiab, metric=metric).figures
    scaled = EvalData(casiab.embeddings * np.float32(factor), casiab.labels, casiab.types, casiab.views, "scaled")
    assert score_data("casia-b", scaled, metric=metric).figures == base


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_ordinary_magnitudes_are_untouched_bit_for_bit(casiab: EvalData, metric: str) -> None:
    x = casiab.embeddings[:50]
    assert common_scale(x) == 1.0
    two = part_distance(x * np.float32(2**60), x * np.float32(2**60), metric).numpy()
    one = part_distance(x, x, metric).numpy()
    np.testing.assert_array_equal(two, one * np.float32(2**60) if metric == "euc" else one)


def test_probe_far_larger_than_a_separately_prepared_gallery_is_refused() -> None:
    rng = np.random.default_rng(0)
    gallery = PreparedGallery.from_embeddings(rng.normal(size=(5, 8, 2)).astype(np.float32), "euc")
    with pytest.raises(ValueError, match="common_scale"):
        distance_rows(rng.normal(size=(3, 8, 2)).astype(np.float32) * np.float32(1e30), gallery)


def test_distances_beyond_float32_are_refused_not_inf() -> None:
    x = np.zeros((2, 4, 1), dtype=np.float32)
    x[0], x[1] = 3e38, -3e38
    with pytest.raises(ValueError, match="float32's range"):
        part_distance(x, x, "euc")


@pytest.mark.parametrize(("factor", "where"), [(1e300, "above"), (1e-300, "below")])
def test_float64_embeddings_that_float32_cannot_hold_are_refused(factor: float, where: str) -> None:
    emb = np.random.default_rng(1).normal(size=(4, 8, 2)) * factor
    with pytest.raises(ValueError, match=f"lie {where} float32's range"):
        make_eval_data(emb, list("abcd"), ["nm"] * 4, ["000"] * 4)
