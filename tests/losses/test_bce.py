"""The segmentation BCE and its routing from GaitEdge's outputs through a loss entry."""

from __future__ import annotations

import math

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.losses import build_losses
from gaitforge.losses.bce import SegmentationBCELoss
from gaitforge.models.gaitedge import GaitEdge


def test_value_and_stats_follow_the_definition() -> None:
    probs = torch.tensor([[0.9, 0.2], [0.6, 0.4]]).reshape(1, 1, 2, 2)
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).reshape(1, 1, 2, 2)
    value, stats = SegmentationBCELoss()(probs, target)
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4
    assert math.isclose(float(value), expected, rel_tol=1e-6)
    assert math.isclose(stats["hard_loss"], -math.log(0.4), rel_tol=1e-6)
    assert math.isclose(stats["miou"], 1 / 3, rel_tol=1e-6)  # predicted {0, 2}, true {0, 3}: 1 / 3


def test_identity_labels_are_refused_with_the_fix_named() -> None:
    with pytest.raises(ValueError, match="labels: seg_target"):
        SegmentationBCELoss()(torch.rand(2, 3, 4, 4), torch.tensor([0, 1]))


def test_gaitedge_outputs_route_to_the_named_loss() -> None:
    torch.manual_seed(0)
    model = GaitEdge(channels=(8, 16, 16), bins=(32,), num_classes=4, seg_widths=(4, 8, 8, 8), align_size=(32, 22))
    losses = build_losses(
        [
            {"name": "triplet", "input": "embeddings"},
            {"name": "bce", "weight": 0.5, "input": "seg_probs", "labels": "seg_target"},
        ]
    )
    sil = torch.zeros(4, 3, 32, 32)
    sil[..., 6:26, 12:20] = 1.0
    batch = Batch(
        inputs={"rgb": torch.randn(4, 3, 3, 32, 32), "sil": sil, "ratio": torch.full((4, 3), 0.4)},
        labels=torch.tensor([0, 0, 1, 1]),
    )
    total, stats = losses(model(batch), batch.labels)
    assert "bce/loss" in stats and "bce/miou" in stats
    total.backward()
    assert model.Backbone.Conv_1x1.weight.grad is not None  # the decoder learns from the BCE
