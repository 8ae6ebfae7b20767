"""The model contract: ``forward(batch) -> ModelOutput``, ``embed(inputs, seq_lens) -> [B, C, P]``."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from gaitforge.data.batch import Batch

__all__ = ["ModelOutput", "GaitModel"]


@dataclass
class ModelOutput:
    """What every model returns.

    Attributes:
        embeddings: ``[B, C, P]`` part embeddings used for retrieval and metric losses.
        logits: ``[B, N, P]`` per-part class logits (BNNeck classifier) or ``None``.
        extras: Any other named tensors (e.g. ``"bnneck_embeddings"``), routed to losses by name.
    """

    embeddings: torch.Tensor
    logits: torch.Tensor | None = None
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def get(self, name: str) -> torch.Tensor:
        """Field by name (``embeddings``, ``logits`` or an extras key); clear error when absent."""
        if name == "embeddings":
            return self.embeddings
        if name == "logits":
            if self.logits is None:
                raise KeyError("this model returns no logits (it has no classifier head)")
            return self.logits
        if name not in self.extras:
            raise KeyError(f"model output has no field {name!r}; available: embeddings, logits, {sorted(self.extras)}")
        return self.extras[name]


class GaitModel(nn.Module):
    """Base class of gaitforge models: a network, nothing else (no data, optimiser or loop)."""

    #: Modality names read from ``Batch.inputs``, in order.
    input_modalities: tuple[str, ...] = ("sil",)

    def forward(self, batch: Batch) -> ModelOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    @torch.no_grad()
    def embed(
        self, inputs: torch.Tensor | dict[str, torch.Tensor], seq_lens: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Inference embeddings ``[B, C, P]`` for stacked ``[B, T, ...]`` or packed ``[1, ΣT, ...]`` inputs."""
        if isinstance(inputs, torch.Tensor):
            inputs = {self.input_modalities[0]: inputs}
        first = next(iter(inputs.values()))
        n = int(seq_lens.shape[0]) if seq_lens is not None else int(first.shape[0])
        batch = Batch(
            inputs=inputs, labels=torch.full((n,), -1, dtype=torch.long, device=first.device), seq_lens=seq_lens
        )
        return self.forward(batch).embeddings
