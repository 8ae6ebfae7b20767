"""Export a trained run (or one checkpoint file) to ONNX, with its provenance in the file's metadata."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.export.onnx import ExportReport, config_hash, export_onnx

__all__ = ["export_checkpoint", "frame_shapes_from_config", "RAW_FRAME_SHAPES"]

logger = logging.getLogger(__name__)

#: Stored per-frame shapes assumed when the run's store cannot be read: the field's 64x64 silhouette
#: pretreatment and SkeletonGait maps of the same size; keypoints as COCO-17 (x, y, confidence); COCO-17
#: heatmaps on a 64x48 grid.
RAW_FRAME_SHAPES: dict[str, tuple[int, ...]] = {
    "sil": (64, 64),
    "skeleton_map": (2, 64, 64),
    "pose": (17, 3),
    "heatmap": (17, 64, 48),
}


def frame_shapes_from_config(cfg: Any, modalities: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Per-frame model input shapes implied by the run's test transforms.

    A stored frame (read from ``data.store`` when it is there, else :data:`RAW_FRAME_SHAPES`) is passed through
    ``data.test_transforms`` (one list for every modality, or modality → list) and its shape read off.

    Raises:
        ValueError: a modality with no known stored shape.
    """
    from gaitforge.data.transforms import build_transform

    stored = _stored_frame_shapes(cfg, modalities)
    spec = cfg.data.test_transforms
    out: dict[str, tuple[int, ...]] = {}
    for name in modalities:
        raw = stored[name] if name in stored else RAW_FRAME_SHAPES.get(name)
        if raw is None:
            raise ValueError(
                f"input {name!r}: cannot tell its per-frame shape from the run; give it (--input-shape {name}=...)"
            )
        steps = spec.get(name) if isinstance(spec, Mapping) else spec
        transform = build_transform(steps, where=f"data.test_transforms ({name})")
        frame = np.zeros((1, *raw), dtype=np.uint8)
        if transform is not None:
            frame = transform(frame, np.random.default_rng(0))
        out[name] = tuple(int(v) for v in frame.shape[1:]) or (1,)  # a per-frame scalar (ratio): [B, T, 1]
    return out


def _stored_frame_shapes(cfg: Any, modalities: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Per-frame shapes of the first sequence of ``data.store`` (empty when there is no readable store)."""
    root = Path(cfg.data.store) if cfg.data.store else None
    if root is None or not (root / "index.json").is_file():
        return {}
    from gaitforge.data.store import SequenceStore

    store = SequenceStore(root)
    if len(store) == 0:
        return {}
    record = store.record(0)
    return {m: tuple(int(v) for v in store.array(0, m).shape[1:]) for m in modalities if m in record.arrays}


def export_checkpoint(
    run_or_ckpt: str | Path,
    path: str | Path,
    *,
    frames: int | None = None,
    opset: int | None = None,
    inputs: Mapping[str, Sequence[int]] | None = None,
    check: bool = True,
    exporter: str = "torchscript",
) -> ExportReport:
    """Export a run folder (its newest checkpoint) or a checkpoint file to ONNX.

    The metadata records the model name and arguments, the input modalities and shapes, the embedding shape,
    the run's retrieval metric, dataset, the gaitforge version, the checkpoint file name and a hash of the
    run's whole config.

    Args:
        run_or_ckpt: Run folder or ``ckpt-*.pt`` file.
        path: Output ``.onnx`` file.
        frames: Fixed sequence length, or ``None`` for a dynamic one (where the model allows).
        opset: ONNX opset (default: :data:`~gaitforge.export.onnx.DEFAULT_OPSET`).
        inputs: Per-frame shapes by modality; default: from the run's test transforms
            (:func:`frame_shapes_from_config`).
        check: Compare ONNX Runtime with PyTorch before writing (see :func:`~gaitforge.export.export_onnx`).
        exporter: ``"torchscript"`` or ``"dynamo"``.
    """
    from gaitforge.config import config_to_dict
    from gaitforge.engine.evaluate import load_trained_model

    model, cfg, ckpt = load_trained_model(run_or_ckpt)
    modalities = tuple(getattr(model, "input_modalities", ("sil",)))
    shapes = dict(inputs) if inputs else frame_shapes_from_config(cfg, modalities)
    logger.info("exporting %s (%s) from %s", cfg.model.name, shapes, ckpt)
    metadata = {
        "config_hash": config_hash(config_to_dict(cfg)),
        "model_args": dict(cfg.model.args),
        "checkpoint": ckpt.name,
        "run": cfg.name,
        "dataset": cfg.data.dataset,
    }
    return export_onnx(
        model,
        path,
        inputs=shapes,
        frames=frames,
        opset=opset,
        check=check,
        exporter=exporter,
        model_name=cfg.model.name.lower(),
        metric=cfg.eval.metric,
        metadata=metadata,
    )
