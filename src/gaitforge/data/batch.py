"""The typed batch that flows from the data pipeline into models. Named fields, never positional tuples."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

__all__ = ["Batch"]


@dataclass
class Batch:
    """A batch of sequences.

    Attributes:
        inputs: Modality name → tensor. Stacked ``[B, T, ...]`` when every sequence has the same length
            (``seq_lens is None``), or packed ``[1, ΣT, ...]`` with ``seq_lens`` giving each sequence's length.
        labels: ``[B]`` int64 class indices (training) or -1 when unknown.
        seq_lens: ``[B]`` int64 frame counts for packed inputs, else ``None``.
        subjects, conditions, views: Per-sequence metadata, length ``B``.
    """

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor
    seq_lens: torch.Tensor | None = None
    subjects: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Number of sequences ``B``."""
        return int(self.labels.shape[0])

    @property
    def packed(self) -> bool:
        return self.seq_lens is not None

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """Move every tensor to ``device``."""
        return replace(
            self,
            inputs={k: v.to(device, non_blocking=non_blocking) for k, v in self.inputs.items()},
            labels=self.labels.to(device, non_blocking=non_blocking),
            seq_lens=None if self.seq_lens is None else self.seq_lens.to(device, non_blocking=non_blocking),
        )

    def pin_memory(self) -> Batch:
        """Pinned copy for fast host→GPU transfer (called by DataLoader when ``pin_memory=True``)."""
        return replace(
            self,
            inputs={k: v.pin_memory() for k, v in self.inputs.items()},
            labels=self.labels.pin_memory(),
            seq_lens=None if self.seq_lens is None else self.seq_lens.pin_memory(),
        )
