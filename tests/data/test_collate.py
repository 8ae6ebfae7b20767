"""Collation into Batch: stacked vs packed, seq_lens, labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.data.collate import collate_samples
from gaitforge.data.dataset import GaitSample


def _sample(t: int, label: int, pose: bool = False, fill: int = 0) -> GaitSample:
    inputs = {"sil": np.full((t, 8, 6), fill, np.float32)}
    if pose:
        inputs["pose"] = np.zeros((t, 17, 3), np.float32)
    return GaitSample(inputs, label, f"{label:03d}", "nm-01", "090", label)


def test_equal_lengths_stack() -> None:
    b = collate_samples([_sample(5, 1, True), _sample(5, 2, True)])
    assert isinstance(b, Batch) and not b.packed
    assert b.inputs["sil"].shape == (2, 5, 8, 6) and b.inputs["pose"].shape == (2, 5, 17, 3)
    assert b.labels.dtype == torch.int64 and b.labels.tolist() == [1, 2]
    assert b.subjects == ["001", "002"] and b.views == ["090", "090"] and b.size == 2


def test_different_lengths_pack() -> None:
    b = collate_samples([_sample(3, 0, fill=1), _sample(5, 1, fill=2), _sample(2, 2, fill=3)])
    assert b.packed and b.seq_lens.dtype == torch.int64 and b.seq_lens.tolist() == [3, 5, 2]
    sil = b.inputs["sil"]
    assert sil.shape == (1, 10, 8, 6)
    assert sil[0, :3].eq(1).all() and sil[0, 3:8].eq(2).all() and sil[0, 8:].eq(3).all()


def test_forced_packing_and_errors() -> None:
    b = collate_samples([_sample(4, 0), _sample(4, 1)], pack=True)
    assert b.inputs["sil"].shape == (1, 8, 8, 6) and b.seq_lens.tolist() == [4, 4]
    with pytest.raises(ValueError, match=r"pack=False but frame counts differ: \[4, 2\]"):
        collate_samples([_sample(4, 0), _sample(2, 1)], pack=False)
    with pytest.raises(ValueError, match="no samples"):
        collate_samples([])
    with pytest.raises(ValueError, match=r"has modalities \['sil', 'pose'\]; expected \['sil'\]"):
        collate_samples([_sample(4, 0), _sample(4, 1, pose=True)])
