"""Frame sampling modes: counts, ordering, windows, short sequences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gaitforge.data.frame_sampling import FRAME_SAMPLING_MODES, FrameSampler, keyed_uniform


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_fixed_unordered_counts_and_replacement() -> None:
    fs = FrameSampler("fixed_unordered", num=30)
    long = fs.sample(100, _rng())
    assert long.shape == (30,) and long.dtype == np.int64
    assert len(set(long.tolist())) == 30  # no replacement when long enough
    short = fs.sample(7, _rng())
    assert short.shape == (30,) and set(short.tolist()) <= set(range(7))
    assert fs.sample(1, _rng()).tolist() == [0] * 30


def test_fixed_ordered_is_sorted_window() -> None:
    fs = FrameSampler("fixed_ordered", num=10, skip=5)
    for seed in range(20):
        idx = fs.sample(100, _rng(seed))
        assert idx.shape == (10,)
        assert np.all(np.diff(idx) > 0)  # sorted, distinct
        assert idx[-1] - idx[0] < 15  # inside a window of num + skip
    starts = {int(fs.sample(100, _rng(s))[0]) for s in range(50)}
    assert len(starts) > 10  # the window moves


def test_fixed_ordered_without_skip_is_contiguous() -> None:
    idx = FrameSampler("fixed_ordered", num=8, skip=0).sample(50, _rng(3))
    assert np.array_equal(idx, np.arange(idx[0], idx[0] + 8))


def test_fixed_ordered_short_sequence_tiles() -> None:
    fs = FrameSampler("fixed_ordered", num=10, skip=0)
    for seed in range(10):
        idx = fs.sample(4, _rng(seed))
        assert idx.shape == (10,)
        # a contiguous run through the tiled sequence 0,1,2,3,0,1,2,3,...
        assert all((b - a) % 4 == 1 for a, b in itertools.pairwise(idx))


def test_unfixed_count_shared_and_in_range() -> None:
    fs = FrameSampler("unfixed_unordered", min=5, max=9)
    counts = {fs.draw_count(_rng(s)) for s in range(200)}
    assert counts == set(range(5, 10))
    rng = _rng(1)
    count = fs.draw_count(rng)
    assert all(fs.sample(t, rng, count).shape == (count,) for t in (3, 40, 100))
    ordered = FrameSampler("unfixed_ordered", min=5, max=9).sample(40, _rng(2), 7)
    assert ordered.shape == (7,) and np.all(np.diff(ordered) > 0)


def test_all_modes() -> None:
    assert FrameSampler("all_ordered").sample(50, _rng()).tolist() == list(range(50))
    assert FrameSampler("all_ordered", max_all=720).sample(1000, _rng()).tolist() == list(range(720))
    assert FrameSampler("all_ordered", max_all=None).sample(1000, _rng()).shape == (1000,)
    un = FrameSampler("all_unordered").sample(50, _rng())
    assert sorted(un.tolist()) == list(range(50)) and un.tolist() != list(range(50))
    assert FrameSampler("all_ordered").draw_count(_rng()) is None
    assert not FrameSampler("all_ordered").equal_lengths and FrameSampler("fixed_ordered").equal_lengths


def test_deterministic_from_rng() -> None:
    for mode in FRAME_SAMPLING_MODES:
        fs = FrameSampler(mode, num=12, min=4, max=8, skip=3)
        a, b = fs.sample(37, _rng(9)), fs.sample(37, _rng(9))
        assert np.array_equal(a, b), mode
        assert a.min() >= 0 and a.max() < 37


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "random"}, "mode 'random' is unknown"),
        ({"mode": "fixed_ordered", "num": 0}, "num is 0"),
        ({"mode": "unfixed_ordered", "min": 9, "max": 3}, "min=9, max=3"),
        ({"mode": "fixed_ordered", "skip": -1}, "skip is -1"),
    ],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FrameSampler(**kwargs)


def test_empty_sequence_rejected() -> None:
    with pytest.raises(ValueError, match="length is 0"):
        FrameSampler("fixed_unordered").sample(0, _rng())


# -- keyed, whole-batch sampling --------------------------------------------------------------------------------


def test_keyed_uniform_is_a_function_of_the_key() -> None:
    u = keyed_uniform([7, 7, 8], [0, 1, 0], 50)
    assert u.shape == (3, 50) and u.dtype == np.float64
    assert u.min() >= 0.0 and u.max() < 1.0
    assert np.array_equal(keyed_uniform([7], [1], 20)[0], u[1, :20])  # a prefix of a longer row
    assert not np.array_equal(u[0], u[1]) and not np.array_equal(u[0], u[2])
    assert np.array_equal(keyed_uniform([2**63 + 5], [3], 4), keyed_uniform([2**63 + 5], [3], 4))
    big = keyed_uniform(np.arange(2000), np.zeros(2000, np.int64), 16).ravel()
    assert abs(big.mean() - 0.5) < 0.01 and abs(np.mean(big < 0.1) - 0.1) < 0.01


@pytest.mark.parametrize("mode", FRAME_SAMPLING_MODES)
def test_keyed_batch_equals_item_by_item(mode: str) -> None:
    fs = FrameSampler(mode, num=12, min=4, max=8, skip=3)
    lengths = [37, 5, 100, 12, 1]
    count = 6 if mode.startswith("unfixed") else None
    batch = fs.sample_keyed(lengths, [11] * 5, [0, 1, 2, 3, 4], count)
    for b, t in enumerate(lengths):
        one = fs.sample_keyed([t], [11], [b], count)[0]
        assert np.array_equal(batch[b], one), (mode, b)
        assert batch[b].dtype == np.int64 and batch[b].min() >= 0 and batch[b].max() < t
    again = fs.sample_keyed(lengths[::-1], [11] * 5, [4, 3, 2, 1, 0], count)  # another batch order
    assert all(np.array_equal(a, b) for a, b in zip(batch, again[::-1]))


def test_keyed_unordered_draws_uniform_subsets() -> None:
    fs = FrameSampler("fixed_unordered", num=30)
    n = 4000
    idx = fs.sample_keyed(np.full(n, 90), np.arange(n), np.zeros(n, np.int64))
    assert idx.shape == (n, 30)
    assert all(len(set(row)) == 30 for row in idx.tolist())  # no replacement when long enough
    hits = np.bincount(idx.ravel(), minlength=90)  # each frame chosen with probability 1/3
    assert np.abs(hits / n - 1 / 3).max() < 0.04
    assert np.mean(np.all(np.diff(idx, axis=1) > 0, axis=1)) < 0.01  # in random order, not sorted
    first = np.bincount(idx[:, 0], minlength=90) / n  # the first pick is uniform too
    assert np.abs(first - 1 / 90).max() < 0.012
    short = fs.sample_keyed([7, 1], [3, 3], [0, 1])
    assert set(short[0].tolist()) <= set(range(7)) and short[1].tolist() == [0] * 30


def test_keyed_ordered_windows_match_the_generator_rules() -> None:
    fs = FrameSampler("fixed_ordered", num=10, skip=5)
    idx = fs.sample_keyed(np.full(200, 100), np.arange(200), np.zeros(200, np.int64))
    assert np.all(np.diff(idx, axis=1) > 0) and np.all(idx[:, -1] - idx[:, 0] < 15)
    assert len(set(idx[:, 0].tolist())) > 30  # the window moves
    assert idx[:, 0].max() >= 80  # and reaches the end: starts in 0..85
    tiled = FrameSampler("fixed_ordered", num=10, skip=0).sample_keyed([4] * 10, range(10), [0] * 10)
    assert all((b - a) % 4 == 1 for row in tiled.tolist() for a, b in itertools.pairwise(row))


def test_keyed_all_modes_and_errors() -> None:
    assert [a.tolist() for a in FrameSampler("all_ordered").sample_keyed([3, 2], [0, 0], [0, 1])] == [[0, 1, 2], [0, 1]]
    perm = FrameSampler("all_unordered", max_all=40).sample_keyed([50, 5], [1, 1], [0, 1])
    assert sorted(perm[0].tolist()) == list(range(40)) and sorted(perm[1].tolist()) == list(range(5))
    with pytest.raises(ValueError, match="needs the batch's count"):
        FrameSampler("unfixed_unordered").sample_keyed([10], [0], [0])
    with pytest.raises(ValueError, match="sequence length is 0"):
        FrameSampler("fixed_unordered").sample_keyed([10, 0], [0, 0], [0, 1])
