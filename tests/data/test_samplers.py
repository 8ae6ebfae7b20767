"""TripletSampler, InferenceSampler and ReadAhead invariants."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from gaitforge.data.samplers import InferenceSampler, ReadAhead, SampleKey, TripletSampler


def _labels(n_subjects: int = 10, per: int = 6) -> list[str]:
    return [f"{s:03d}" for s in range(n_subjects) for _ in range(per)]


def test_batches_are_p_distinct_subjects_times_k() -> None:
    labels = _labels()
    sampler = TripletSampler(labels, p=4, k=3, seed=1)
    for batch in itertools.islice(sampler, 50):
        assert len(batch) == 12 and all(isinstance(k, SampleKey) for k in batch)
        subjects = [labels[k.index] for k in batch]
        assert Counter(subjects) == {s: 3 for s in set(subjects)} and len(set(subjects)) == 4
        # grouped by subject, K in a row
        assert all(len(set(subjects[i : i + 3])) == 1 for i in range(0, 12, 3))
        assert len({k.index for k in batch}) == 12  # enough sequences: no repeats
        assert len({k.seed for k in batch}) == 1 and [k.slot for k in batch] == list(range(12))


def test_with_replacement_when_fewer_sequences_than_k() -> None:
    labels = ["a", "b", "b", "c", "c", "c"]
    sampler = TripletSampler(labels, p=3, k=4, seed=0)
    for batch in itertools.islice(sampler, 10):
        subjects = [labels[k.index] for k in batch]
        assert Counter(subjects) == {"a": 4, "b": 4, "c": 4}
        assert {k.index for k in batch if labels[k.index] == "a"} == {0}


def test_deterministic_and_resumable() -> None:
    labels = _labels()
    a = list(itertools.islice(TripletSampler(labels, 4, 2, seed=7), 30))
    b = list(itertools.islice(TripletSampler(labels, 4, 2, seed=7), 30))
    assert a == b
    resumed = list(itertools.islice(TripletSampler(labels, 4, 2, seed=7, start_iteration=17), 13))
    assert resumed == a[17:]
    other = list(itertools.islice(TripletSampler(labels, 4, 2, seed=8), 30))
    assert other != a


def test_state_dict_round_trip() -> None:
    labels = _labels()
    s = TripletSampler(labels, 4, 2, seed=3)
    first = list(itertools.islice(s, 10))
    state = s.state_dict(iteration=6)
    s2 = TripletSampler(labels, 4, 2, seed=3)
    s2.load_state_dict(state)
    assert list(itertools.islice(s2, 4)) == first[6:10]
    with pytest.raises(ValueError, match="field 'seed' is 3; expected 4"):
        TripletSampler(labels, 4, 2, seed=4).load_state_dict(state)


def test_epoch_sized() -> None:
    labels = _labels()
    s = TripletSampler(labels, 2, 2, seed=0, num_batches=5)
    e0 = list(s)
    assert len(e0) == len(s) == 5
    s.set_epoch(1)
    e1 = list(s)
    assert len(e1) == 5 and e1 != e0
    infinite = list(itertools.islice(TripletSampler(labels, 2, 2, seed=0), 10))
    assert e0 + e1 == infinite
    resumed = TripletSampler(labels, 2, 2, seed=0, num_batches=5, start_iteration=7)
    resumed.set_epoch(1)
    assert list(resumed) == e1[2:]
    with pytest.raises(TypeError, match="infinite"):
        len(TripletSampler(labels, 2, 2))


def test_ddp_ranks_split_the_global_batch() -> None:
    labels = _labels()
    full = TripletSampler(labels, 4, 2, seed=5).batch(3)
    parts = [TripletSampler(labels, 4, 2, seed=5, rank=r, world_size=2).batch(3) for r in range(2)]
    assert parts[0] + parts[1] == full
    assert {labels[key.index] for key in parts[0]}.isdisjoint({labels[key.index] for key in parts[1]})  # whole subjects


@pytest.mark.parametrize(("p", "k", "world_size"), [(3, 2, 2), (3, 2, 3), (5, 4, 4), (2, 3, 6)])
def test_ddp_share_of_the_global_batch_any_split(p: int, k: int, world_size: int) -> None:
    """world_size × local share = the one-process batch, for every iteration (resume included), p or k split."""
    labels = _labels()
    for it in (0, 7, 123):
        full = TripletSampler(labels, p, k, seed=11).batch(it)
        ranks = range(world_size)
        parts = [TripletSampler(labels, p, k, seed=11, rank=r, world_size=world_size).batch(it) for r in ranks]
        assert all(len(part) == p * k // world_size for part in parts)
        assert [key for part in parts for key in part] == full
    resumed = TripletSampler(labels, p, k, seed=11, rank=1, world_size=world_size, start_iteration=7)
    assert next(iter(resumed)) == TripletSampler(labels, p, k, seed=11, rank=1, world_size=world_size).batch(7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 11, "k": 2}, "has 10 subjects; expected at least p=11"),
        ({"p": 0, "k": 2}, "p=0, k=2"),
        ({"p": 3, "k": 3, "world_size": 2}, r"global batch p\*k = 3\*3 = 9 does not divide by world_size=2"),
        ({"p": 4, "k": 2, "rank": 2, "world_size": 2}, "expected 0 <= rank < world_size"),
    ],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TripletSampler(_labels(), **kwargs)


def test_inference_sampler_ordered_no_drop() -> None:
    assert list(InferenceSampler(10, 4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(InferenceSampler(10, 4)) == 3
    ranks = [list(InferenceSampler(10, 3, rank=r, world_size=3)) for r in range(3)]
    flat = [i for batches in ranks for b in batches for i in b]
    assert flat == list(range(10))
    assert list(InferenceSampler(0, 4)) == []
    with pytest.raises(ValueError, match="batch_size is 0"):
        InferenceSampler(5, 0)


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_read_ahead_announces_batches_before_they_are_taken(depth: int) -> None:
    inner = InferenceSampler(10, 2)
    events: list[tuple[str, list[int]]] = []
    wrapped = ReadAhead(inner, lambda b: events.append(("hint", b)), depth)
    for batch in wrapped:
        events.append(("take", batch))
    taken = [b for kind, b in events if kind == "take"]
    assert taken == list(inner) and len(wrapped) == len(inner) == 5
    hints = [b for kind, b in events if kind == "hint"]
    assert hints == ([] if depth == 0 else taken)  # each batch announced once
    for n, batch in enumerate(taken):
        if depth:
            hinted_at = events.index(("hint", batch))
            taken_at = events.index(("take", batch))
            took_before = sum(kind == "take" for kind, _ in events[:hinted_at])
            assert hinted_at < taken_at and took_before == max(0, n - depth)  # announced depth batches ahead


def test_read_ahead_passes_the_sampler_through() -> None:
    inner = TripletSampler(_labels(), 4, 2, seed=3, num_batches=5)
    wrapped = ReadAhead(inner, lambda b: None)
    assert wrapped.state_dict() == inner.state_dict() and wrapped.p == 4
    assert [list(b) for b in wrapped] == [list(b) for b in inner]
    with pytest.raises(AttributeError):
        wrapped.no_such_attribute  # noqa: B018
    with pytest.raises(ValueError, match="depth is -1"):
        ReadAhead(inner, lambda b: None, -1)
