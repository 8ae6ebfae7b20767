"""Whole worlds: ordered iteration, worker-count independence, writing a store with its partition."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.synth import generate_sequence, get_preset, iter_world, make_world, partition

SMALL = get_preset(
    "tiny",
    seed=7,
    n_subjects=3,
    n_train=2,
    frames=6,
    conditions=("nm-01", "cl-01"),
    views=("000", "090", "162"),
)


def test_iter_world_order_and_worker_independence() -> None:
    one = list(iter_world(SMALL, workers=1))
    two = list(iter_world(SMALL, workers=2, progress=True))
    keys = [s.key for s in one]
    assert keys == [f"{s}/{c}/{v}" for s in SMALL.subjects for c in SMALL.conditions for v in SMALL.views]
    assert keys == [s.key for s in two]
    for a, b in zip(one, two, strict=True):
        for k in a.modalities:
            assert a.modalities[k].tobytes() == b.modalities[k].tobytes()
        assert a.meta == b.meta
    single = generate_sequence(SMALL, 1, "cl-01", "090")
    assert np.array_equal(single.modalities["sil"], one[keys.index("002/cl-01/090")].modalities["sil"])
    with pytest.raises(ValueError, match="workers must be >= 1"):
        next(iter_world(SMALL, workers=0))


def test_make_world_writes_a_store_and_partition(tmp_path: Path) -> None:
    root = make_world(SMALL, tmp_path, workers=1)
    assert root == tmp_path / SMALL.name
    store = SequenceStore(root, verify=True)
    assert len(store) == SMALL.n_sequences
    seq = store.get(store.index_of("003/nm-01/090"))
    ref = generate_sequence(SMALL, 2, "nm-01", "090")
    assert np.array_equal(seq.modalities["sil"], ref.modalities["sil"])
    assert np.array_equal(seq.modalities["pose"], ref.modalities["pose"])
    part = json.loads((root / "partition.json").read_text())
    assert part == partition(SMALL) == {"TRAIN_SET": ["001", "002"], "TEST_SET": ["003"]}
    assert json.loads((root / "world.json").read_text())["seed"] == 7
    with pytest.raises(FileExistsError):
        make_world(SMALL, tmp_path)
    assert make_world(SMALL, tmp_path, overwrite=True) == root
