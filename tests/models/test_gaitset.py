"""GaitSet specifics: peer layout and size, the set property, both paths."""

from __future__ import annotations

import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model
from gaitforge.models.gaitset import GaitSet

SMALL = dict(channels=(8, 16, 16), embed_dim=12, bins=(8, 4, 2, 1))


def test_full_width_size_and_peer_keys() -> None:
    model = GaitSet()
    assert sum(p.numel() for p in model.parameters()) == 2_594_592  # the peer's CASIA-B GaitSet
    keys = list(model.state_dict())
    assert keys[0] == "set_block1.forward_block.0.conv.weight"
    assert keys[-1] == "Head.fc_bin" and model.Head.fc_bin.shape == (62, 128, 256)
    assert [k for k in keys if k.startswith("gl_block")] == [
        "gl_block2.0.conv.weight",
        "gl_block2.2.conv.weight",
        "gl_block3.0.conv.weight",
        "gl_block3.2.conv.weight",
    ]


def test_set_property_frame_order_does_not_matter() -> None:
    torch.manual_seed(0)
    model = create_model("gaitset", **SMALL).eval()
    sil = (torch.rand(2, 7, 32, 22) > 0.5).float()
    out = model(Batch(inputs={"sil": sil}, labels=torch.zeros(2, dtype=torch.long)))
    assert out.logits is None and out.embeddings.shape == (2, 12, 30)
    shuffled = sil[:, torch.randperm(7)]
    torch.testing.assert_close(model.embed(shuffled), out.embeddings, rtol=1e-6, atol=1e-6)


def test_global_path_feeds_the_second_half_of_the_parts() -> None:
    torch.manual_seed(0)
    model = create_model("gaitset", **SMALL).eval()
    sil = (torch.rand(1, 5, 32, 22) > 0.5).float()
    before = model.embed(sil)
    with torch.no_grad():
        model.gl_block3[2].conv.weight.mul_(2.0)
    after = model.embed(sil)
    torch.testing.assert_close(after[..., :15], before[..., :15])  # frame path: untouched
    assert not torch.allclose(after[..., 15:], before[..., 15:])  # global path: changed
