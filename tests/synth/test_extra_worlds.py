"""Extra named worlds (scoliosis, unlabelled) reachable from data.synth.preset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaitforge.config import config_from_dict
from gaitforge.data.store import SequenceStore
from gaitforge.engine.data_setup import resolve_store
from gaitforge.synth.extra_worlds import EXTRA_PRESETS, UNLABELLED_PRESETS, make_extra_world
from gaitforge.synth.presets import PRESETS


def test_unlabelled_world_differs_from_the_labelled_ones(tmp_path: Path) -> None:
    unl = UNLABELLED_PRESETS["unlabelled"]
    assert unl.n_train == unl.n_subjects >= 4 * PRESETS["default"].n_train  # many people, all for training
    assert not set(unl.views) & set(PRESETS["default"].views) and unl.realism is not None
    labelled = PRESETS["realistic"].realism
    assert unl.realism.elevation_deg != labelled.elevation_deg and unl.realism.wardrobe > labelled.wardrobe
    root = make_extra_world("unlabelled-tiny", 4, tmp_path)
    store = SequenceStore(root)
    assert len(store) == UNLABELLED_PRESETS["unlabelled-tiny"].n_sequences
    assert json.loads((root / "partition.json").read_text())["TEST_SET"] == []
    assert make_extra_world("unlabelled-tiny", 4, tmp_path) == root  # made once, then reused


def test_resolve_store_reaches_extra_worlds(tmp_path: Path) -> None:
    assert {"scoliosis", "scoliosis-tiny", "unlabelled", "unlabelled-tiny"} <= set(EXTRA_PRESETS)
    cfg = config_from_dict({"name": "x", "data": {"synth": {"preset": "scoliosis-tiny", "seed": 2, "workers": 1}}})
    root = resolve_store(cfg, workdir=tmp_path, progress=False)
    assert root == tmp_path / "synth-seed2" / "scoliosis-tiny"
    assert set(SequenceStore(root).labels("condition")) <= {"negative", "neutral", "positive"}
    with pytest.raises(ValueError, match="not an extra world"):
        make_extra_world("default", 0, tmp_path)
