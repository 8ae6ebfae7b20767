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
    makes training batches reproducible for any worker count). With plain integer positions the randomness
    comes from a per-process generator seeded from ``torch.initial_seed()`` (distinct per DataLoader worker).

    Args:
        store: The store.
        indices: Store indices to use (default: every sequence).
        modalities: Modalities to load; every selected sequence must have them.
        frame_sampler: Frame choice (default ``all_ordered``).
        transform: One transform applied to every modality, or modality → transform.
        label_map: Subject → class index; default: the sorted distinct subjects of ``indices``.
    """

    def __init__(
        self,
        store: SequenceStore,
        indices: Iterable[int] | None = None,
        modalities: SequenceABC[str] = ("sil",),
        frame_sampler: FrameSampler | None = None,
        transform: Transform | Mapping[str, Transform] | None = None,
        label_map: Mapping[str, int] | None = None,
    ) -> None:
        self.store = store
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

    def _load(self, pos: int, count: int | None, rng: np.random.Generator, tf_seed: Any) -> GaitSample:
        i = self.indices[pos]
        idx = self.frame_sampler.sample(self._lengths[pos], rng, count)
        inputs = {}
        for m in self.modalities:
            x = self.store.frames(i, m, idx)
            tf = self._transform_for(m)
            if tf is not None:
                # the same seed for every modality: random decisions (e.g. a flip) agree across modalities
                x = tf(x, np.random.default_rng(tf_seed))
            inputs[m] = x
        return GaitSample(inputs, self.labels[pos], self.subjects[pos], self._conditions[pos], self._views[pos], i)

    def __getitem__(self, key: int | SampleKey) -> GaitSample:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: SequenceABC[int | SampleKey]) -> list[GaitSample]:
        """Load a batch; ``unfixed`` frame counts are drawn once and shared by the batch."""
        if not keys:
            return []
        if isinstance(keys[0], SampleKey):
            seed = keys[0].seed
            count = self.frame_sampler.draw_count(np.random.default_rng([seed, 0]))
            return [
                self._load(
                    k.index, count, np.random.default_rng([k.seed, k.slot + 1]), [k.seed, k.slot + 1, 1]
                )
                for k in keys
            ]
        rng = self._process_rng()
        count = self.frame_sampler.draw_count(rng)
        out = []
        for k in keys:
            tf_seed = int(rng.integers(0, 2**63 - 1))
            out.append(self._load(int(k), count, rng, tf_seed))
        return out
