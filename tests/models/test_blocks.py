"""Shared blocks against naive loops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gaitforge.models.blocks import (
    BasicConv2d,
    HorizontalPyramidPooling,
    PerFrame,
    SeparateBNNecks,
    SeparateFCs,
    TemporalMaxPool,
    split_lengths,
    temporal_max_pool,
)
from gaitforge.models.resnet import ResNet9


def test_temporal_max_pool_stacked_and_packed() -> None:
    x = torch.randn(1, 4, 26, 3, 2)  # [1, c, ΣT, h, w]
    lengths = [5, 9, 12]
    out = temporal_max_pool(x, torch.tensor([[5, 9, 12]]))  # the peer's [1, k] form is accepted too
    start = 0
    for i, n in enumerate(lengths):
        expected = torch.stack([x[0, :, t] for t in range(start, start + n)]).max(dim=0).values
        torch.testing.assert_close(out[i], expected)
        start += n
    stacked = torch.randn(3, 4, 6, 2, 2)
    torch.testing.assert_close(TemporalMaxPool()(stacked), stacked.max(dim=2).values)


def test_temporal_max_pool_errors() -> None:
    with pytest.raises(ValueError, match="sum to 10 but the input has 26"):
        temporal_max_pool(torch.randn(1, 2, 26, 1, 1), [5, 5])
    with pytest.raises(ValueError, match="batch size 1"):
        temporal_max_pool(torch.randn(2, 2, 5, 1, 1), [5])
    with pytest.raises(ValueError, match="at least one frame"):
        split_lengths([3, 0])


def test_horizontal_pyramid_pooling_matches_loop() -> None:
    x = torch.randn(2, 3, 8, 5)
    hpp = HorizontalPyramidPooling((4, 2, 1))
    out = hpp(x)
    assert out.shape == (2, 3, 7) and hpp.parts == 7
    cols = []
    for b in (4, 2, 1):
        rows = 8 // b
        for i in range(b):
            strip = x[:, :, i * rows : (i + 1) * rows, :].reshape(2, 3, -1)
            cols.append(strip.mean(-1) + strip.max(-1).values)
    torch.testing.assert_close(out, torch.stack(cols, dim=-1))
    with pytest.raises(ValueError, match="3 equal strips"):
        HorizontalPyramidPooling((3,))(torch.randn(1, 1, 4, 1))


def test_separate_fcs_matches_loop() -> None:
    fcs = SeparateFCs(parts=4, in_channels=6, out_channels=5)
    assert fcs.fc_bin.shape == (4, 6, 5)
    x = torch.randn(3, 6, 4)
    expected = torch.stack([x[:, :, i] @ fcs.fc_bin[i] for i in range(4)], dim=-1)
    torch.testing.assert_close(fcs(x), expected)
    normed = SeparateFCs(4, 6, 5, norm=True)
    normed.fc_bin.data.copy_(fcs.fc_bin.data)
    expected = torch.stack([x[:, :, i] @ F.normalize(fcs.fc_bin[i], dim=0) for i in range(4)], dim=-1)
    torch.testing.assert_close(normed(x), expected)


def test_separate_bnnecks_matches_manual_computation() -> None:
    torch.manual_seed(0)
    neck = SeparateBNNecks(parts=3, in_channels=4, num_classes=5).eval()
    neck.bn1d.running_mean.normal_()
    neck.bn1d.running_var.uniform_(0.5, 1.5)
    neck.bn1d.weight.data.normal_()
    x = torch.randn(2, 4, 3)
    feat, logits = neck(x)
    assert feat.shape == (2, 4, 3) and logits.shape == (2, 5, 3)
    bn = neck.bn1d
    flat = x.reshape(2, 12)  # channel-major: index c·P + p
    y = (flat - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    y = y.reshape(2, 4, 3)
    for p in range(3):
        f = F.normalize(y[:, :, p], dim=1)
        torch.testing.assert_close(feat[:, :, p], f)
        torch.testing.assert_close(logits[:, :, p], f @ F.normalize(neck.fc_bin[p], dim=0))


def test_per_frame_and_resnet9_shapes_and_keys() -> None:
    net = PerFrame(ResNet9(1, (4, 8, 8, 16), (1, 1, 1, 1), (1, 2, 2, 1), maxpool=False)).eval()
    x = torch.randn(2, 1, 3, 64, 44)  # [n, c, s, h, w]
    out = net(x)
    assert out.shape == (2, 16, 3, 16, 11)
    # per frame: frame (1, 2) alone gives the same map
    torch.testing.assert_close(out[1, :, 2], net.forward_block(x[1, :, 2].unsqueeze(0))[0])
    keys = list(net.state_dict())
    assert keys[0] == "forward_block.conv1.conv.weight"
    assert not any(k.startswith("forward_block.layer1.0.downsample") for k in keys)  # 4 → 4, stride 1
    assert "forward_block.layer2.0.downsample.0.weight" in keys  # stride 2
    assert "forward_block.layer4.0.downsample.1.running_var" in keys  # 8 → 16 channels at stride 1
    assert "forward_block.layer3.0.downsample.0.weight" in keys  # 8 → 8 but stride 2
    with pytest.raises(ValueError, match="4 entries"):
        ResNet9(1, (4, 8), (1, 1), (1, 2))


def test_basic_conv2d_key() -> None:
    assert list(BasicConv2d(1, 2).state_dict()) == ["conv.weight"]
