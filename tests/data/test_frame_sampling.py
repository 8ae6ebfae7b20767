"""Frame sampling modes: counts, ordering, windows, short sequences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gaitforge.data.frame_sampling import FRAME_SAMPLING_MODES, FrameSampler


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
