"""Embed walking sequences with a trained model, exactly as ``gaitforge eval`` does, into retrieval vectors."""

from __future__ import annotations

import logging
import warnings
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
from gaitforge.preprocess.silhouette import NoValidFrameWarning, pretreat_sequence, read_png_folder
from gaitforge.retrieval.vectors import check_metric, flatten_embeddings

__all__ = ["Recognizer"]

logger = logging.getLogger(__name__)

#: Per-frame shapes of a dummy input used to find the embedding size, per modality.
_DUMMY_FRAMES: dict[str, tuple[tuple[int, ...], np.dtype]] = {
    "sil": ((64, 64), np.dtype(np.uint8)),
    "skeleton_map": ((2, 64, 64), np.dtype(np.uint8)),
    "pose": ((17, 3), np.dtype(np.float32)),
}
#: Square silhouette sizes taken as already pretreated.
_PRETREATED_SIZES = (64, 128)


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
    ) -> None:
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
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", batch_size: int | None = None) -> Recognizer:
        """Load a run folder (its newest checkpoint) or a checkpoint file.

        Args:
            path: Run folder or ``ckpt-*.pt``.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
            batch_size: Sequences per forward pass.
        """
        dev = resolve_device(device)
        model, cfg, ckpt = load_trained_model(path, dev)
        return cls(model, cfg, dev, ckpt, batch_size)

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

    def _arrays(self, item: Sequence | np.ndarray, pretreated: bool | None) -> dict[str, np.ndarray]:
        """Modality → frames ``[T, ...]`` ready for frame sampling (silhouettes pretreated)."""
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
            arrays, name = {"sil": item}, "array"
        else:
            raise ValueError(f"expected a Sequence or a uint8 [T, H, W] array, got {type(item).__name__}")
        if "sil" in arrays:
            arrays["sil"] = self._silhouettes(arrays["sil"], pretreated, name)
        lengths = {m: a.shape[0] for m, a in arrays.items()}
        if min(lengths.values()) < 1 or len(set(lengths.values())) > 1:
            raise ValueError(f"{name}: frame counts per modality are {lengths}; expected equal and >= 1")
        return arrays

    @staticmethod
    def _silhouettes(frames: np.ndarray, pretreated: bool | None, name: str) -> np.ndarray:
        x = np.asarray(frames)
        if x.dtype == np.bool_:
            x = x.astype(np.uint8) * 255
        if x.ndim != 3 or x.dtype != np.uint8:
            raise ValueError(f"{name}: silhouettes are {x.dtype} {tuple(x.shape)}; expected uint8 [T, H, W]")
        if pretreated is None:
            pretreated = x.shape[1] == x.shape[2] and x.shape[1] in _PRETREATED_SIZES
        if pretreated:
            return x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoValidFrameWarning)
            out = pretreat_sequence(x)
        assert isinstance(out, np.ndarray)
        if not len(out):
            raise ValueError(
                f"{name}: none of {len(x)} frames survived silhouette pretreatment (empty or off-centre silhouettes)"
            )
        return out

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
        self, sequences: Iterable[Sequence | np.ndarray], pretreated: bool | None = None, progress: bool = False
    ) -> np.ndarray:
        """Raw part embeddings ``[N, C, P]`` float32, as ``gaitforge eval`` computes them.

        Args:
            sequences: :class:`~gaitforge.data.sequence.Sequence` objects or uint8 silhouettes ``[T, H, W]``.
            pretreated: Whether arrays are already pretreated; ``None``: square 64 or 128 px frames are, others are
                pretreated here (:func:`~gaitforge.preprocess.silhouette.pretreat_sequence`).
            progress: Show a progress bar.
        """
        out: list[np.ndarray] = []
        pending: list[dict[str, np.ndarray]] = []
        for item in tqdm(sequences, desc="embed", unit="seq", disable=not progress, dynamic_ncols=True):
            pending.append(self._arrays(item, pretreated))
            if len(pending) == self.batch_size:
                out.append(self._forward(pending))
                pending = []
        if pending:
            out.append(self._forward(pending))
        if not out:
            return np.empty((0, self.channels, self.parts), np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def embed_many(
        self, sequences: Iterable[Sequence | np.ndarray], pretreated: bool | None = None, progress: bool = False
    ) -> np.ndarray:
        """Retrieval vectors ``[N, dim]`` float32 (see :meth:`embed_parts` for the arguments)."""
        parts = self.embed_parts(sequences, pretreated, progress)
        return flatten_embeddings(parts, self.metric).reshape(len(parts), self.dim)

    def embed(self, sequence: Sequence | np.ndarray, pretreated: bool | None = None) -> np.ndarray:
        """Retrieval vector ``[dim]`` of one sequence or uint8 silhouettes ``[T, H, W]`` (raw frames are pretreated)."""
        return self.embed_many([sequence], pretreated)[0]

    def embed_folder(self, path: str | Path) -> np.ndarray:
        """Retrieval vector ``[dim]`` of a folder of silhouette PNG frames (read in name order).

        Frames are pretreated unless they are square 64 or 128 px (already pretreated, as :meth:`embed` decides).
        """
        frames, names = read_png_folder(path)
        if not frames:
            raise FileNotFoundError(f"{path}: no *.png frames in the folder")
        if len({f.shape for f in frames}) == 1:
            return self.embed(np.stack(frames))
        with warnings.catch_warnings():  # frames of different sizes: pretreat them one by one
            warnings.simplefilter("ignore", NoValidFrameWarning)
            sil = pretreat_sequence(frames)
        assert isinstance(sil, np.ndarray)
        if not len(sil):
            raise ValueError(f"{path}: none of {len(names)} frames survived silhouette pretreatment")
        return self.embed(sil, pretreated=True)

    def __repr__(self) -> str:
        return (
            f"Recognizer(model={self.config.model.name!r}, dim={self.dim} ({self.channels}x{self.parts}), "
            f"metric={self.metric!r}, device={self.device})"
        )
