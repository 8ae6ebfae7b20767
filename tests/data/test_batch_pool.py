"""SharedBatchPool: workers reuse shared buffers, and never overwrite a batch (or a view of one) still held."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from gaitforge.data.batch_pool import SharedBatchPool

#: Buffers per worker: more than a worker can have in flight (prefetch_factor 2) plus the batch being written, the
#: one the loop holds and one whose release is still on its way; what the loaders give (prefetch_factor + 4).
SLOTS = 6


class _Fill(Dataset):
    """Item ``n`` is ``n``; a batch is the items' values written into a pooled ``[B, 4096]`` buffer."""

    def __len__(self) -> int:
        return 1000

    def __getitem__(self, n: int) -> int:
        return n


def _collate(items: list[int], pool: SharedBatchPool) -> tuple[torch.Tensor, int]:
    storage, slot = pool.take(len(items) * 4096)
    x = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (len(items), 4096))
    x.numpy()[:] = np.array(items, np.uint8)[:, None]
    return pool.lease((x, pool.allocations), slot, [x])


def _loader(pool: SharedBatchPool, batches: int) -> DataLoader:
    order = [[(2 * b + j) % 250 for j in range(2)] for b in range(batches)]
    return DataLoader(_Fill(), batch_sampler=order, collate_fn=partial(_collate, pool=pool), num_workers=2)


def test_buffers_are_reused_once_the_consumer_lets_go() -> None:
    pool = SharedBatchPool(workers=2, slots=SLOTS)
    allocations = []
    for b, (x, fresh) in enumerate(_loader(pool, 40)):
        assert x[:, 0].tolist() == [(2 * b) % 250, (2 * b + 1) % 250]
        allocations.append(fresh)
        del x
    assert max(allocations) <= SLOTS  # per worker: at most its slots, not one buffer per batch (20 each)
    gc.collect()
    assert int(pool.busy.sum()) == 0


def test_batches_and_views_kept_by_the_consumer_are_never_overwritten() -> None:
    pool = SharedBatchPool(workers=2, slots=2)
    kept, views, allocations = [], [], []
    for b, (x, fresh) in enumerate(_loader(pool, 30)):
        allocations.append(fresh)
        if b % 2:
            kept.append((b, x))
        else:
            views.append((b, x[1:, 5:9].numpy()))  # the batch itself is dropped; a numpy view of it stays
        del x
    for b, x in kept:
        assert x[:, 0].tolist() == [(2 * b) % 250, (2 * b + 1) % 250] and bool((x == x[:, :1]).all())
    for b, v in views:
        assert (v == (2 * b + 1) % 250).all()
    assert max(allocations) > 2  # the workers had to allocate beyond their slots
    del kept, views
    gc.collect()
    assert int(pool.busy.sum()) == 0


def test_in_the_main_process_a_buffer_is_reused_only_once_nothing_uses_it() -> None:
    pool = SharedBatchPool(workers=0, slots=2)
    storage, slot = pool.take(100)
    assert slot is None and storage.nbytes() >= 100 and not storage.is_shared()
    x = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (100,))
    batch = {"x": x}
    assert pool.lease(batch, slot, [x]) is batch
    view = x[10:20].numpy()
    del x, batch, storage
    second, _ = pool.take(100)  # the first is still used through the view
    y = torch.empty(0, dtype=torch.uint8).set_(second, 0, (100,))
    assert y.data_ptr() != view.__array_interface__["data"][0] - 10
    del view
    third, _ = pool.take(80)
    assert third.data_ptr() != second.data_ptr() and pool.allocations == 2  # the first one, free again
    del y, second
    assert pool.take(100)[0].data_ptr() in {third.data_ptr(), pool._buffers[1].data_ptr()}
    assert pool.allocations == 2
    with pytest.raises(ValueError, match="slots=0"):
        SharedBatchPool(workers=2, slots=0)


def test_pool_works_with_spawned_workers() -> None:
    pool = SharedBatchPool(workers=1, slots=SLOTS)
    order = [[b, b] for b in range(16)]
    loader = DataLoader(
        _Fill(), batch_sampler=order, collate_fn=partial(_collate, pool=pool), num_workers=1,
        multiprocessing_context="spawn",
    )  # fmt: skip
    allocations = []
    for b, (x, fresh) in enumerate(loader):
        assert x[:, 0].tolist() == [b, b]
        allocations.append(fresh)
        del x
    assert max(allocations) <= SLOTS  # 16 batches


@dataclass
class _Record:
    """A batch shape beyond a tuple: a dataclass holding a dict and a named tuple of tensors."""

    inputs: dict[str, torch.Tensor]
    pair: _Pair
    note: str


class _Pair(NamedTuple):
    a: torch.Tensor
    b: torch.Tensor


def _collate_record(items: list[int], pool: SharedBatchPool, stray: bool) -> _Record:
    storage, slot = pool.take(len(items) * 4096 + 64)
    x = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (len(items), 4096))
    x.numpy()[:] = np.array(items, np.uint8)[:, None]
    n = torch.empty(0, dtype=torch.int64).set_(storage, len(items) * 4096 // 8, (len(items),))
    n.numpy()[:] = items
    listed = [x, n]
    record = _Record({"x": x, "view": x[:, :8]}, _Pair(n, torch.tensor(items)), "ok")
    if not stray:
        listed.append(record.inputs["view"])
    return pool.lease(record, slot, listed)  # stray: a view over the buffer the pool was not told of


@pytest.mark.parametrize("stray", [False, True])
def test_each_buffer_crosses_once_and_later_batches_are_rebuilt_over_it(stray: bool) -> None:
    pool = SharedBatchPool(workers=2, slots=SLOTS)
    arrivals: list[bool] = []
    arrived = pool._arrived

    def count(worker: int, slot: int, buffer_id: int, storage: torch.UntypedStorage | None) -> torch.Tensor:
        arrivals.append(storage is not None)
        return arrived(worker, slot, buffer_id, storage)

    pool._arrived = count  # type: ignore[method-assign]  # the main process's copy; workers never call it
    order = [[(2 * b + j) % 250 for j in range(2)] for b in range(40)]
    loader = DataLoader(
        _Fill(), batch_sampler=order, collate_fn=partial(_collate_record, pool=pool, stray=stray), num_workers=2
    )
    kept = []
    for b, rec in enumerate(loader):
        want = [(2 * b) % 250, (2 * b + 1) % 250]
        assert isinstance(rec, _Record) and isinstance(rec.pair, _Pair) and rec.note == "ok"
        assert rec.inputs["x"][:, 0].tolist() == want and rec.inputs["view"].shape == (2, 8)
        assert rec.pair.a.tolist() == want and rec.pair.b.tolist() == want
        if b % 5 == 0:
            kept.append((want, rec.inputs["view"]))  # a view kept: its buffer must not be written again
        del rec
    for want, view in kept:
        assert view[:, 0].tolist() == [w % 256 for w in want] and bool((view == view[:, :1]).all())
    if stray:  # not every tensor over the buffer listed: every batch went the plain way
        assert arrivals == []
    else:
        assert 0 < sum(arrivals) <= 2 * SLOTS + len(kept)  # each buffer's storage sent once
        assert arrivals.count(False) >= 40 - 2 * SLOTS - len(kept)  # the rest rebuilt over kept mappings
    del kept, view
    gc.collect()
    assert int(pool.busy.sum()) == 0


def test_a_batch_of_a_buffer_not_seen_is_refused() -> None:
    pool = SharedBatchPool(workers=1, slots=1)
    with pytest.raises(RuntimeError, match="arrived before that buffer did"):
        pool._arrived(0, 0, 12345, None)
