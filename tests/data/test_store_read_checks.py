"""Corrupted shard bytes stop training and evaluation reads (not only ``store verify``), naming file and sequence."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch

from gaitforge.data.dataset import GaitDataset
from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.store import SequenceStore, StoreFormatError
from gaitforge.engine.data_setup import build_train_data
from gaitforge.engine.evaluate import embed_sequences
from gaitforge.models import create_model
from tests.conftest import micro_config


def _flip(store: SequenceStore, row: int, at: float = 0.5) -> str:
    """Flip one byte of row ``row``'s silhouettes (``at``: where in the array); returns the sequence key."""
    entry = store.record(row).arrays["sil"]
    path = store.root / entry.file
    data = bytearray(path.read_bytes())
    data[entry.offset + int(entry.nbytes * at)] ^= 0xFF
    path.write_bytes(bytes(data))
    rec = store.record(row)
    return f"{rec.subject}/{rec.condition}/{rec.view}"


@pytest.fixture
def world_copy(micro_world: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(micro_world, tmp_path / "world"))


def test_reading_some_frames_checks_the_whole_array(world_copy: Path) -> None:
    key = _flip(SequenceStore(world_copy), 3, at=0.95)  # in the last frame; one sampled frame reads less
    store = SequenceStore(world_copy)
    one_frame = FrameSampler("fixed_ordered", num=1)
    unchecked = SequenceStore(world_copy, verify_reads=False)
    assert unchecked.frames(3, "sil", [0]).shape[0] == 1  # an unchecked read of frame 0 sees nothing wrong
    with pytest.raises(StoreFormatError, match=rf"sil\.\d+\.bin: .*sequence '{re.escape(key)}'"):
        GaitDataset(store, indices=[3], frame_sampler=one_frame)[0]


def test_training_batches_stop_at_a_corrupted_sequence(world_copy: Path) -> None:
    cfg = micro_config(world_copy)
    data = build_train_data(cfg, progress=False)
    for row in data.indices:
        _flip(data.store, row)
    fresh = build_train_data(cfg, progress=False)
    with pytest.raises(StoreFormatError, match=r"sil\.\d+\.bin: bytes \d+\.\.\d+ do not match .*sequence '\w+/"):
        next(iter(fresh.batches()))


def test_evaluation_embedding_stops_naming_file_and_sequence(world_copy: Path) -> None:
    cfg = micro_config(world_copy)
    store = SequenceStore(world_copy)
    key = _flip(store, len(store) - 1)
    torch.manual_seed(0)
    model = create_model("gaitbase", channels=(4, 8, 8, 16), embed_dim=16, bins=[4], num_classes=3)
    with pytest.raises(StoreFormatError, match=rf"sil\.\d+\.bin: .*sequence '{re.escape(key)}'"):
        embed_sequences(model, SequenceStore(world_copy), list(range(len(store))), cfg, progress=False)
