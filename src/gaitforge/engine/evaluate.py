"""Embed a test set with a model and score it under the dataset's protocol.

Under ``torchrun`` each rank embeds a contiguous share of the test sequences; the shares are gathered to rank 0 in rank
order (the order one process would produce), rank 0 scores the protocol and writes the files, and every rank returns
its result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from gaitforge.config import Config, config_from_dict
from gaitforge.data.loaders import make_eval_loader
from gaitforge.data.store import SequenceStore
from gaitforge.engine.checkpoint import latest_checkpoint, load_checkpoint
from gaitforge.engine.data_setup import Partition, frame_sampler, load_partition, open_store
from gaitforge.engine.distributed import (
    distributed,
    gather_arrays,
    gather_objects,
    get_rank,
    get_world_size,
    main_first,
    main_only,
)
from gaitforge.engine.model_setup import build_model_for
from gaitforge.utils.atomic import atomic_path

__all__ = [
    "EmbeddingSet",
    "embed_sequences",
    "evaluate_checkpoint",
    "evaluate_model",
    "gather_embeddings",
    "load_trained_model",
]

logger = logging.getLogger(__name__)


@dataclass
class EmbeddingSet:
    """Embeddings of a test set in the layout of the field's evaluators (and of ``gaitforge score``)."""

    embeddings: np.ndarray  # [N, C, P] float32
    labels: np.ndarray  # [N] subject strings
    types: np.ndarray  # [N] condition strings
    views: np.ndarray  # [N] view strings

    def save_npz(self, path: str | Path) -> Path:
        """Write ``embeddings``, ``labels``, ``types``, ``views`` (the ``gaitforge score`` input), atomically."""
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, embeddings=self.embeddings, labels=self.labels, types=self.types, views=self.views)
        return Path(path)


@torch.no_grad()
def embed_sequences(
    model: torch.nn.Module,
    store: SequenceStore,
    indices: list[int],
    cfg: Config,
    device: torch.device | None = None,
    progress: bool = True,
    rank: int = 0,
    world_size: int = 1,
) -> EmbeddingSet:
    """Embeddings ``[N, C, P]`` of the store sequences ``indices`` (every frame, up to ``data.test_frames.max_all``).

    With ``world_size > 1`` only this rank's contiguous share of ``indices`` is embedded (see
    :func:`gather_embeddings`); a share may be empty (``embeddings`` of shape ``(0,)``).
    """
    device = device or torch.device("cpu")
    if isinstance(model, DistributedDataParallel):  # ranks embed different numbers of batches: no DDP collectives
        model = model.module
    d = cfg.data
    loader = make_eval_loader(
        store,
        indices=indices,
        batch_size=cfg.eval.batch_size,
        frame_sampler=frame_sampler(d.test_frames),
        transform=d.test_transforms,
        modalities=d.modalities,
        num_workers=d.num_workers,
        rank=rank,
        world_size=world_size,
    )
    was_training = model.training
    model.eval()
    chunks: list[np.ndarray] = []
    labels: list[str] = []
    types: list[str] = []
    views: list[str] = []
    try:
        for batch in tqdm(loader, desc="embed", unit="batch", disable=not progress, dynamic_ncols=True):
            batch = batch.to(device)
            # a model's eval_output names what its protocol scores (ScoNet: the diagnosis logits); default embeddings
            chunks.append(model(batch).get(getattr(model, "eval_output", "embeddings")).float().cpu().numpy())
            labels += batch.subjects
            types += batch.conditions
            views += batch.views
    finally:
        model.train(was_training)
    emb = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0,), np.float32)
    return EmbeddingSet(emb, np.array(labels, dtype=str), np.array(types, dtype=str), np.array(views, dtype=str))


def gather_embeddings(part: EmbeddingSet, dst: int = 0) -> EmbeddingSet | None:
    """Every rank's :class:`EmbeddingSet` share concatenated in rank order, on rank ``dst``; ``None`` on the others.

    Embeddings go through one padded ``all_gather`` (shares may differ in length); names through ``gather_object``.
    In a plain process ``part`` itself is returned.
    """
    arrays = gather_arrays(part.embeddings, dst=dst)
    names = gather_objects((part.labels.tolist(), part.types.tolist(), part.views.tolist()), dst=dst)
    if not arrays:
        return None
    if len(arrays) == 1:
        return part
    kept = [a for a in arrays if a.shape[0]]
    embeddings = np.concatenate(kept) if kept else arrays[0]
    labels, types, views = ([v for share in names for v in share[i]] for i in range(3))
    return EmbeddingSet(embeddings, np.array(labels, dtype=str), np.array(types, dtype=str), np.array(views, dtype=str))


def evaluate_model(
    model: torch.nn.Module,
    cfg: Config,
    store: SequenceStore,
    partition: Partition,
    out_dir: Path | None = None,
    protocol: str | None = None,
    metric: str | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> Any:
    """Embed the partition's test subjects and score them.

    Writes ``results.json``, ``embeddings.npz`` and plots to ``out_dir`` when given. Inside a process group (every
    rank calls it) each rank embeds a share, rank 0 scores and writes, and every rank returns rank 0's result.
    """
    from gaitforge.evaluation import protocol_for_dataset

    indices = store.select(subjects=set(partition.test))
    if not indices:
        raise ValueError(f"{partition.source}: TEST_SET has no sequence in the store {store.root}")
    rank, world = get_rank(), get_world_size()
    share = embed_sequences(model, store, indices, cfg, device, progress and rank == 0, rank=rank, world_size=world)
    gathered = gather_embeddings(share)
    protocol = protocol or cfg.eval.protocol or protocol_for_dataset(cfg.data.dataset)
    return main_only(lambda: _score(gathered, protocol, cfg, partition, metric, out_dir))


def _score(
    emb: EmbeddingSet | None,
    protocol: str,
    cfg: Config,
    partition: Partition,
    metric: str | None,
    out_dir: Path | None,
) -> Any:
    from gaitforge.evaluation import score_embeddings

    assert emb is not None  # rank 0 holds the gathered set
    result = score_embeddings(
        protocol,
        emb.embeddings,
        emb.labels,
        emb.types,
        emb.views,
        metric=metric or cfg.eval.metric,
        cross_view_gallery=cfg.eval.cross_view_gallery,
        partition=partition.sets if {"PROBE_SET", "GALLERY_SET"} & set(partition.sets) else None,
    )
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        emb.save_npz(out_dir / "embeddings.npz")
        result.save_json(out_dir / "results.json")
        from gaitforge.evaluation.plots import save_plots

        save_plots(result, out_dir, stem=result.protocol)
    return result


def load_trained_model(target: str | Path, device: torch.device | None = None) -> tuple[torch.nn.Module, Config, Path]:
    """Model and config from a run folder (its newest checkpoint) or a checkpoint file."""
    target = Path(target)
    if not target.exists():
        raise FileNotFoundError(f"{target}: no run folder or checkpoint file there")
    ckpt = latest_checkpoint(target / "checkpoints") if target.is_dir() else target
    if ckpt is None:
        raise FileNotFoundError(f"{target}: no checkpoint found in {target / 'checkpoints'}")
    state = load_checkpoint(ckpt)
    cfg = config_from_dict(state["config"], source=f"{ckpt} (config)")
    model = build_model_for(cfg, int(state["num_classes"]))
    model.load_state_dict(state["model"])
    return model.to(device or "cpu"), cfg, ckpt


def evaluate_checkpoint(
    target: str | Path,
    store: str | Path | None = None,
    partition: str | Path | None = None,
    protocol: str | None = None,
    metric: str | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
) -> Any:
    """``gaitforge eval``: the run's own test set, or another store (cross-domain: train on one, test on another).

    Under torchrun the ranks share the embedding work (backend ``auto``: NCCL on GPUs, gloo on CPU).
    """
    model, cfg, ckpt = load_trained_model(target)
    with distributed("auto", "auto", cfg.train.dist_timeout_s) as ctx:
        model = model.to(ctx.device)
        if store is not None:
            st = SequenceStore(store, verify_reads=cfg.data.verify_reads)
            part = load_partition(partition or Path(store) / "partition.json")
        else:
            workdir = ckpt.parent.parent.parent
            st, part = main_first(lambda: open_store(cfg, workdir=workdir, progress=progress and ctx.is_main))
        out = out_dir or ckpt.parent.parent / "eval"
        logger.info("evaluating %s on %s", ckpt, st.root)
        return evaluate_model(
            model, cfg, st, part, out_dir=out, protocol=protocol, metric=metric, device=ctx.device, progress=progress
        )
