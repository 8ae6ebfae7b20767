"""The scoliosis world: statuses as conditions, a curvature that shows in the silhouette, a store ScoNet reads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.evaluation.posture import trunk_asymmetry
from gaitforge.synth.body import sample_body
from gaitforge.synth.kinematics import simulate_walk
from gaitforge.synth.scoliosis import (
    STATUSES,
    ScoliosisSpec,
    curve_spine,
    generate_scoliosis_sequence,
    get_scoliosis_preset,
    make_scoliosis_world,
    scoliosis_spec,
)
from gaitforge.synth.style import sample_style


def _forced(status: str, severity: float) -> object:
    """The tiny world with every subject in ``status`` at exactly ``severity``."""
    w = get_scoliosis_preset("scoliosis-tiny", seed=3)
    k = STATUSES.index(status)
    bands = tuple((severity, severity) if i == k else (0.0, 0.0) for i in range(3))
    weights = tuple(1.0 if i == k else 0.0 for i in range(3))
    return dataclasses.replace(w, status_bands=bands, status_weights=weights, walk_jitter=0.0)


def test_curvature_moves_the_upper_body_sideways_and_keeps_the_input() -> None:
    rng = np.random.default_rng(0)
    body, style = sample_body(rng, 1.0), sample_style(rng, 1.0)
    skel = simulate_walk(body, style, 8, 25.0, 0.0)
    before = {k: v.copy() for k, v in skel.points.items()}
    world = get_scoliosis_preset("scoliosis-tiny")
    bent = curve_spine(body, skel, ScoliosisSpec("positive", 1.0, 1), world)
    for k, v in skel.points.items():
        np.testing.assert_array_equal(v, before[k])  # the input skeleton is not modified
    left_axis = skel.frames["thorax"][:, :, 1]  # the subject's left, world coordinates
    head_shift = np.einsum("ti,ti->t", bent.points["head"] - skel.points["head"], left_axis)
    assert (head_shift < -0.02).all()  # side +1: the trunk leans to the subject's right
    rise = bent.points["l_shoulder"][:, 2] - bent.points["r_shoulder"][:, 2]
    rise0 = skel.points["l_shoulder"][:, 2] - skel.points["r_shoulder"][:, 2]
    assert (rise - rise0 > 0.05).all()  # the left shoulder rises: the lean's tilt plus the raise
    mirrored = curve_spine(body, skel, ScoliosisSpec("positive", 1.0, -1), world)
    assert (np.einsum("ti,ti->t", mirrored.points["head"] - skel.points["head"], left_axis) > 0.02).all()
    flat = curve_spine(body, skel, ScoliosisSpec("negative", 0.0, 1), world)
    np.testing.assert_array_equal(flat.points["head"], skel.points["head"])


def test_severity_shows_as_trunk_asymmetry_in_the_silhouettes() -> None:
    flat, bent = _forced("negative", 0.0), _forced("positive", 1.0)
    gaps = []
    for subject in range(3):
        a = trunk_asymmetry(generate_scoliosis_sequence(flat, subject, 0).modalities["sil"])
        b = trunk_asymmetry(generate_scoliosis_sequence(bent, subject, 0).modalities["sil"])
        gaps.append(abs(b) - abs(a))
    assert min(gaps) > 0.02, gaps


def test_status_is_the_condition_and_per_subject() -> None:
    w = get_scoliosis_preset("scoliosis", seed=0)
    statuses = [scoliosis_spec(w, i, 0).status for i in range(60)]
    assert set(statuses) == set(STATUSES)
    for i in range(6):
        specs = [scoliosis_spec(w, i, v) for v in range(4)]
        assert len({s.status for s in specs}) == 1 and len({s.side for s in specs}) == 1
        lo, hi = w.status_bands[STATUSES.index(specs[0].status)]
        assert all(lo <= s.severity <= hi for s in specs)
    seq = generate_scoliosis_sequence(get_scoliosis_preset("scoliosis-tiny"), 2, 1)
    assert seq.condition in STATUSES and seq.view == "180"
    assert seq.meta["scoliosis"]["status"] == seq.condition


def test_store_layout_and_determinism(tmp_path: Path) -> None:
    w = get_scoliosis_preset("scoliosis-tiny", seed=1)
    root = make_scoliosis_world(w, tmp_path / "a")
    store = SequenceStore(root)
    assert len(store) == w.n_sequences == 18
    assert set(store.labels("condition")) <= set(STATUSES)
    part = json.loads((root / "partition.json").read_text())
    assert part["TRAIN_SET"] == list(w.base.train_subjects) and part["TEST_SET"] == list(w.base.test_subjects)
    again = generate_scoliosis_sequence(w, 4, 1)
    idx = store.select(subjects={again.subject})
    pos = idx[[store.record(i).view for i in idx].index(again.view)]
    assert store.record(pos).condition == again.condition
    frames = store.frames(pos, "sil", np.arange(int(store.lengths([pos])[0])))
    np.testing.assert_array_equal(frames, again.modalities["sil"])


def test_bad_settings_are_named() -> None:
    w = get_scoliosis_preset("scoliosis-tiny")
    with pytest.raises(ValueError, match="status_bands"):
        dataclasses.replace(w, status_bands=((0.5, 0.2), (0, 1), (0, 1)))
    with pytest.raises(ValueError, match="unknown"):
        get_scoliosis_preset("scoliosis-huge")
