"""Collation of :class:`~gaitforge.data.dataset.GaitSample` lists into a :class:`~gaitforge.data.batch.Batch`."""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC

import numpy as np
import torch
from torch.utils.data import get_worker_info

from gaitforge.data.batch import Batch
from gaitforge.data.batch_pool import SharedBatchPool, shared_buffer
from gaitforge.data.dataset import GaitSample
from gaitforge.data.ragged import RaggedFrames

__all__ = ["collate_samples"]


def _outputs(
    groups: dict[str, list[np.ndarray]], pack: bool, pool: SharedBatchPool | None, extra: dict[str, int]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], int | None]:
    """Empty output tensors, ``[B, T, ...]`` stacks or ``[1, ΣT, ...]`` concatenations, one per modality, and
    int64 ``[n]`` vectors named by ``extra`` (labels, lengths), all over one storage, and the pool slot it belongs
    to (a batch then crosses from a worker as one buffer).

    In a DataLoader worker the storage is shared memory from the start (as torch's ``default_collate`` does), which
    saves the copy that sending the batch to the main process would otherwise make; with a ``pool`` it is one of the
    worker's reusable buffers (:class:`~gaitforge.data.batch_pool.SharedBatchPool`).
    """
    shapes: list[tuple[str, np.dtype, tuple[int, ...]]] = []
    for m, arrays in groups.items():
        first = arrays[0].shape
        shape = (1, sum(a.shape[0] for a in arrays), *first[1:]) if pack else (len(arrays), *first)
        shapes.append((m, np.result_type(*arrays), shape))
    shapes += [(name, np.dtype(np.int64), (n,)) for name, n in extra.items()]
    specs, total = {}, 0
    for name, dtype, shape in shapes:
        specs[name] = (torch.from_numpy(np.empty(0, dtype)).dtype, shape, total // dtype.itemsize)
        total += -(-int(np.prod(shape)) * dtype.itemsize // 64) * 64  # 64-byte aligned parts
    if pool is not None:
        storage, slot = pool.take(total)
    else:
        storage, slot = (shared_buffer(total) if get_worker_info() is not None else torch.UntypedStorage(total)), None
    out = {}
    for name, (tdtype, shape, start) in specs.items():  # start: in elements of the part's dtype
        out[name] = torch.empty(0, dtype=tdtype).set_(storage, start, shape)
    return {m: out.pop(m) for m in groups}, out, slot


def collate_samples(
    samples: SequenceABC[GaitSample], pack: bool | None = None, pool: SharedBatchPool | None = None
) -> Batch:
    """Stack samples into a batch.

    Equal frame counts give stacked inputs ``[B, T, ...]`` (``seq_lens = None``); different counts (or
    ``pack=True``) give packed inputs ``[1, ΣT, ...]`` with ``seq_lens`` ``[B]`` int64. Labels are int64 ``[B]``.

    Args:
        samples: Non-empty list of samples with the same modalities.
        pack: Force packing (``True``) or stacking (``False``); ``None`` decides from the lengths.
        pool: Reusable shared-memory buffers for the inputs when collating in DataLoader workers (the loaders pass
            one; see :class:`~gaitforge.data.batch_pool.SharedBatchPool`).
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
    ragged = [m for m in modalities if isinstance(samples[0].inputs[m], RaggedFrames)]
    if ragged:
        raise ValueError(
            f"collate_samples: modality {ragged[0]!r} is ragged (frames of varying size); give it a fixed size per "
            "frame first, e.g. the transform {'name': 'points_fixed', 'num_points': 1024}"
        )
    if pack is None:
        pack = len(set(lengths)) > 1
    if not pack and len(set(lengths)) > 1:
        raise ValueError(f"collate_samples: pack=False but frame counts differ: {lengths}")
    groups = {m: [s.inputs[m] for s in samples] for m in modalities}
    extra = {"labels": len(samples), **({"seq_lens": len(samples)} if pack else {})}
    inputs, vectors, slot = _outputs(groups, pack, pool, extra)  # [B, T, ...] | [1, ΣT, ...]; int64 [B]
    for m, arrays in groups.items():
        if pack:
            np.concatenate(arrays, out=inputs[m].numpy()[0])
        else:
            np.stack(arrays, out=inputs[m].numpy())
    batch = Batch(
        inputs=inputs,
        labels=vectors["labels"],
        seq_lens=vectors.get("seq_lens"),
        subjects=[s.subject for s in samples],
        conditions=[s.condition for s in samples],
        views=[s.view for s in samples],
    )
    vectors["labels"].numpy()[:] = [s.label for s in samples]
    if pack:
        vectors["seq_lens"].numpy()[:] = lengths
    return batch if pool is None else pool.lease(batch, slot, [*inputs.values(), *vectors.values()])
