"""Reusable shared-memory batch buffers for DataLoader workers.

A DataLoader worker hands a batch to the main process through shared memory. torch's default (and a plain
``collate``) creates a new shared-memory segment per batch: a file in ``/dev/shm``, a mapping in both processes, and a
page fault per 4 KiB page on first write. For uint8 silhouette batches (``32 × 30 × 64 × 44`` = 2.7 MB) that costs
about as much as reading and decoding the batch: on a 2-core machine one or two workers delivered at most
13,000-18,000 sequences/s with nothing to read, and 60,000 from this pool (``benchmarks/bench_batch_transfer.py``).

:class:`SharedBatchPool` keeps a few segments per worker and writes batches into them again. A segment is reused only
once the main process has let go of every tensor over it: the batch arrives in the main process with a finaliser on
each of its storages (torch keeps one Python object per storage, alive as long as any tensor or view over it), and
the last one to go marks the segment free in a small shared table. A worker that finds none of its segments free
allocates a new one, as if there were no pool, so a consumer that keeps batches (or views of them) never sees them
overwritten; it only loses the saving.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils.data import get_worker_info

__all__ = ["SharedBatchPool", "shared_buffer"]

#: pools created in this process, by token: a batch arriving from a worker finds its pool's table here
_POOLS: weakref.WeakValueDictionary[str, SharedBatchPool] = weakref.WeakValueDictionary()


def shared_buffer(nbytes: int) -> torch.UntypedStorage:
    """A new shared-memory storage of ``nbytes`` bytes (what a worker sends without a copy)."""
    return torch.UntypedStorage._new_shared(max(int(nbytes), 1))


class SharedBatchPool:
    """Reusable shared-memory buffers, ``slots`` per DataLoader worker.

    Create it in the main process before the DataLoader starts its workers, and hand it to the collate function.
    In a worker, :meth:`take` gives a free buffer of at least the asked size and :meth:`lease` wraps the finished
    batch for sending. In the main process (``num_workers=0``) :meth:`take` reuses a buffer of the pool that no
    tensor uses any more (the whole batch and every view of it are gone), in plain memory, and :meth:`lease`
    returns the batch as it is. Either way a fresh buffer does not have to be page-faulted in for every batch.

    Args:
        workers: DataLoader workers (``num_workers``).
        slots: Buffers per worker. It should exceed the batches a worker can have in flight (``prefetch_factor``)
            plus those the consumer holds; beyond that a worker allocates fresh buffers (correct, only slower).
    """

    def __init__(self, workers: int, slots: int = 6) -> None:
        if workers < 0 or slots < 1:
            raise ValueError(f"SharedBatchPool: workers={workers}, slots={slots}; expected workers >= 0, slots >= 1")
        self.workers, self.slots = workers, slots
        self.busy = torch.zeros((max(workers, 1), slots), dtype=torch.uint8).share_memory_()
        self.token = uuid.uuid4().hex
        self._buffers: dict[int, torch.UntypedStorage] = {}  # this worker's, created on first use
        self._lock = threading.Lock()
        self.allocations = 0  # shared buffers this process created (a measure of reuse)
        _POOLS[self.token] = self

    def __getstate__(self) -> dict[str, Any]:
        return {"workers": self.workers, "slots": self.slots, "busy": self.busy, "token": self.token}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._buffers, self._lock, self.allocations = {}, threading.Lock(), 0

    def take(self, nbytes: int) -> tuple[torch.UntypedStorage, int | None]:
        """A storage of at least ``nbytes`` bytes and its slot (``None``: not leased; in the main process, or every
        slot of this worker still held by the main process). Make the batch's tensors over it at once: in the main
        process a buffer counts as in use while a tensor over it exists."""
        info = get_worker_info()
        if info is None:
            return self._take_here(nbytes), None
        row = self.busy[info.id % self.busy.shape[0]]
        with self._lock:
            free = [s for s in range(self.slots) if int(row[s]) == 0]
            if not free:
                self.allocations += 1
                return shared_buffer(nbytes), None
            # a free slot already large enough, else the first free one (grown)
            fits = [s for s in free if s in self._buffers and self._buffers[s].nbytes() >= nbytes]
            slot = fits[0] if fits else free[0]
            if slot not in fits:
                self.allocations += 1
                old = self._buffers.get(slot)
                self._buffers[slot] = shared_buffer(max(int(nbytes), int(1.25 * old.nbytes()) if old else 0))
            row[slot] = 1
            return self._buffers[slot], slot

    def _take_here(self, nbytes: int) -> torch.UntypedStorage:
        """In the main process: a buffer of this pool that no tensor uses any more (its only holder is the pool),
        else a new one (kept for reuse while the pool has fewer than ``slots``)."""
        with self._lock:
            for storage in self._buffers.values():
                if storage.nbytes() >= nbytes and _only_held_here(storage):
                    return storage
            storage = torch.UntypedStorage(max(int(nbytes), 1))
            self.allocations += 1
            if len(self._buffers) < self.slots:
                self._buffers[len(self._buffers)] = storage
            else:  # every buffer in use, or too small: replace the smallest free one, if any
                free = [k for k, b in self._buffers.items() if _only_held_here(b)]
                if free:
                    self._buffers[min(free, key=lambda k: self._buffers[k].nbytes())] = storage
            return storage

    def lease(self, batch: Any, slot: int | None, tensors: Iterable[torch.Tensor]) -> Any:
        """``batch`` ready to send: in the main process it arrives as itself, and ``slot`` is marked free when the
        last of ``tensors`` (the ones over the slot's storage), and every view of them, is gone."""
        info = get_worker_info()
        if slot is None or info is None:
            return batch
        return _Leased(batch, list(tensors), self.token, info.id % self.busy.shape[0], slot)


def _only_held_here(storage: torch.UntypedStorage) -> bool:
    """Whether nothing but its own Python object refers to ``storage`` (no tensor, no view). False when torch
    cannot tell, so that a buffer is then never reused."""
    count = getattr(torch._C, "_storage_Use_Count", None)
    return count is not None and count(storage._cdata) == 1


class _Leased:
    """A batch on its way from a worker; unpickled in the main process it becomes the batch itself."""

    def __init__(self, batch: Any, tensors: list[torch.Tensor], token: str, worker: int, slot: int) -> None:
        self.batch, self.tensors, self.token, self.worker, self.slot = batch, tensors, token, worker, slot

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _arrive, (self.batch, self.tensors, self.token, self.worker, self.slot)


def _arrive(batch: Any, tensors: list[torch.Tensor], token: str, worker: int, slot: int) -> Any:
    pool = _POOLS.get(token)
    if pool is None:  # not the process that made the pool: nothing to release
        return batch
    busy = pool.busy
    storages = {id(s): s for s in (t.untyped_storage() for t in tensors)}
    left = [len(storages)]
    lock = threading.Lock()

    def release() -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                busy[worker, slot] = 0

    for storage in storages.values():
        weakref.finalize(storage, release)
    return batch
