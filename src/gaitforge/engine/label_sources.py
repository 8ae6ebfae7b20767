"""Where a run's training labels come from, checked before any work; label-free (two-view) training data.

Three label sources exist:

* identities (``Batch.labels``, from the subject names): every loss entry without a ``labels:`` key;
* a sequence's metadata: ``labels: diagnosis_labels`` (ScoNet; Zhou et al., MICCAI 2024) reads each sequence's
  *condition* as a Scoliosis1K status (``negative`` / ``neutral`` / ``positive``);
* none: ``labels: pair_labels`` (GaitSSB pre-training; Fan et al., TPAMI 2023) — the targets are which item of the
  batch the other augmented view came from, so no label of the store is used.

:func:`check_label_sources` refuses a config that mixes these wrongly (a label-free model with a loss that reads
identities — a labelled-only config — or a labelled model with two-view targets) before the store is opened or the
synthetic world made; :func:`check_condition_labels` names the first sequence whose condition is not a diagnosis when
a loss reads ``diagnosis_labels``, before training starts. :class:`PairTrainData` is the label-free training stream:
``data.p × data.k`` sequences per batch drawn uniformly from the training split (subjects ignored), each read twice
with its own frame sample and its own draw of the ``data.transforms`` (for GaitSSB the peer's ``DA4GaitSSB`` preset,
which ``gaitforge convert opengait-config`` turns into ``random_affine``, ``random_perspective``, ``sil_cut``,
``random_horizontal_flip``, ``random_part_dilate``, ``random_part_blur``); the second view goes to
``Batch.inputs[modality + "_view2"]`` and ``Batch.labels`` is all -1.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch.utils.data import DataLoader

from gaitforge.config import Config
from gaitforge.data.batch import Batch
from gaitforge.data.dataset import GaitDataset, GaitSample
from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.loaders import _loader_kwargs, _transform
from gaitforge.data.samplers import ReadAhead, SampleKey
from gaitforge.data.store import SequenceStore
from gaitforge.models.gaitssb import VIEW2_SUFFIX

__all__ = [
    "DIAGNOSIS_FIELD",
    "PAIR_FIELD",
    "PairSampler",
    "PairTrainData",
    "TwoViewDataset",
    "check_condition_labels",
    "check_label_sources",
    "model_accepts",
    "trains_without_identities",
]

logger = logging.getLogger(__name__)

#: Model output holding metadata labels read from each sequence's condition (ScoNet).
DIAGNOSIS_FIELD = "diagnosis_labels"
#: Model output holding the two-view targets of label-free pre-training (GaitSSB).
PAIR_FIELD = "pair_labels"


def _model_class(cfg: Config) -> Any:
    from gaitforge.models import MODELS

    return MODELS.get(cfg.model.name)


def trains_without_identities(cfg: Config) -> bool:
    """Whether ``cfg.model`` is a label-free pre-training model (class attribute ``trains_without_identities``)."""
    return bool(getattr(_model_class(cfg), "trains_without_identities", False))


def model_accepts(cls: Any, name: str) -> bool:
    """Whether the constructor of ``cls`` takes keyword ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _loss_label_fields(cfg: Config) -> list[tuple[int, str, str | None]]:
    return [(i, str(e.get("name", "?")), e.get("labels")) for i, e in enumerate(cfg.losses or [])]


def check_label_sources(cfg: Config) -> None:
    """Refuse a config whose losses read labels the model's training cannot give (no file is read).

    Raises:
        ValueError: A label-free model (``gaitssb_pretrain``) with a loss that reads identity labels (no ``labels:``
            key: a labelled-only config), or with no loss at all; a labelled model with ``labels: pair_labels``.
            Messages name the ``losses[i]`` entry and what to change.
    """
    name = cfg.model.name
    entries = _loss_label_fields(cfg)
    if trains_without_identities(cfg):
        if not entries:
            raise ValueError(
                f"losses: model {name!r} pre-trains on two views; expected losses with labels: {PAIR_FIELD}"
            )
        for i, loss, labels in entries:
            if labels is None:
                raise ValueError(
                    f"losses[{i}] ({loss}): reads identity labels (no 'labels:' key), but model {name!r} pre-trains "
                    f"without identity labels: this is a labelled-only config. Give the loss labels: {PAIR_FIELD} "
                    "(the two-view targets), or train a labelled model (e.g. gaitssb_finetune with "
                    "train.init_from: <pre-training run>/checkpoints/ckpt-N.pt)"
                )
        return
    for i, loss, labels in entries:
        if labels == PAIR_FIELD:
            raise ValueError(
                f"losses[{i}] ({loss}).labels: {PAIR_FIELD} come from two-view pre-training (model "
                f"gaitssb_pretrain), but model {name!r} is trained with labels: this fine-tuning/labelled config is "
                "pointed at the pre-training objective. Use model.name: gaitssb_pretrain for pre-training, or drop "
                "'labels:' so the loss reads identities"
            )


def check_condition_labels(
    cfg: Config, store: SequenceStore, indices: Sequence[int], classes: Sequence[str] | None = None
) -> None:
    """With a loss reading ``diagnosis_labels``, every selected sequence's condition must be a diagnosis.

    Reads the store's index columns only (no frames).

    Raises:
        ValueError: Naming the store, the first offending sequence (``subject/condition/view``), the field
            (``condition``), the expected statuses and how many selected sequences lack one.
    """
    readers = [(i, loss) for i, loss, labels in _loss_label_fields(cfg) if labels == DIAGNOSIS_FIELD]
    if not readers or not indices:
        return
    if classes is None:
        from gaitforge.models.sconet import SCOLIOSIS_STATUSES

        classes = SCOLIOSIS_STATUSES
    allowed = {c.lower() for c in classes}
    conditions = store.labels("condition", list(indices))
    bad = [n for n, c in enumerate(conditions) if str(c).strip().lower() not in allowed]
    if bad:
        first = int(list(indices)[bad[0]])
        key = store.record(first).key
        i, loss = readers[0]
        raise ValueError(
            f"{store.root}: sequence {key!r} has no diagnosis label: its field 'condition' is "
            f"{conditions[bad[0]]!r}, expected one of {list(classes)} (losses[{i}] ({loss}) reads "
            f"labels: {DIAGNOSIS_FIELD} from each sequence's condition); {len(bad)} of {len(conditions)} "
            "selected sequences lack one"
        )


class PairSampler:
    """Label-free batches: ``size`` distinct dataset positions per batch, uniform over the dataset.

    Batch ``n`` depends on ``(seed, n)`` only (resume-exact, any worker count); under DDP each rank keeps its
    contiguous share of the global batch. No label is looked at.

    Args:
        num_items: Dataset length.
        size: Global batch size (sequences).
        seed: Base seed.
        start_iteration: First batch produced.
        rank, world_size: DDP rank and size (``size`` must divide by ``world_size``).
    """

    def __init__(
        self, num_items: int, size: int, seed: int = 0, start_iteration: int = 0, rank: int = 0, world_size: int = 1
    ) -> None:
        if num_items < 2:
            raise ValueError(f"PairSampler: {num_items} sequences; two-view training needs at least 2 per batch")
        if size < 2 or size % world_size:
            raise ValueError(f"PairSampler: batch size {size} must be >= 2 and divide by world_size={world_size}")
        self.num_items, self.size, self.seed = int(num_items), int(size), int(seed)
        self.start_iteration, self.rank, self.world_size = int(start_iteration), int(rank), int(world_size)

    def batch(self, iteration: int) -> list[SampleKey]:
        """This rank's share of global batch ``iteration`` (``min(size, num_items)`` distinct sequences)."""
        rng = np.random.default_rng([self.seed, 11, iteration])
        batch_seed = int(rng.integers(0, 2**63 - 1))
        picks = rng.choice(self.num_items, size=min(self.size, self.num_items), replace=False)
        keys = [SampleKey(int(p), batch_seed, n) for n, p in enumerate(picks)]
        share = len(keys) // self.world_size
        return keys[self.rank * share : (self.rank + 1) * share]

    def __iter__(self) -> Iterator[list[SampleKey]]:
        for it in range(self.start_iteration, 2**62):
            yield self.batch(it)


class TwoViewDataset(GaitDataset):
    """A :class:`GaitDataset` whose items carry a second view: another frame sample and transform draw of the
    same sequence, under ``inputs[modality + "_view2"]``; labels are -1 (the label map is empty)."""

    def __getitems__(self, keys: Sequence[int | SampleKey]) -> list[GaitSample]:
        first = super().__getitems__(keys)
        second_keys: list[int | SampleKey] = [
            SampleKey(k.index, int(np.random.default_rng([k.seed, 12]).integers(0, 2**63 - 1)), k.slot)
            if isinstance(k, SampleKey)
            else k
            for k in keys
        ]
        second = super().__getitems__(second_keys)
        for a, b in zip(first, second):
            for m in self.modalities:
                n = min(a.inputs[m].shape[0], b.inputs[m].shape[0])  # unfixed counts may differ between draws
                a.inputs[m], a.inputs[m + VIEW2_SUFFIX] = a.inputs[m][:n], b.inputs[m][:n]
        return first


@dataclass
class PairTrainData:
    """Label-free training stream (see the module docstring); the trainer's ``TrainData`` counterpart."""

    store: SequenceStore
    indices: list[int]
    cfg: Config
    frame_sampler: FrameSampler
    label_names: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return 0

    def batches(self, start_iteration: int = 0, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        """Batches ``start_iteration, …`` of ``data.p × data.k`` sequences, two views each."""
        d = self.cfg.data
        dataset = TwoViewDataset(
            self.store,
            indices=self.indices,
            modalities=d.modalities,
            frame_sampler=self.frame_sampler,
            transform=_transform(d.transforms),
            label_map={},
            announced=True,
        )
        sampler = PairSampler(len(dataset), d.p * d.k, self.cfg.train.seed, start_iteration, rank, world_size)
        loader = DataLoader(
            dataset,
            batch_sampler=ReadAhead(sampler, dataset.will_need, 2),
            **_loader_kwargs(d.num_workers, False, None, True),
        )
        yield from loader
