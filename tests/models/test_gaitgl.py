"""GaitGL specifics: GLConv, short sequences, the two layouts, the BNNeck head, peer size."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model
from gaitforge.models.gaitgl import GaitGL, GLConv

SMALL = dict(channels=(4, 8, 8), bins=(32,), num_classes=5)


def test_full_width_size_and_keys() -> None:
    model = GaitGL()
    assert sum(p.numel() for p in model.parameters()) == 3_096_673  # the peer's CASIA-B GaitGL
    keys = list(model.state_dict())
    assert keys[:2] == ["conv3d.0.conv3d.weight", "LTA.0.conv3d.weight"]
    assert "HPP.p" in keys and keys[-1] == "Head1.fc_bin"
    large = list(GaitGL(channels=(4, 8, 8, 16), num_classes=3).state_dict())
    assert "conv3d.2.conv3d.weight" in large and "GLConvB2.1.local_conv3d.conv3d.weight" in large
    with pytest.raises(ValueError, match="channels: expected 3"):
        GaitGL(channels=(4, 8))


def test_glconv_local_branch_and_stacking() -> None:
    torch.manual_seed(0)
    conv = GLConv(2, 3, halving=1)
    x = torch.randn(1, 2, 3, 8, 4)
    local = torch.cat([conv.local_conv3d(x[..., :4, :]), conv.local_conv3d(x[..., 4:, :])], dim=3)
    expected = torch.nn.functional.leaky_relu(conv.global_conv3d(x)) + torch.nn.functional.leaky_relu(local)
    torch.testing.assert_close(conv(x), expected)
    stacked = GLConv(2, 3, halving=1, stack_local=True)
    assert stacked(x).shape == (1, 3, 3, 16, 4)


def test_short_sequences_are_repeated_and_batches_work() -> None:
    torch.manual_seed(0)
    model = create_model("gaitgl", **SMALL).eval()
    frame = (torch.rand(1, 1, 32, 22) > 0.5).float()
    torch.testing.assert_close(model.embed(frame), model.embed(frame.repeat(1, 3, 1, 1)))
    two = (torch.rand(1, 2, 32, 22) > 0.5).float()
    torch.testing.assert_close(model.embed(two), model.embed(two.repeat(1, 2, 1, 1)))
    batch = (torch.rand(3, 9, 32, 22) > 0.5).float()  # the peer's eval forward refuses batches > 1
    together = model.embed(batch)
    one_by_one = torch.cat([model.embed(batch[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, one_by_one, rtol=1e-5, atol=1e-5)


def test_default_and_bnneck_heads() -> None:
    torch.manual_seed(0)
    sil = (torch.rand(2, 6, 32, 22) > 0.5).float()
    batch = Batch(inputs={"sil": sil}, labels=torch.zeros(2, dtype=torch.long))
    plain = create_model("gaitgl", **SMALL).eval()
    out = plain(batch)
    assert out.embeddings.shape == (2, 8, 32) and out.logits.shape == (2, 5, 32)
    bn = plain.Bn
    gait = out.extras["pre_bn_embeddings"]
    expected = (gait - bn.running_mean[None, :, None]) / torch.sqrt(bn.running_var[None, :, None] + bn.eps)
    torch.testing.assert_close(out.embeddings, expected * bn.weight[None, :, None] + bn.bias[None, :, None])
    neck = create_model("gaitgl", bnneck=True, **SMALL).eval()
    out = neck(batch)
    torch.testing.assert_close(out.embeddings.norm(dim=1), torch.ones(2, 32))  # BNNeck features, normalised
    assert out.extras["pre_bnneck_embeddings"].shape == (2, 8, 32)
    assert neck.opengait_outputs["training_feat/triplet/embeddings"] == "pre_bnneck_embeddings"
