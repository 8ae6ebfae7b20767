"""The Plain backbone and the early Plain-backbone baseline: size, keys, shapes."""

from __future__ import annotations

import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model
from gaitforge.models.plain import PLAIN_CASIAB_LAYERS, PlainBackbone, PlainBaseline


def test_casiab_size_from_the_layer_list() -> None:
    convs = 1 * 64 * 25 + 64 * 64 * 9 + 64 * 128 * 9 + 128 * 128 * 9 + 128 * 256 * 9 + 256 * 256 * 9
    for classes in (74, 10):
        model = PlainBaseline(num_classes=classes)
        expected = convs + 31 * 256 * 256 + 31 * 256 * classes + 2 * 31 * 256
        assert sum(p.numel() for p in model.parameters()) == expected
    keys = list(PlainBaseline().state_dict())
    assert keys[0] == "Backbone.forward_block.feature.0.conv.weight"
    assert keys[-7:-5] == ["FCs.fc_bin", "BNNecks.fc_bin"]


def test_backbone_channels_and_outputs() -> None:
    assert PlainBackbone(PLAIN_CASIAB_LAYERS).out_channels == 256
    assert PlainBackbone(["BC-8", "M", "FC-12-1"]).out_channels == 12
    model = create_model(
        "plain_baseline",
        num_classes=5,
        layers_cfg=("BC-8", "M", "BC-16", "M", "BC-16"),
        embed_dim=8,
        bins=(8, 4),
    ).eval()
    out = model(Batch(inputs={"sil": torch.rand(3, 4, 32, 22)}, labels=torch.zeros(3, dtype=torch.long)))
    assert out.embeddings.shape == (3, 8, 12) and out.logits.shape == (3, 5, 12)
    torch.testing.assert_close(out.extras["bnneck_embeddings"].norm(dim=1), torch.ones(3, 12))
