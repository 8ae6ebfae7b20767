"""The map-style dataset over a :class:`~gaitforge.data.store.SequenceStore`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.samplers import SampleKey
from gaitforge.data.store import SequenceStore
from gaitforge.data.transforms import Transform

__all__ = ["GaitDataset", "GaitSample"]


@dataclass
class GaitSample:
    """One sampled sequence, before collation.

    Attributes:
        inputs: Modality → frames ``[t, ...]`` after frame sampling and transforms.
        label: Class index, or -1 when the subject is not in the label map.
        subject, condition, view: The sequence's labels.
        index: Store index of the sequence.
    """

    inputs: dict[str, np.ndarray]
    label: int
    subject: str
    condition: str
    view: str
    index: int


class GaitDataset(Dataset):
    """Sequences of a store with frame sampling and per-modality transforms.

    Items are addressed by position (``0..len-1``) or by :class:`~gaitforge.data.samplers.SampleKey` (what
    :class:`~gaitforge.data.samplers.TripletSampler` yields; randomness then derives from the key's seed, which
    makes training batches reproducible for any worker count or rank; the frames of a whole batch are picked at once,
    :meth:`~gaitforge.data.frame_sampling.FrameSampler.sample_keyed`). With plain integer positions the randomness
    comes from a per-process generator seeded from ``torch.initial_seed()`` (distinct per DataLoader worker).

    Args:
        store: The store.
        indices: Store indices to use (default: every sequence).
        modalities: Modalities to load; every selected sequence must have them.
        frame_sampler: Frame choice (default ``all_ordered``).
        transform: One transform applied to every modality, or modality → transform.
        label_map: Subject → class index; default: the sorted distinct subjects of ``indices``.
        announced: The batch sampler announces every batch before it is read (:class:`ReadAhead` calling
            :meth:`will_need`, as the loaders set it up), so a batch read does not announce its bytes again.
    """

    def __init__(
        self,
        store: SequenceStore,
        indices: Iterable[int] | None = None,
        modalities: SequenceABC[str] = ("sil",),
        frame_sampler: FrameSampler | None = None,
        transform: Transform | Mapping[str, Transform] | None = None,
        label_map: Mapping[str, int] | None = None,
        announced: bool = False,
    ) -> None:
        self.store, self.announced = store, announced
        self.indices = list(range(len(store))) if indices is None else [int(i) for i in indices]
        self.modalities = tuple(modalities)
        if not self.modalities:
            raise ValueError("GaitDataset: modalities is empty; expected at least one, e.g. ('sil',)")
        # from the index columns alone (no per-sequence records): fast at millions of sequences
        have = np.zeros(len(store), bool)
        have[store.select(modalities=self.modalities)] = True
        lacking = np.flatnonzero(~have[np.asarray(self.indices, np.int64)])
        if lacking.size:
            rec = store.record(self.indices[int(lacking[0])])
            missing = [m for m in self.modalities if m not in rec.arrays]
            raise ValueError(
                f"GaitDataset: sequence {rec.key!r} in {store.root} lacks modalities {missing}; it has "
                f"{rec.modalities} ({len(lacking)} selected sequences lack one of {list(self.modalities)})"
            )
        self.frame_sampler = frame_sampler or FrameSampler("all_ordered")
        self.transform = transform
        self.subjects = store.labels("subject", self.indices)
        self._conditions = store.labels("condition", self.indices)
        self._views = store.labels("view", self.indices)
        self._lengths = store.lengths(self.indices).tolist()
        if label_map is None:
            label_map = {s: n for n, s in enumerate(sorted(set(self.subjects)))}
        self.label_map = dict(label_map)
        self.labels = [self.label_map.get(s, -1) for s in self.subjects]
        self._rng: np.random.Generator | None = None
        self._rng_pid = -1

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def num_classes(self) -> int:
        """Number of classes in the label map."""
        return len(self.label_map)

    def _process_rng(self) -> np.random.Generator:
        if self._rng is None or self._rng_pid != os.getpid():
            self._rng = np.random.default_rng([torch.initial_seed() % 2**63, os.getpid()])
            self._rng_pid = os.getpid()
        return self._rng

    def _transform_for(self, modality: str) -> Transform | None:
        if isinstance(self.transform, Mapping):
            return self.transform.get(modality)
        return self.transform

    def _finish(self, pos: int, frames: dict[str, np.ndarray], tf_seed: Any) -> GaitSample:
        inputs = {}
        for m in self.modalities:
            x, tf = frames[m], self._transform_for(m)
            if tf is not None:
                # the same seed for every modality: random decisions (e.g. a flip) agree across modalities
                x = tf(x, np.random.default_rng(tf_seed))
            inputs[m] = x
        i = self.indices[pos]
        return GaitSample(inputs, self.labels[pos], self.subjects[pos], self._conditions[pos], self._views[pos], i)

    def _read(self, positions: list[int], idx: list[np.ndarray] | np.ndarray) -> list[dict[str, np.ndarray]]:
        """The sampled frames of each item, modality → ``[t, ...]``: one ``read_batch`` per modality when the
        counts agree (batched reads, announced to the kernel together), else one read per item."""
        rows = [self.indices[p] for p in positions]
        out: list[dict[str, np.ndarray]] = [{} for _ in positions]
        for m in self.modalities:
            batch = None
            if len(rows) > 1 and len({len(k) for k in idx}) == 1:
                try:
                    batch = self.store.read_batch(rows, m, idx, prefetch=not self.announced)
                except ValueError:  # frame shapes differ within the batch: read item by item
                    batch = None
            for b, (i, k) in enumerate(zip(rows, idx)):
                out[b][m] = batch[b] if batch is not None else self.store.frames(i, m, k)
        return out

    def will_need(self, keys: Iterable[int | SampleKey]) -> None:
        """Announce items about to be read: the store starts reading their arrays from disk in the background
        (:meth:`SequenceStore.will_need`). What :class:`~gaitforge.data.samplers.ReadAhead` calls."""
        rows = [self.indices[k.index if isinstance(k, SampleKey) else int(k)] for k in keys]
        for m in self.modalities:
            self.store.will_need(rows, m)

    def __getitem__(self, key: int | SampleKey) -> GaitSample:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: SequenceABC[int | SampleKey]) -> list[GaitSample]:
        """Load a batch; ``unfixed`` frame counts are drawn once and shared by the batch."""
        if not keys:
            return []
        positions: list[int] = []
        tf_seeds: list[Any] = []
        idx: list[np.ndarray] | np.ndarray
        if isinstance(keys[0], SampleKey):
            count = self.frame_sampler.draw_count(np.random.default_rng([keys[0].seed, 0]))
            positions = [k.index for k in keys]
            seeds, slots = [k.seed for k in keys], [k.slot for k in keys]
            # a whole batch of picks at once, each from its key alone (FrameSampler.sample_keyed)
            idx = self.frame_sampler.sample_keyed([self._lengths[p] for p in positions], seeds, slots, count)
            tf_seeds = [[k.seed, k.slot + 1, 1] for k in keys]
        else:
            rng = self._process_rng()
            count = self.frame_sampler.draw_count(rng)
            idx = []
            for k in keys:
                tf_seeds.append(int(rng.integers(0, 2**63 - 1)))
                positions.append(int(k))
                idx.append(self.frame_sampler.sample(self._lengths[int(k)], rng, count))
        frames = self._read(positions, idx)
        return [self._finish(p, f, t) for p, f, t in zip(positions, frames, tf_seeds)]
