"""From ``cfg.data`` to a store, a partition and loaders: the one place the engine turns data config into objects."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gaitforge.config import Config, FrameConfig
from gaitforge.data.batch import Batch
from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.loaders import make_train_loader
from gaitforge.data.partition import PARTITION_NAME, Partition, load_partition
from gaitforge.data.store import SequenceStore
from gaitforge.engine.label_sources import (
    PairTrainData,
    check_condition_labels,
    check_label_sources,
    trains_without_identities,
)

__all__ = [
    "Partition",
    "TrainData",
    "build_train_data",
    "frame_sampler",
    "load_partition",
    "open_store",
    "resolve_store",
]

logger = logging.getLogger(__name__)


def resolve_store(cfg: Config, workdir: Path | None = None, progress: bool = True) -> Path:
    """The store folder of ``cfg.data``; an empty ``data.store`` means the synthetic world, made once and reused."""
    if cfg.data.store:
        return Path(cfg.data.store)
    from gaitforge.synth import get_preset, make_world
    from gaitforge.synth.extra_worlds import EXTRA_PRESETS, make_extra_world

    s = cfg.data.synth
    if s.preset in EXTRA_PRESETS:  # scoliosis / unlabelled worlds (gaitforge.synth.extra_worlds)
        return make_extra_world(s.preset, s.seed, (workdir or Path("runs")) / f"synth-seed{s.seed}", s.workers)
    world = get_preset(s.preset, seed=s.seed)
    root = (workdir or Path("runs")) / f"synth-seed{s.seed}"
    if (root / world.name / "index.json").is_file():
        logger.info("reusing synthetic world %s", root / world.name)
        return root / world.name
    return Path(make_world(world, root, workers=s.workers, progress=progress))


def open_store(cfg: Config, workdir: Path | None = None, progress: bool = True) -> tuple[SequenceStore, Partition]:
    """Open the configured store and its partition (``data.partition`` or the store's own ``partition.json``)."""
    root = resolve_store(cfg, workdir, progress)
    store = SequenceStore(root, verify_reads=cfg.data.verify_reads)
    part_path = Path(cfg.data.partition) if cfg.data.partition else root / PARTITION_NAME
    return store, load_partition(part_path)


def frame_sampler(fc: FrameConfig) -> FrameSampler:
    """``FrameConfig`` → :class:`FrameSampler`."""
    return FrameSampler(fc.mode, num=fc.num, min=fc.min, max=fc.max, skip=fc.skip, max_all=fc.max_all)


@dataclass
class TrainData:
    """Training sequences of one run: label space and a batch stream that is a pure function of the iteration."""

    store: SequenceStore
    indices: list[int]
    label_names: list[str]
    cfg: Config

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def batches(self, start_iteration: int = 0, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        """Batches ``start_iteration, start_iteration + 1, …`` (the same batches whatever the start).

        Under DDP each rank gets its ``p*k / world_size`` share of the same global P×K batch.
        """
        d = self.cfg.data
        loader = make_train_loader(
            self.store,
            p=d.p,
            k=d.k,
            frame_sampler=frame_sampler(d.train_frames),
            transform=d.transforms,
            modalities=d.modalities,
            indices=self.indices,
            label_map={name: i for i, name in enumerate(self.label_names)},
            seed=self.cfg.train.seed,
            start_iteration=start_iteration,
            num_batches=None,
            num_workers=d.num_workers,
            rank=rank,
            world_size=world_size,
            pin_memory=False,
        )
        yield from loader


def build_train_data(cfg: Config, workdir: Path | None = None, progress: bool = True) -> TrainData:
    """Open the store, select the partition's training subjects and check there is enough to form P×K batches."""
    check_label_sources(cfg)  # the losses' label sources fit the model: refused before a store is opened or made
    store, part = open_store(cfg, workdir, progress)
    train_subjects = set(part.train)
    indices = store.select(subjects=train_subjects)
    if not indices:
        raise ValueError(f"{part.source}: TRAIN_SET has no sequence in the store {store.root}")
    check_condition_labels(cfg, store, indices + store.select(subjects=set(part.test)))  # diagnoses, from the index
    if trains_without_identities(cfg):  # label-free pre-training: two views per sequence, subjects never read
        return PairTrainData(store, indices, cfg, frame_sampler(cfg.data.train_frames))  # type: ignore[return-value]
    label_names = sorted(set(store.labels("subject", indices)))
    if len(label_names) < cfg.data.p:
        raise ValueError(
            f"data.p: {cfg.data.p} subjects per batch, but the training set has only {len(label_names)} subjects"
        )
    missing = sorted(train_subjects - set(label_names))
    if missing:
        logger.warning("%d TRAIN_SET subjects have no sequence in the store (e.g. %s)", len(missing), missing[:3])
    logger.info("training on %d sequences of %d subjects", len(indices), len(label_names))
    return TrainData(store=store, indices=indices, label_names=label_names, cfg=cfg)
