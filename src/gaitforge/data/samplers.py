"""Batch samplers: P×K triplet batches for training and ordered batches for inference.

The P×K scheme (P identities, K sequences each) is the batch-hard triplet setting of Hermans et al., "In Defense of
the Triplet Loss for Person Re-Identification" (2017), used for gait since GaitSet (Chao et al., AAAI 2019).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from collections.abc import Sequence as SequenceABC
from typing import Any, NamedTuple

import numpy as np

__all__ = ["InferenceSampler", "ReadAhead", "SampleKey", "TripletSampler"]


class SampleKey(NamedTuple):
    """What a batch sampler hands the dataset for one sample.

    Attributes:
        index: Position in the dataset.
        seed: The batch's seed (frame sampling and random transforms derive from it).
        slot: Position of the sample within its (global) batch.
    """

    index: int
    seed: int
    slot: int


class TripletSampler:
    """P×K batches: ``p`` distinct subjects, ``k`` sequences each (with replacement when a subject has fewer).

    Batch ``n`` depends only on ``(seed, n)``, so resuming at iteration ``n`` reproduces the following batches
    exactly, for any number of DataLoader workers (the frame choices derive from the keys' seeds too).

    Batches are grouped by subject: ``[s1]*k + [s2]*k + ...``. Under DDP every rank draws the same global batch
    (``p*k`` samples, from ``(seed, n)`` alone) and keeps its contiguous share of ``p*k / world_size`` samples, so the
    ranks together see exactly the batch one process would, and resume stays exact for any world size. ``p*k`` must
    be divisible by ``world_size``. When ``p`` is too, every rank holds whole subjects; otherwise a subject may be
    split between ranks, which is right when the loss sees the gathered global batch (the trainer's default,
    ``train.global_loss``) and wrong for a loss computed per rank.

    Args:
        labels: Subject (or label) of each dataset position.
        p: Subjects per batch.
        k: Sequences per subject.
        seed: Base seed.
        num_batches: Batches per epoch; ``None`` for an infinite sampler.
        start_iteration: First global iteration to produce (resume). With ``num_batches``, epoch ``e`` covers
            iterations ``[e*num_batches, (e+1)*num_batches)`` and iterations before ``start_iteration`` are skipped.
        rank, world_size: DDP rank and world size.

    Note:
        A DataLoader draws batches ahead of training (prefetch), so checkpoint the trainer's own count of consumed
        iterations and pass it back as ``start_iteration``; :meth:`state_dict` records exactly that.
    """

    def __init__(
        self,
        labels: SequenceABC[Hashable],
        p: int,
        k: int,
        seed: int = 0,
        num_batches: int | None = None,
        start_iteration: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if p < 1 or k < 1:
            raise ValueError(f"TripletSampler: p={p}, k={k}; expected both >= 1")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"TripletSampler: rank={rank}, world_size={world_size}; expected 0 <= rank < world_size")
        if (p * k) % world_size:
            raise ValueError(
                f"TripletSampler: the global batch p*k = {p}*{k} = {p * k} does not divide by world_size={world_size}; "
                "choose data.p and data.k so that p*k is a multiple of the number of processes"
            )
        groups: dict[Hashable, list[int]] = {}
        for pos, lab in enumerate(labels):
            groups.setdefault(lab, []).append(pos)
        if len(groups) < p:
            raise ValueError(f"TripletSampler: the data has {len(groups)} subjects; expected at least p={p}")
        self._groups = [np.asarray(groups[g], dtype=np.int64) for g in sorted(groups, key=str)]
        self.p, self.k, self.seed = int(p), int(k), int(seed)
        self.num_batches = num_batches
        self.start_iteration = int(start_iteration)
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def batch(self, iteration: int) -> list[SampleKey]:
        """This rank's share of global batch ``iteration``; ``slot`` numbers the samples within the global batch."""
        rng = np.random.default_rng([self.seed, iteration])
        batch_seed = int(rng.integers(0, 2**63 - 1))
        keys: list[SampleKey] = []
        for g in rng.choice(len(self._groups), size=self.p, replace=False):
            members = self._groups[g]
            picks = rng.choice(members.size, size=self.k, replace=members.size < self.k)
            base = len(keys)
            keys.extend(SampleKey(int(members[j]), batch_seed, base + n) for n, j in enumerate(picks))
        share = len(keys) // self.world_size
        return keys[self.rank * share : (self.rank + 1) * share]

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (epoch-sized samplers)."""
        self.epoch = int(epoch)

    def _range(self) -> range:
        if self.num_batches is None:
            return range(self.start_iteration, 2**62)
        first = self.epoch * self.num_batches
        return range(max(first, self.start_iteration), first + self.num_batches)

    def __iter__(self) -> Iterator[list[SampleKey]]:
        for it in self._range():
            yield self.batch(it)

    def __len__(self) -> int:
        if self.num_batches is None:
            raise TypeError("TripletSampler is infinite (num_batches=None) and has no length")
        return len(self._range())

    def state_dict(self, iteration: int | None = None) -> dict[str, Any]:
        """What a checkpoint needs to resume: the settings and the next iteration (``iteration`` consumed batches)."""
        return {
            "seed": self.seed,
            "p": self.p,
            "k": self.k,
            "epoch": self.epoch,
            "start_iteration": self.start_iteration if iteration is None else int(iteration),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`; refuses a state written with different ``seed``, ``p`` or ``k``."""
        for name in ("seed", "p", "k"):
            if state.get(name) != getattr(self, name):
                raise ValueError(
                    f"TripletSampler state: field {name!r} is {state.get(name)!r}; expected {getattr(self, name)!r}"
                )
        self.epoch = int(state.get("epoch", 0))
        self.start_iteration = int(state["start_iteration"])


class InferenceSampler:
    """Ordered batches of a fixed size; the last batch may be smaller (nothing dropped, nothing repeated).

    Under DDP each rank takes a contiguous, near-equal share of the positions (no padding).

    Args:
        num_items: Dataset length.
        batch_size: Samples per batch.
        rank, world_size: DDP rank and world size.
    """

    def __init__(self, num_items: int, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"InferenceSampler: batch_size is {batch_size}; expected >= 1")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"InferenceSampler: rank={rank}, world_size={world_size}; expected 0 <= rank < world_size")
        per = math.ceil(num_items / world_size) if num_items else 0
        self.positions = list(range(min(rank * per, num_items), min((rank + 1) * per, num_items)))
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[list[int]]:
        for s in range(0, len(self.positions), self.batch_size):
            yield self.positions[s : s + self.batch_size]

    def __len__(self) -> int:
        return math.ceil(len(self.positions) / self.batch_size)


class ReadAhead:
    """A batch sampler that announces the batches to come: when the loader takes batch ``n`` it calls
    ``hint(batch)`` for batches up to ``n + depth``, so their reads from disk run in the background while batch
    ``n`` is decoded (``GaitDataset.will_need`` → ``SequenceStore.will_need``: ``posix_fadvise WILLNEED``, which
    reaches the page cache shared by every process, DataLoader workers included).

    Batches and their order are the wrapped sampler's, unchanged; its other attributes (``state_dict``,
    ``set_epoch``, ...) are reached through this object.

    Args:
        batch_sampler: The batch sampler (``TripletSampler``, ``InferenceSampler``, any iterable of batches).
        hint: Called once per batch, with the batch, ``depth`` batches before the loader takes it.
        depth: Batches announced ahead (0: none; the wrapper is then a pass-through).
    """

    def __init__(self, batch_sampler: Iterable[Any], hint: Callable[[Any], None], depth: int = 2) -> None:
        if depth < 0:
            raise ValueError(f"ReadAhead: depth is {depth}; expected >= 0")
        self.batch_sampler, self.hint, self.depth = batch_sampler, hint, depth

    def __iter__(self) -> Iterator[Any]:
        batches = iter(self.batch_sampler)
        ahead: deque[Any] = deque()
        while True:
            while len(ahead) <= self.depth:
                batch = next(batches, _END)
                if batch is _END:
                    break
                if self.depth:
                    self.hint(batch)
                ahead.append(batch)
            if not ahead:
                return
            yield ahead.popleft()

    def __len__(self) -> int:
        return len(self.batch_sampler)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "batch_sampler" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.batch_sampler, name)


_END = object()
