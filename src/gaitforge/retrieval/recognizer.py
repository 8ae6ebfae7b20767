"""Embed walking sequences with a trained model, exactly as ``gaitforge eval`` does, into retrieval vectors."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from gaitforge.config import Config
from gaitforge.data.collate import collate_samples
from gaitforge.data.dataset import GaitSample
from gaitforge.data.sequence import Sequence
from gaitforge.data.transforms import build_transform
from gaitforge.engine.data_setup import frame_sampler
from gaitforge.engine.device import resolve_device
from gaitforge.engine.evaluate import load_trained_model
from gaitforge.io.silhouettes import InputLimits, InputRefused, prepare_silhouettes, read_png_frames
from gaitforge.retrieval.vectors import check_metric, flatten_embeddings

__all__ = ["Recognizer"]

logger = logging.getLogger(__name__)

#: Per-frame shapes of a dummy input used to find the embedding size, per modality.
_DUMMY_FRAMES: dict[str, tuple[tuple[int, ...], np.dtype]] = {
    "sil": ((64, 64), np.dtype(np.uint8)),
    "skeleton_map": ((2, 64, 64), np.dtype(np.uint8)),
    "pose": ((17, 3), np.dtype(np.float32)),
}


class Recognizer:
    """A trained model turned into an embedding function for retrieval.

    Frames go through the run's own test-time pipeline (``data.test_frames`` sampling, ``data.test_transforms``),
    then ``model(batch).embeddings`` ``[N, C, P]``, then :func:`~gaitforge.retrieval.vectors.flatten_embeddings`
    for the run's ``eval.metric``: vectors of ``dim = C * P`` float32.

    Args:
        model: A gaitforge model (put in eval mode).
        config: The run's config.
        device: Where the model runs.
        checkpoint: The checkpoint file it came from (recorded in :meth:`describe`).
        batch_size: Sequences per forward pass (default ``eval.batch_size``).
        limits: Bounds every input is checked against (:func:`~gaitforge.io.silhouettes.prepare_silhouettes`:
            frame count and size, a silhouette in at least ``min_frames`` frames); default
            :class:`~gaitforge.io.silhouettes.InputLimits`.

    Attributes:
        dim: Vector length ``C * P``.
        metric: ``"euc"`` or ``"cos"``.
        channels, parts: ``C`` and ``P``.
        modalities: Inputs the model reads (``data.modalities``).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: Config,
        device: torch.device | str = "cpu",
        checkpoint: Path | None = None,
        batch_size: int | None = None,
        limits: InputLimits | None = None,
    ) -> None:
        self.limits = limits or InputLimits()
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.config = config
        self.checkpoint = checkpoint
        self.metric = check_metric(config.eval.metric)
        self.modalities = tuple(config.data.modalities)
        self.batch_size = int(batch_size or config.eval.batch_size)
        self._sampler = frame_sampler(config.data.test_frames)
        self._transform = build_transform(config.data.test_transforms, "data.test_transforms")
        unknown = [m for m in self.modalities if m not in _DUMMY_FRAMES]
        if unknown:
            raise ValueError(
                f"Recognizer: data.modalities {list(self.modalities)} include {unknown}; supported inputs are "
                f"{sorted(_DUMMY_FRAMES)}"
            )
        dummy = {m: np.zeros((8, *_DUMMY_FRAMES[m][0]), _DUMMY_FRAMES[m][1]) for m in self.modalities}
        shape = self._forward([dummy]).shape  # [1, C, P]
        self.channels, self.parts = int(shape[1]), int(shape[2])
        self.dim = self.channels * self.parts

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, device: str = "cpu", batch_size: int | None = None, limits: InputLimits | None = None
    ) -> Recognizer:
        """Load a run folder (its newest checkpoint) or a checkpoint file.

        Args:
            path: Run folder or ``ckpt-*.pt``.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
            batch_size: Sequences per forward pass.
            limits: Input bounds (default :class:`~gaitforge.io.silhouettes.InputLimits`).
        """
        dev = resolve_device(device)
        model, cfg, ckpt = load_trained_model(path, dev)
        return cls(model, cfg, dev, ckpt, batch_size, limits)

    def describe(self) -> dict[str, Any]:
        """What produced the vectors (stored in a gallery as ``Gallery.model``)."""
        return {
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "model": self.config.model.name,
            "run": self.config.name,
            "dim": self.dim,
            "metric": self.metric,
        }

    # -- inputs ------------------------------------------------------------------------------------------

    def _arrays(
        self, item: Sequence | np.ndarray, pretreated: bool | None, limits: InputLimits
    ) -> dict[str, np.ndarray]:
        """Modality → frames ``[T, ...]`` ready for frame sampling (silhouettes checked and pretreated)."""
        if isinstance(item, Sequence):
            missing = [m for m in self.modalities if m not in item.modalities]
            if missing:
                raise ValueError(
                    f"sequence {item.key}: lacks modalities {missing}; the model reads {list(self.modalities)} "
                    f"and the sequence has {sorted(item.modalities)}"
                )
            arrays = {m: np.asarray(item.modalities[m]) for m in self.modalities}
            name = item.key
        elif isinstance(item, np.ndarray):
            if self.modalities != ("sil",):
                raise ValueError(
                    f"an array is read as silhouettes, but the model reads {list(self.modalities)}; pass a Sequence"
                )
            arrays, name = {"sil": item}, f"array {list(np.shape(item))}"
        else:
            raise ValueError(f"expected a Sequence or a uint8 [T, H, W] array, got {type(item).__name__}")
        if "sil" in arrays:
            arrays["sil"] = prepare_silhouettes(arrays["sil"], name, limits, pretreated)
        lengths = {m: a.shape[0] for m, a in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{name}: frame counts per modality are {lengths}; expected equal")
        if min(lengths.values()) < limits.min_frames:
            raise InputRefused(
                "too_few_frames",
                f"{name}: {min(lengths.values())} frames; at least {limits.min_frames} are needed (min_frames)",
                limits.min_frames,
            )
        return arrays

    # -- embedding ---------------------------------------------------------------------------------------

    @torch.no_grad()
    def _forward(self, batch_arrays: list[dict[str, np.ndarray]]) -> np.ndarray:
        """Raw embeddings ``[B, C, P]`` of prepared sequences (frame sampling and transforms applied here)."""
        rng = np.random.default_rng(0)
        samples = []
        for arrays in batch_arrays:
            length = next(iter(arrays.values())).shape[0]
            idx = self._sampler.sample(length, rng)
            tf_seed = int(rng.integers(0, 2**63 - 1))
            inputs = {}
            for m, a in arrays.items():
                x = np.asarray(a[idx])
                inputs[m] = x if self._transform is None else self._transform(x, np.random.default_rng(tf_seed))
            samples.append(GaitSample(inputs, -1, "", "", "", -1))
        batch = collate_samples(samples).to(self.device)
        return self.model(batch).embeddings.float().cpu().numpy()

    def embed_parts(
        self,
        sequences: Iterable[Sequence | np.ndarray],
        pretreated: bool | None = None,
        progress: bool = False,
        limits: InputLimits | None = None,
    ) -> np.ndarray:
        """Raw part embeddings ``[N, C, P]`` float32, as ``gaitforge eval`` computes them.

        Args:
            sequences: :class:`~gaitforge.data.sequence.Sequence` objects or uint8 silhouettes ``[T, H, W]``.
            pretreated: Whether arrays are already pretreated; ``None``: square 64 or 128 px frames are, others are
                pretreated here (:func:`~gaitforge.preprocess.silhouette.pretreat_sequence`).
            progress: Show a progress bar.
            limits: Bounds for these inputs (default: the recognizer's ``limits``).

        Raises:
            InputRefused: a sequence without a silhouette, with fewer than ``min_frames`` frames holding one, or
                over a limit (:func:`~gaitforge.io.silhouettes.prepare_silhouettes`).
        """
        bounds = limits or self.limits
        out: list[np.ndarray] = []
        pending: list[dict[str, np.ndarray]] = []
        for item in tqdm(sequences, desc="embed", unit="seq", disable=not progress, dynamic_ncols=True):
            pending.append(self._arrays(item, pretreated, bounds))
            if len(pending) == self.batch_size:
                out.append(self._forward(pending))
                pending = []
        if pending:
            out.append(self._forward(pending))
        if not out:
            return np.empty((0, self.channels, self.parts), np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def embed_many(
        self,
        sequences: Iterable[Sequence | np.ndarray],
        pretreated: bool | None = None,
        progress: bool = False,
        limits: InputLimits | None = None,
    ) -> np.ndarray:
        """Retrieval vectors ``[N, dim]`` float32 (see :meth:`embed_parts` for the arguments)."""
        parts = self.embed_parts(sequences, pretreated, progress, limits)
        return flatten_embeddings(parts, self.metric).reshape(len(parts), self.dim)

    def embed(self, sequence: Sequence | np.ndarray, pretreated: bool | None = None) -> np.ndarray:
        """Retrieval vector ``[dim]`` of one sequence or uint8 silhouettes ``[T, H, W]`` (raw frames are pretreated)."""
        return self.embed_many([sequence], pretreated)[0]

    def embed_folder(self, path: str | Path) -> np.ndarray:
        """Retrieval vector ``[dim]`` of a folder of silhouette PNG frames (read in name order).

        Frames are pretreated unless they are square 64 or 128 px (already pretreated, as :meth:`embed` decides);
        the folder is bounded and checked as every input is (:func:`~gaitforge.io.silhouettes.read_png_frames`,
        :func:`~gaitforge.io.silhouettes.prepare_silhouettes`).
        """
        frames, _ = read_png_frames(path, self.limits)
        if not frames:
            raise FileNotFoundError(f"{path}: no *.png frames in the folder")
        return self.embed(prepare_silhouettes(frames, str(path), self.limits), pretreated=True)

    def __repr__(self) -> str:
        return (
            f"Recognizer(model={self.config.model.name!r}, dim={self.dim} ({self.channels}x{self.parts}), "
            f"metric={self.metric!r}, device={self.device})"
        )
