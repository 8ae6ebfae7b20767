"""SharedBatchPool: workers reuse shared buffers, and never overwrite a batch (or a view of one) still held."""

from __future__ import annotations

import gc
from functools import partial

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
