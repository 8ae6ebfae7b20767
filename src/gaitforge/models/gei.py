"""Gait Energy Image: a training-free baseline.

Han & Bhanu, "Individual Recognition Using Gait Energy Image", IEEE TPAMI 28(2), 2006. The GEI of a
sequence is the mean of its aligned binary silhouettes; matched by nearest neighbour (Euclidean distance
on the flattened image), which is exactly what the shared evaluation path does with ``[B, C, 1]``
embeddings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import split_lengths

__all__ = ["GaitEnergyImage"]

logger = logging.getLogger(__name__)


class GaitEnergyImage(GaitModel):
    """Mean silhouette per sequence, flattened: embeddings ``[B, H'·W', 1]``, no logits, no parameters.

    Args:
        size: Optional ``(H', W')`` to area-downsample the GEI to (e.g. ``(32, 22)``); ``None`` keeps the
            input size.
        modality: Key of ``Batch.inputs`` to read (``[B, T, H, W]`` or packed ``[1, ΣT, H, W]``).
        num_classes: Accepted so that every model can be built with the same keyword arguments; unused.
    """

    #: No trainable parameters: training loops must skip this model.
    trainable = False

    def __init__(
        self, size: Sequence[int] | None = None, modality: str = "sil", num_classes: int | None = None
    ) -> None:
        super().__init__()
        if size is not None and (len(size) != 2 or any(int(v) <= 0 for v in size)):
            raise ValueError(f"size: expected (height, width) with positive entries or None, got {size!r}")
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.input_modalities = (modality,)

    def energy_images(self, sil: torch.Tensor, seq_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Mean silhouette of each sequence.

        Args:
            sil: ``[B, T, H, W]`` stacked, or ``[1, ΣT, H, W]`` packed with ``seq_lens``.
            seq_lens: ``[B]`` frame counts of packed sequences, else ``None``.

        Returns:
            ``[B, H', W']`` float GEIs.
        """
        if sil.dim() != 4:
            raise ValueError(
                f"inputs[{self.input_modalities[0]!r}]: expected [B, T, H, W], got {list(sil.shape)}"
            )
        sil = sil.float()
        if seq_lens is None:
            gei = sil.mean(dim=1)
        else:
            lengths = split_lengths(seq_lens)
            if sil.shape[0] != 1 or sum(lengths) != sil.shape[1]:
                raise ValueError(f"packed input {list(sil.shape)} does not match seq_lens {lengths}")
            gei = torch.stack([chunk.mean(dim=0) for chunk in torch.split(sil[0], lengths, dim=0)])
        if self.size is not None and tuple(gei.shape[-2:]) != self.size:
            gei = F.interpolate(gei.unsqueeze(1), size=self.size, mode="area").squeeze(1)
        return gei

    def forward(self, batch: Batch) -> ModelOutput:
        """``embeddings``: ``[B, H'·W', 1]`` flattened GEIs; ``logits``: ``None``."""
        gei = self.energy_images(batch.inputs[self.input_modalities[0]], batch.seq_lens)  # [B, H', W']
        return ModelOutput(embeddings=gei.flatten(1).unsqueeze(-1), logits=None)
