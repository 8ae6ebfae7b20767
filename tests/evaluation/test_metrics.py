from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gaitforge.evaluation.metrics import (
    average_precision_from_positions,
    cmc_from_first_positions,
    first_match_positions,
    ranking_stats,
    smallest_k,
)

from .reference_impl import naive_row_stats


def _random_problem(seed: int, b: int, m: int, n_labels: int, levels: int, with_valid: bool):
    rng = np.random.default_rng(seed)
    dist = rng.integers(0, levels, size=(b, m)).astype(np.float32)  # small integers: many exact ties
    q = rng.integers(0, n_labels, size=b)
    g = rng.integers(0, n_labels, size=m)
    match = q[:, None] == g[None, :]
    valid = rng.random((b, m)) > 0.2 if with_valid else None
    return dist, match, valid


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**20),
    b=st.integers(1, 12),
    m=st.integers(1, 90),
    n_labels=st.integers(1, 6),
    levels=st.integers(1, 30),
    with_valid=st.booleans(),
)
def test_ranking_stats_equal_naive_full_sort(seed, b, m, n_labels, levels, with_valid) -> None:
    dist, match, valid = _random_problem(seed, b, m, n_labels, levels, with_valid)
    stats = ranking_stats(
        torch.from_numpy(dist), torch.from_numpy(match), None if valid is None else torch.from_numpy(valid)
    )
    firsts = first_match_positions(
        torch.from_numpy(dist), torch.from_numpy(match), None if valid is None else torch.from_numpy(valid)
    ).numpy()
    for i in range(b):
        first, ap, inp, n_rel = naive_row_stats(dist[i], match[i], None if valid is None else valid[i])
        assert stats.first[i] == first == firsts[i]
        assert stats.num_rel[i] == n_rel
        assert stats.num_valid[i] == (m if valid is None else valid[i].sum())
        if n_rel:
            assert stats.ap[i] == pytest.approx(ap, abs=1e-12)
            assert stats.inp[i] == pytest.approx(inp, abs=1e-12)
        else:
            assert np.isnan(stats.ap[i]) and np.isnan(stats.inp[i])


def test_many_matches_use_the_searchsorted_path_and_agree() -> None:
    dist, match, valid = _random_problem(7, 6, 400, 2, 50, True)  # ~200 matches per row > compare limit
    stats = ranking_stats(torch.from_numpy(dist), torch.from_numpy(match), torch.from_numpy(valid))
    assert stats.num_rel.max() > 16
    for i in range(6):
        first, ap, inp, _ = naive_row_stats(dist[i], match[i], valid[i])
        assert (stats.first[i], stats.ap[i], stats.inp[i]) == (first, pytest.approx(ap), pytest.approx(inp))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**20), n_match=st.integers(1, 20), n_other=st.integers(0, 40))
def test_perfect_ranking_gives_ap_and_inp_one(seed, n_match, n_other) -> None:
    rng = np.random.default_rng(seed)
    d = np.concatenate([rng.uniform(0, 1, n_match), rng.uniform(1.01, 2, n_other)]).astype(np.float32)
    perm = rng.permutation(d.size)
    match = np.r_[np.ones(n_match, bool), np.zeros(n_other, bool)][perm]
    s = ranking_stats(torch.from_numpy(d[perm][None]), torch.from_numpy(match[None]))
    assert s.first[0] == 0 and s.ap[0] == 1.0 and s.inp[0] == 1.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**20), m=st.integers(2, 60), levels=st.integers(1, 10))
def test_figures_are_invariant_to_gallery_order(seed, m, levels) -> None:
    dist, match, valid = _random_problem(seed, 5, m, 3, levels, True)
    perm = np.random.default_rng(seed + 1).permutation(m)
    a = ranking_stats(torch.from_numpy(dist), torch.from_numpy(match), torch.from_numpy(valid))
    b = ranking_stats(
        torch.from_numpy(dist[:, perm]), torch.from_numpy(match[:, perm]), torch.from_numpy(valid[:, perm])
    )
    for field in ("first", "num_rel", "num_valid", "ap", "inp"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_worst_ranking_and_ties_count_against_the_probe() -> None:
    d = torch.tensor([[0.5, 0.5, 0.1, 0.9]])
    match = torch.tensor([[True, False, False, False]])
    s = ranking_stats(d, match)
    assert s.first[0] == 2  # the tied non-match and the closer one come first
    assert s.ap[0] == pytest.approx(1 / 3) and s.inp[0] == pytest.approx(1 / 3)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**20), m=st.integers(1, 50), k=st.integers(1, 60), levels=st.integers(1, 8))
def test_smallest_k_equals_stable_sort(seed, m, k, levels) -> None:
    d = np.random.default_rng(seed).integers(0, levels, size=(4, m)).astype(np.float32)
    values, idx = smallest_k(torch.from_numpy(d), k)
    expected = np.argsort(d, axis=1, kind="stable")[:, : min(k, m)]
    np.testing.assert_array_equal(idx.numpy(), expected)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(d, expected, 1))


def test_cmc_from_first_positions_equals_loop() -> None:
    first = np.array([0, 3, -1, 1, 0, 7, 2])
    got = cmc_from_first_positions(first, 5)
    expected = [sum(1 for f in first if 0 <= f < k) for k in range(1, 6)]
    np.testing.assert_array_equal(got, expected)


def test_average_precision_examples() -> None:
    assert average_precision_from_positions(np.array([0, 1])) == 1.0
    assert average_precision_from_positions(np.array([1])) == 0.5
    assert average_precision_from_positions(np.array([0, 2])) == pytest.approx((1 + 2 / 3) / 2)
    assert np.isnan(average_precision_from_positions(np.array([])))


def test_rows_without_gallery() -> None:
    d = torch.zeros((2, 0))
    m = torch.zeros((2, 0), dtype=torch.bool)
    assert first_match_positions(d, m).tolist() == [-1, -1]
    s = ranking_stats(d, m)
    assert s.first.tolist() == [-1, -1] and s.num_valid.tolist() == [0, 0]
