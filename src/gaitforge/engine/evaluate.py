"""Embed a test set with a model and score it under the dataset's protocol."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from gaitforge.config import Config, config_from_dict
from gaitforge.data.loaders import make_eval_loader
from gaitforge.data.store import SequenceStore
from gaitforge.engine.checkpoint import latest_checkpoint, load_checkpoint
from gaitforge.engine.data_setup import Partition, frame_sampler, load_partition, open_store
from gaitforge.engine.device import resolve_device
from gaitforge.utils.atomic import atomic_path

__all__ = ["EmbeddingSet", "embed_sequences", "evaluate_checkpoint", "evaluate_model", "load_trained_model"]

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
) -> EmbeddingSet:
    """Embeddings ``[N, C, P]`` of the store sequences ``indices`` (every frame, up to ``data.test_frames.max_all``)."""
    device = device or torch.device("cpu")
    d = cfg.data
    loader = make_eval_loader(
        store,
        indices=indices,
        batch_size=cfg.eval.batch_size,
        frame_sampler=frame_sampler(d.test_frames),
        transform=d.test_transforms,
        modalities=d.modalities,
        num_workers=d.num_workers,
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
            chunks.append(model(batch).embeddings.float().cpu().numpy())
            labels += batch.subjects
            types += batch.conditions
            views += batch.views
    finally:
        model.train(was_training)
    return EmbeddingSet(np.concatenate(chunks).astype(np.float32), np.array(labels), np.array(types), np.array(views))


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

    Writes ``results.json``, ``embeddings.npz`` and plots to ``out_dir`` when given.
    """
    from gaitforge.evaluation import protocol_for_dataset, score_embeddings

    indices = store.select(subjects=set(partition.test))
    if not indices:
        raise ValueError(f"{partition.source}: TEST_SET has no sequence in the store {store.root}")
    emb = embed_sequences(model, store, indices, cfg, device=device, progress=progress)
    protocol = protocol or cfg.eval.protocol or protocol_for_dataset(cfg.data.dataset)
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
    from gaitforge.engine.trainer import build_model_for

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
    """``gaitforge eval``: the run's own test set, or another store (cross-domain: train on one, test on another)."""
    device = resolve_device("auto")
    model, cfg, ckpt = load_trained_model(target, device)
    if store is not None:
        st = SequenceStore(store)
        part = load_partition(partition or Path(store) / "partition.json")
    else:
        st, part = open_store(cfg, workdir=ckpt.parent.parent.parent, progress=progress)
    out = out_dir or ckpt.parent.parent / "eval"
    logger.info("evaluating %s on %s", ckpt, st.root)
    return evaluate_model(
        model, cfg, st, part, out_dir=out, protocol=protocol, metric=metric, device=device, progress=progress
    )
