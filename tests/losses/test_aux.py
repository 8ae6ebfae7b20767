"""The auxiliary loss: the mean of a loss the model computed."""

from __future__ import annotations

import pytest
import torch

from gaitforge.losses import build_losses
from gaitforge.losses.aux import AuxiliaryLoss
from gaitforge.models.base import ModelOutput


def test_mean_of_the_output_and_routing() -> None:
    value, stats = AuxiliaryLoss()(torch.tensor([0.5, 0.5, 2.0]), torch.zeros(3))
    assert float(value) == pytest.approx(1.0) and stats["loss"] == pytest.approx(1.0)
    losses = build_losses([{"name": "aux", "weight": 2.0, "input": "aux_loss"}])
    out = ModelOutput(embeddings=torch.zeros(2, 1, 1), extras={"aux_loss": torch.tensor([3.0, 3.0])})
    total, stats = losses(out, torch.zeros(2, dtype=torch.long))
    assert float(total) == pytest.approx(6.0) and stats["aux/loss"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="empty"):
        AuxiliaryLoss()(torch.zeros(0), torch.zeros(0))
