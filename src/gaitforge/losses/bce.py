"""Binary cross-entropy of predicted foreground probabilities against silhouettes (GaitEdge's segmentation term).

Liang et al., "GaitEdge", ECCV 2022: the U-Net's sigmoid output is kept a segmentation by a per-pixel BCE against
the ground-truth silhouettes while the whole model is trained for identity. The model returns both tensors as
outputs, so a loss entry names them: ``{"name": "bce", "input": "seg_probs", "labels": "seg_target"}``.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

__all__ = ["SegmentationBCELoss"]

logger = logging.getLogger(__name__)


class SegmentationBCELoss(nn.Module):
    """``−(y·log(p + ε) + (1 − y)·log(1 − p + ε))`` averaged over every pixel (probabilities, not logits).

    Args:
        eps: ε inside the logarithms (the peer's 1e-9).
    """

    default_input = "seg_probs"

    def __init__(self, eps: float = 1e-9) -> None:
        super().__init__()
        if not 0 < eps < 0.5:
            raise ValueError(f"bce: eps must lie in (0, 0.5), got {eps}")
        self.eps = float(eps)

    def forward(self, probs: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss (0-dim) and stats ``loss``, ``hard_loss`` (the worst pixel) and ``miou`` (foreground IoU at 0.5,
        averaged over frames).

        Args:
            probs: ``[B, T, H, W]`` (any shape) foreground probabilities in ``[0, 1]``.
            target: Silhouettes of the same shape, ``{0, 1}`` (the model's ``seg_target``: name it as the entry's
                ``labels``).
        """
        if probs.shape != target.shape:
            raise ValueError(
                f"bce: probabilities {list(probs.shape)} and targets {list(target.shape)} differ in shape; the loss "
                "entry needs labels: seg_target (GaitEdge's silhouettes), not the identity labels"
            )
        p, y = probs.float(), target.float()
        loss = -(y * torch.log(p + self.eps) + (1.0 - y) * torch.log(1.0 - p + self.eps))
        value = loss.mean()
        with torch.no_grad():
            pred, truth = (p > 0.5).flatten(-2), (y > 0.5).flatten(-2)
            inter = (pred & truth).sum(-1).float()
            union = (pred | truth).sum(-1).float()
            miou = float((inter / union.clamp(min=1)).mean()) if union.numel() else 0.0
            hard = float(loss.max()) if loss.numel() else 0.0
        return value, {"loss": float(value.detach()), "hard_loss": hard, "miou": miou}
