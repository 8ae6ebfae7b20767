"""Collation of :class:`~gaitforge.data.dataset.GaitSample` lists into a :class:`~gaitforge.data.batch.Batch`."""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC

import numpy as np
import torch
from torch.utils.data import get_worker_info

from gaitforge.data.batch import Batch
from gaitforge.data.dataset import GaitSample

__all__ = ["collate_samples"]


def _join(arrays: list[np.ndarray], pack: bool) -> torch.Tensor:
    """``[B, T, ...]`` stack or ``[1, ΣT, ...]`` concatenation, written once into the output tensor.

    In a DataLoader worker the output lives in shared memory from the start (as torch's ``default_collate`` does),
    which saves the copy that sending the batch to the main process would otherwise make.
    """
    dtype = np.result_type(*arrays)
    first = arrays[0].shape
    shape = (1, sum(a.shape[0] for a in arrays), *first[1:]) if pack else (len(arrays), *first)
    tdtype = torch.from_numpy(np.empty(0, dtype)).dtype
    if get_worker_info() is not None:
        storage = torch.UntypedStorage._new_shared(int(np.prod(shape)) * dtype.itemsize)
        out = torch.empty(0, dtype=tdtype).set_(storage, 0, shape)
    else:
        out = torch.empty(shape, dtype=tdtype)
    if pack:
        np.concatenate(arrays, out=out.numpy()[0])
    else:
        np.stack(arrays, out=out.numpy())
    return out


def collate_samples(samples: SequenceABC[GaitSample], pack: bool | None = None) -> Batch:
    """Stack samples into a batch.

    Equal frame counts give stacked inputs ``[B, T, ...]`` (``seq_lens = None``); different counts (or
    ``pack=True``) give packed inputs ``[1, ΣT, ...]`` with ``seq_lens`` ``[B]`` int64. Labels are int64 ``[B]``.

    Args:
        samples: Non-empty list of samples with the same modalities.
        pack: Force packing (``True``) or stacking (``False``); ``None`` decides from the lengths.
    """
    if not samples:
        raise ValueError("collate_samples: no samples; expected at least one")
    modalities = list(samples[0].inputs)
    lengths = [int(s.inputs[modalities[0]].shape[0]) for s in samples]
    for s in samples:
        if list(s.inputs) != modalities:
            raise ValueError(
                f"collate_samples: sample {s.subject}/{s.condition}/{s.view} has modalities {list(s.inputs)}; "
                f"expected {modalities}"
            )
        for m in modalities[1:]:
            if s.inputs[m].shape[0] != s.inputs[modalities[0]].shape[0]:
                raise ValueError(
                    f"collate_samples: sample {s.subject}/{s.condition}/{s.view}: modality {m!r} has "
                    f"{s.inputs[m].shape[0]} frames; expected {s.inputs[modalities[0]].shape[0]} as {modalities[0]!r}"
                )
    if pack is None:
        pack = len(set(lengths)) > 1
    if not pack and len(set(lengths)) > 1:
        raise ValueError(f"collate_samples: pack=False but frame counts differ: {lengths}")
    inputs = {
        m: _join([s.inputs[m] for s in samples], pack) for m in modalities
    }  # [B, T, ...] | [1, ΣT, ...]
    return Batch(
        inputs=inputs,
        labels=torch.tensor([s.label for s in samples], dtype=torch.int64),
        seq_lens=torch.tensor(lengths, dtype=torch.int64) if pack else None,
        subjects=[s.subject for s in samples],
        conditions=[s.condition for s in samples],
        views=[s.view for s in samples],
    )
