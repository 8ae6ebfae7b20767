"""Hungarian assignment against an exhaustive search."""

from __future__ import annotations

import itertools

import numpy as np

from gaitforge.preprocess.video.assignment import linear_assignment


def _brute(cost: np.ndarray) -> tuple[int, float]:
    """Most pairs, then least total cost, by trying every injective partial map of rows to columns."""
    n, m = cost.shape
    best = (0, 0.0)
    for cols in itertools.product(range(-1, m), repeat=n):
        used = [c for c in cols if c >= 0]
        if len(used) != len(set(used)) or any(c >= 0 and not np.isfinite(cost[r, c]) for r, c in enumerate(cols)):
            continue
        total = float(sum(cost[r, c] for r, c in enumerate(cols) if c >= 0))
        if (len(used), -total) > (best[0], -best[1]):
            best = (len(used), total)
    return best


def test_matches_exhaustive_search() -> None:
    rng = np.random.default_rng(0)
    for _ in range(150):
        n, m = (int(v) for v in rng.integers(1, 5, 2))
        cost = rng.random((n, m))
        cost[rng.random((n, m)) < 0.25] = np.inf
        rows, cols = linear_assignment(cost)
        assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
        assert np.all(np.isfinite(cost[rows, cols]))
        count, total = _brute(cost)
        assert len(rows) == count
        assert np.isclose(cost[rows, cols].sum(), total)


def test_max_cost_and_empty() -> None:
    cost = np.array([[0.1, 5.0], [5.0, 3.0]])
    rows, cols = linear_assignment(cost, max_cost=1.0)
    assert rows.tolist() == [0] and cols.tolist() == [0]
    rows, cols = linear_assignment(np.zeros((0, 3)))
    assert len(rows) == len(cols) == 0
    rows, cols = linear_assignment(np.full((2, 2), np.inf))
    assert len(rows) == 0


def test_prefers_the_cheaper_global_assignment() -> None:
    # greedy would take (0,0)=1 and then (1,1)=10; the optimum is (0,1)+(1,0) = 2+2
    rows, cols = linear_assignment(np.array([[1.0, 2.0], [2.0, 10.0]]))
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]
