"""A loss the model computed itself, added to the total (already weighted by the model).

OpenGait's loss aggregator adds every plain tensor of ``training_feat`` to the total loss; BigGait (Ye et al.,
CVPR 2024) returns its connectivity, reconstruction and diversity regularisers that way. gaitforge models return
them as ``[B]`` extras (the scalar repeated per sequence, e.g. BigGait's ``aux_loss``); this loss takes their mean:
``{"name": "aux", "input": "aux_loss"}``.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

__all__ = ["AuxiliaryLoss"]

logger = logging.getLogger(__name__)


class AuxiliaryLoss(nn.Module):
    """The mean of a model output that already is a loss (labels are not used)."""

    default_input = "aux_loss"

    def forward(self, value: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """``value`` (any shape, e.g. ``[B]``) → its mean (0-dim) and the stat ``loss``."""
        del labels
        if value.numel() == 0:
            raise ValueError("aux: the model output is empty; expected the model's own loss values")
        loss = value.float().mean()
        return loss, {"loss": float(loss.detach())}
