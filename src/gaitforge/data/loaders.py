"""DataLoader builders: P×K training batches and ordered evaluation batches, decoded in worker processes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Sequence as SequenceABC
from functools import partial
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from gaitforge.data.batch_pool import SharedBatchPool
from gaitforge.data.collate import collate_samples
from gaitforge.data.dataset import GaitDataset
from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.samplers import InferenceSampler, ReadAhead, TripletSampler
from gaitforge.data.store import SequenceStore
from gaitforge.data.transforms import Transform, build_transform

__all__ = ["DEFAULT_TRANSFORM", "make_eval_loader", "make_train_loader"]

TransformSpec = Transform | Mapping[str, Any] | SequenceABC[Mapping[str, Any]] | None

#: The loaders' default: the field's silhouette cut (64 → 44, /255) on ``sil``; other modalities untouched.
DEFAULT_TRANSFORM: Mapping[str, TransformSpec] = {"sil": [{"name": "sil_cut"}]}


def _store(store: SequenceStore | str | Path) -> SequenceStore:
    return store if isinstance(store, SequenceStore) else SequenceStore(store)


def _transform(spec: TransformSpec | Mapping[str, TransformSpec]) -> Any:
    """Config (list of ``{"name": ...}``) → transform; a callable passes through; modality → spec is built per key."""
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, Mapping) and "name" not in spec:
        return {m: _transform(s) for m, s in spec.items()}
    return build_transform(spec)  # type: ignore[arg-type]


def _loader_kwargs(num_workers: int, pin_memory: bool, prefetch_factor: int | None, persistent: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {"num_workers": num_workers, "pin_memory": pin_memory, "collate_fn": collate_samples}
    if num_workers > 0:
        kw["persistent_workers"] = persistent
        if prefetch_factor is not None:
            kw["prefetch_factor"] = prefetch_factor
        # workers write batches into reusable shared memory: batches in flight, plus a few the consumer holds
        pool = SharedBatchPool(num_workers, slots=(2 if prefetch_factor is None else prefetch_factor) + 4)
        kw["collate_fn"] = partial(collate_samples, pool=pool)
    return kw


def make_train_loader(
    store: SequenceStore | str | Path,
    p: int = 8,
    k: int = 4,
    frame_sampler: FrameSampler | None = None,
    transform: TransformSpec | Mapping[str, TransformSpec] = DEFAULT_TRANSFORM,
    modalities: SequenceABC[str] = ("sil",),
    indices: Iterable[int] | None = None,
    label_map: Mapping[str, int] | None = None,
    seed: int = 0,
    start_iteration: int = 0,
    num_batches: int | None = None,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    prefetch_factor: int | None = None,
    read_ahead: int = 2,
) -> DataLoader:
    """Training loader: :class:`TripletSampler` P×K batches of :class:`~gaitforge.data.batch.Batch`.

    Frame reading, sampling and transforms run in ``num_workers`` worker processes (0: in the main process).
    Batches are reproducible from ``seed`` and the iteration number, for any ``num_workers``.

    Args:
        store: A store or its folder.
        p, k: Subjects per batch and sequences per subject.
        frame_sampler: Default ``fixed_unordered`` with 30 frames.
        transform: A transform (applied to every modality), a config list such as
            ``[{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}]``, or modality → either
            (default :data:`DEFAULT_TRANSFORM`: ``sil_cut`` on ``sil`` only).
        modalities, indices, label_map: See :class:`GaitDataset`.
        seed, start_iteration, num_batches, rank, world_size: See :class:`TripletSampler`.
        num_workers, pin_memory, prefetch_factor: Passed to ``DataLoader``.
        read_ahead: Batches announced to the store ahead of the one being read, so that their reads from disk
            overlap the work on earlier batches (:class:`ReadAhead`; 0: none).

    Returns:
        A ``DataLoader``; its ``batch_sampler`` is a :class:`ReadAhead` over the :class:`TripletSampler` (whose
        attributes it passes through) and ``dataset`` the :class:`GaitDataset`.
    """
    dataset = GaitDataset(
        _store(store),
        indices=indices,
        modalities=modalities,
        frame_sampler=frame_sampler or FrameSampler("fixed_unordered", num=30),
        transform=_transform(transform),
        label_map=label_map,
        announced=read_ahead > 0,
    )
    sampler = TripletSampler(
        dataset.subjects,
        p,
        k,
        seed=seed,
        num_batches=num_batches,
        start_iteration=start_iteration,
        rank=rank,
        world_size=world_size,
    )
    batches = ReadAhead(sampler, dataset.will_need, read_ahead)
    return DataLoader(dataset, batch_sampler=batches, **_loader_kwargs(num_workers, pin_memory, prefetch_factor, True))


def make_eval_loader(
    store: SequenceStore | str | Path,
    indices: Iterable[int] | None = None,
    batch_size: int = 4,
    frame_sampler: FrameSampler | None = None,
    transform: TransformSpec | Mapping[str, TransformSpec] = DEFAULT_TRANSFORM,
    modalities: SequenceABC[str] = ("sil",),
    label_map: Mapping[str, int] | None = None,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    prefetch_factor: int | None = None,
    read_ahead: int = 2,
) -> DataLoader:
    """Evaluation loader: every selected sequence once, in order, in batches of ``batch_size``.

    With the default ``all_ordered`` sampling, sequences of different lengths come packed (``[1, ΣT, ...]`` with
    ``seq_lens``). Under DDP each rank gets a contiguous share (see :class:`InferenceSampler`).
    """
    dataset = GaitDataset(
        _store(store),
        indices=indices,
        modalities=modalities,
        frame_sampler=frame_sampler or FrameSampler("all_ordered"),
        transform=_transform(transform),
        label_map=label_map,
        announced=read_ahead > 0,
    )
    sampler = InferenceSampler(len(dataset), batch_size, rank=rank, world_size=world_size)
    batches = ReadAhead(sampler, dataset.will_need, read_ahead)
    return DataLoader(dataset, batch_sampler=batches, **_loader_kwargs(num_workers, pin_memory, prefetch_factor, False))
