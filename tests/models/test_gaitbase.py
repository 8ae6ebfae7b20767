"""GaitBase specifics: parameter count, peer state-dict layout, outputs, input checks."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model
from gaitforge.models.gaitbase import GaitBase


@pytest.mark.parametrize("classes", [74, 10])
def test_full_width_parameter_count(classes: int) -> None:
    model = GaitBase(num_classes=classes)
    assert sum(p.numel() for p in model.parameters()) == 7_002_304 + 4096 * classes


def test_peer_key_layout() -> None:
    keys = list(GaitBase(num_classes=5, channels=(8, 16, 16, 32), embed_dim=16).state_dict())
    assert keys[0] == "Backbone.forward_block.conv1.conv.weight"
    assert keys[-7:] == [
        "FCs.fc_bin",
        "BNNecks.fc_bin",
        "BNNecks.bn1d.weight",
        "BNNecks.bn1d.bias",
        "BNNecks.bn1d.running_mean",
        "BNNecks.bn1d.running_var",
        "BNNecks.bn1d.num_batches_tracked",
    ]


def test_outputs_and_configurable_width() -> None:
    model = create_model(
        "gaitbase", num_classes=6, channels=(8, 16, 16, 32), embed_dim=12, bins=(8, 4)
    ).eval()
    sil = (torch.rand(2, 5, 64, 44) > 0.5).float()
    out = model(Batch(inputs={"sil": sil}, labels=torch.tensor([0, 1])))
    assert out.embeddings.shape == (2, 12, 12)
    assert out.logits.shape == (2, 6, 12)
    bn = out.extras["bnneck_embeddings"]
    assert bn.shape == (2, 12, 12)
    torch.testing.assert_close(bn.norm(dim=1), torch.ones(2, 12))  # per-part L2-normalised BNNeck features
    assert out.logits.abs().max() <= 1 + 1e-5  # cosine logits
    assert model.FCs.fc_bin.shape == (12, 32, 12)


def test_multichannel_input_and_shape_errors() -> None:
    model = GaitBase(num_classes=3, in_channels=2, channels=(4, 4, 8, 8), embed_dim=8).eval()
    out = model(Batch(inputs={"sil": torch.rand(2, 3, 2, 64, 44)}, labels=torch.zeros(2, dtype=torch.long)))
    assert out.embeddings.shape == (2, 8, 16)
    with pytest.raises(ValueError, match=r"inputs\['sil'\].*\[B, T, 2, H, W\]"):
        model(Batch(inputs={"sil": torch.rand(2, 3, 64, 44)}, labels=torch.zeros(2, dtype=torch.long)))
