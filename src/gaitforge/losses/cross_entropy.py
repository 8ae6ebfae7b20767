"""Part-wise cross-entropy on scaled (cosine) BNNeck logits, with label smoothing.

Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016 (label smoothing); Luo et al.,
"Bag of Tricks and a Strong Baseline for Deep Person Re-identification", CVPRW 2019 (BNNeck + ID loss).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CrossEntropyLoss"]

logger = logging.getLogger(__name__)


class CrossEntropyLoss(nn.Module):
    """Cross-entropy of ``scale · logits`` for every part against the sequence label, averaged over
    sequences and parts.

    Args:
        scale: Multiplier of the logits (the field's default 16 for cosine logits in [-1, 1]).
        label_smoothing: Label smoothing ε (default 0.1; 0 disables it).
    """

    default_input = "logits"

    def __init__(self, scale: float = 16.0, label_smoothing: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing: expected a value in [0, 1), got {label_smoothing}")
        self.scale, self.label_smoothing = float(scale), float(label_smoothing)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss (0-dim) and stats ``loss``, ``accuracy`` (per-part argmax, averaged over sequences and parts).

        Args:
            logits: ``[n, N, p]`` per-part class logits (``[n, N]`` is taken as one part).
            labels: ``[n]`` class indices in ``[0, N)``.
        """
        if logits.dim() == 2:
            logits = logits.unsqueeze(-1)
        if logits.dim() != 3 or labels.shape != (logits.shape[0],):
            raise ValueError(
                f"ce: expected logits [n, N, p] and labels [n], got {list(logits.shape)} and "
                f"{list(labels.shape)}"
            )
        n, num_classes, p = logits.shape
        if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
            raise ValueError(
                f"ce: labels must lie in [0, {num_classes}) (the classifier's classes), got "
                f"min {int(labels.min())}, max {int(labels.max())}"
            )
        target = labels.long().unsqueeze(1).expand(n, p)  # [n, p]
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # half (AMP) → float32
        loss = F.cross_entropy(logits * self.scale, target, label_smoothing=self.label_smoothing)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=1) == target).float().mean()
        return loss, {"loss": float(loss.detach()), "accuracy": float(accuracy)}
