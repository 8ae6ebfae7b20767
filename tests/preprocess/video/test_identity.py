"""Tracks that change appearance are split into one track per person."""

from __future__ import annotations

import numpy as np

from gaitforge.preprocess.video.identity import appearance_profile, split_identity_switches
from gaitforge.preprocess.video.track import TrackRecord

D = 3 * 64  # three bands of 4³ colour bins


def _look(colour: int, rng: np.random.Generator) -> np.ndarray:
    """Three band histograms concentrated on one colour bin, with some spread."""
    f = rng.uniform(0, 0.02, (3, 64)).astype(np.float32)
    f[:, colour] += 3.0
    return (f / f.sum(1, keepdims=True)).reshape(D)


def _record(track_id: int, colours: list[int], seed: int = 0) -> TrackRecord:
    rng = np.random.default_rng(seed)
    n = len(colours)
    boxes = [np.array([10 + 3 * i, 20, 40 + 3 * i, 100], np.float32) for i in range(n)]
    feats: list[np.ndarray | None] = [_look(c, rng) for c in colours]
    feats[3] = None  # a split box has no appearance
    return TrackRecord(track_id, list(range(100, 100 + n)), boxes, [False] * n, feats, confirmed=True)


def test_a_track_that_swaps_people_is_cut_where_the_look_changes() -> None:
    rec = _record(4, [5] * 30 + [40] * 25)
    other = _record(9, [7] * 20, seed=1)
    tentative = TrackRecord(2, [1, 2], [np.zeros(4, np.float32)] * 2, [False] * 2, [None, None], confirmed=False)
    parts = split_identity_switches([tentative, rec, other])
    assert [(p.track_id, parent, s.start, s.stop) for p, parent, s in parts] == [
        (2, 2, 0, 2),
        (4, 4, 0, 30),
        (10, 4, 30, 55),  # the second person gets a new id after the largest one
        (9, 9, 0, 20),
    ]
    second = parts[2][0]
    assert second.frames == list(range(130, 155)) and second.confirmed and len(second.boxes) == 25


def test_a_steady_look_is_not_cut_and_the_profile_dips_at_the_change() -> None:
    assert len(split_identity_switches([_record(1, [5] * 60)])) == 1
    rng = np.random.default_rng(0)
    feats = [_look(5, rng) for _ in range(20)] + [_look(40, rng) for _ in range(20)]
    cuts, sims = appearance_profile(feats, window=8)
    assert cuts[int(np.argmin(sims))] == 20 and sims.min() < 0.3 and sims.max() > 0.9
    assert len(appearance_profile(feats[:10], window=8)[0]) == 0  # too short to judge


def test_three_people_in_one_track_give_three_tracks() -> None:
    parts = split_identity_switches([_record(1, [5] * 20 + [40] * 20 + [60] * 20)])
    assert [(s.start, s.stop) for _, _, s in parts] == [(0, 20), (20, 40), (40, 60)]
