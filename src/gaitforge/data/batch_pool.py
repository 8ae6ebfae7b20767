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

Each buffer crosses to the main process once. torch sends a shared storage as a file descriptor, over a new
connection to the sending worker per storage (a handshake that waits for the worker's sharing thread), and the main
process maps it again every time. The pool sends a buffer's storage with the first batch written into it and keeps
that mapping in the main process; later batches in the same buffer travel as the batch without its tensors plus
their offsets, shapes and strides, and are rebuilt over the kept mapping. Each rebuilt batch gets a storage object of
its own over that memory, whose finaliser frees the slot. The main process so keeps at most ``workers × slots``
segments mapped (a slot's new segment replaces its old one), whatever the number of batches.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable
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
        self._lock = threading.Lock()
        self._reset()
        _POOLS[self.token] = self

    def _reset(self) -> None:
        self._buffers: dict[int, torch.UntypedStorage] = {}  # this worker's, created on first use
        self._ids: dict[int, int] = {}  # slot → id of its current buffer
        self._sent: set[int] = set()  # buffer ids whose storage has gone to the main process
        self._mapped: dict[tuple[int, int], tuple[int, torch.Tensor]] = {}  # main: (worker, slot) → (id, bytes)
        self.allocations = 0  # shared buffers this process created (a measure of reuse)

    def __getstate__(self) -> dict[str, Any]:
        return {"workers": self.workers, "slots": self.slots, "busy": self.busy, "token": self.token}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._reset()

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
                self._ids[slot] = random.getrandbits(62)
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
        tensors = list(tensors)
        buffer_id, storage = self._ids[slot], self._buffers[slot]
        if all(t.untyped_storage().data_ptr() == storage.data_ptr() for t in tensors):
            where, stray = {id(t): k for k, t in enumerate(tensors)}, []

            def leaf(x: Any) -> _Placeholder | None:
                if id(x) in where:
                    return _Placeholder(where[id(x)])
                if isinstance(x, torch.Tensor) and x.untyped_storage().data_ptr() == storage.data_ptr():
                    stray.append(x)  # over the buffer but not listed: the batch goes the plain way
                return None

            skeleton, found = _swap(batch, leaf)
            if found == len(tensors) and not stray:  # every tensor over the buffer replaced by a placeholder
                first = buffer_id not in self._sent
                self._sent.add(buffer_id)
                specs = [(t.dtype, t.storage_offset(), tuple(t.shape), t.stride()) for t in tensors]
                return _Rebuilt(skeleton, specs, storage if first else None, self.token, info.id, slot, buffer_id)
        return _Leased(batch, tensors, self.token, info.id % self.busy.shape[0], slot)

    def _arrived(self, worker: int, slot: int, buffer_id: int, storage: torch.UntypedStorage | None) -> torch.Tensor:
        """Main process: the uint8 bytes of buffer ``buffer_id`` of ``(worker, slot)``, kept from its first batch."""
        with self._lock:
            if storage is not None:
                whole = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (storage.nbytes(),))
                self._mapped[worker, slot] = (buffer_id, whole)  # replaces that slot's previous buffer, if any
            kept = self._mapped.get((worker, slot))
        if kept is None or kept[0] != buffer_id:
            raise RuntimeError(
                f"SharedBatchPool: a batch in buffer {buffer_id} of worker {worker} slot {slot} arrived before that "
                "buffer did (batches of a pool must all go to the process that created the pool)"
            )
        return kept[1]


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


class _Placeholder:
    """Where tensor ``k`` of a batch sent without its tensors goes back."""

    def __init__(self, k: int) -> None:
        self.k = k


#: types that never hold a tensor: lists of them are not walked element by element
_ATOMS = frozenset({str, int, float, bool, bytes, type(None)})


def _swap(obj: Any, leaf: Callable[[Any], Any]) -> tuple[Any, int]:
    """``obj`` with every tensor or placeholder ``x`` for which ``leaf(x)`` is not None replaced by ``leaf(x)``,
    through dicts, lists, tuples and dataclass instances (copied, their ``__init__`` not run again); and the number
    replaced. Other objects are left as they are."""
    if isinstance(obj, (torch.Tensor, _Placeholder)):
        new = leaf(obj)
        return (obj, 0) if new is None else (new, 1)
    if isinstance(obj, dict):
        pairs = [(key, _swap(v, leaf)) for key, v in obj.items()]
        return type(obj)((key, v) for key, (v, _) in pairs), sum(n for _, (_, n) in pairs)
    if isinstance(obj, (list, tuple)):
        if all(type(v) in _ATOMS for v in obj):  # e.g. a batch's subject names: nothing to walk
            return obj, 0
        parts = [_swap(v, leaf) for v in obj]
        values = [v for v, _ in parts]
        made = type(obj)(*values) if hasattr(obj, "_fields") else type(obj)(values)
        return made, sum(n for _, n in parts)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        made, total = copy.copy(obj), 0
        for f in dataclasses.fields(obj):
            value, n = _swap(getattr(obj, f.name), leaf)
            if n:
                object.__setattr__(made, f.name, value)
                total += n
        return (made if total else obj), total
    return obj, 0


class _Rebuilt:
    """A batch on its way from a worker without its tensors (they are in pool buffer ``buffer_id``); unpickled in
    the main process it becomes the batch, its tensors over the kept buffer."""

    def __init__(
        self, skeleton: Any, specs: list[Any], storage: Any, token: str, worker: int, slot: int, buffer_id: int
    ) -> None:
        self.args = (skeleton, specs, storage, token, worker, slot, buffer_id)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuild, self.args


def _rebuild(
    skeleton: Any,
    specs: list[tuple[torch.dtype, int, tuple[int, ...], tuple[int, ...]]],
    storage: torch.UntypedStorage | None,
    token: str,
    worker: int,
    slot: int,
    buffer_id: int,
) -> Any:
    pool = _POOLS.get(token)
    if pool is None:
        raise RuntimeError(
            f"SharedBatchPool: a batch of pool {token} arrived in a process that did not create it (or after the pool "
            "was deleted); batches of a pool must go to the process that created it"
        )
    whole = pool._arrived(worker, slot, buffer_id, storage)
    alias = torch.from_numpy(whole.numpy()).untyped_storage()  # a storage object of this batch's own
    busy = pool.busy
    weakref.finalize(alias, busy.__setitem__, (worker % busy.shape[0], slot), 0)
    tensors = [torch.empty(0, dtype=dtype).set_(alias, offset, shape, stride) for dtype, offset, shape, stride in specs]
    return _swap(skeleton, lambda x: tensors[x.k] if isinstance(x, _Placeholder) else None)[0]
