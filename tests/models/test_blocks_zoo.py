"""The shared blocks added for the model zoo, against naive loops and hand computations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.models.blocks import (
    FocalConv2d,
    GeMHorizontalPooling,
    PerSequence,
    init_peer_parameters,
    plain_layers,
    to_sequence_tensor,
)
from gaitforge.models.blocks3d import BasicBlock3D, BasicBlockP3D, BasicConv3d, residual_stage


def test_focal_conv_convolves_each_strip_separately() -> None:
    torch.manual_seed(0)
    conv = FocalConv2d(3, 4, kernel_size=3, padding=1, halving=2)
    x = torch.randn(2, 3, 16, 5)
    strips = [F.conv2d(x[:, :, 4 * i : 4 * i + 4], conv.conv.weight, padding=1) for i in range(4)]
    torch.testing.assert_close(conv(x), torch.cat(strips, dim=2))
    plain = FocalConv2d(3, 4, halving=0)
    plain.conv.weight.data.copy_(conv.conv.weight.data)
    torch.testing.assert_close(plain(x), F.conv2d(x, conv.conv.weight, padding=1))
    assert not torch.allclose(plain(x), conv(x))  # the strips do not see each other
    assert list(conv.state_dict()) == ["conv.weight"]


def test_plain_layers_layout_and_errors() -> None:
    seq = plain_layers(["BC-8", "BC-8", "M", "FC-16-2"], in_channels=1)
    kinds = [type(m).__name__ for m in seq]
    assert kinds == [
        "BasicConv2d",
        "LeakyReLU",
        "BasicConv2d",
        "LeakyReLU",
        "MaxPool2d",
        "FocalConv2d",
        "LeakyReLU",
    ]
    assert seq[0].conv.kernel_size == (5, 5) and seq[0].conv.padding == (2, 2)
    assert seq[2].conv.kernel_size == (3, 3) and seq[5].halving == 2
    assert seq[1].negative_slope == 0.01
    assert plain_layers(["BC-8"], 4, first_kernel=3)[0].conv.kernel_size == (3, 3)
    assert plain_layers(["BC-8", "M"], 1)(torch.zeros(1, 1, 8, 6)).shape == (1, 8, 4, 3)
    with pytest.raises(ValueError, match=r"layers_cfg\[1\]: expected 'BC-<channels>'.*'XX-3'"):
        plain_layers(["BC-8", "XX-3"], 1)
    with pytest.raises(ValueError, match=r"layers_cfg\[0\]: the first entry must be a convolution"):
        plain_layers(["M", "BC-8"], 1)
    with pytest.raises(ValueError, match=r"layers_cfg\[0\].*'FC-8'"):
        plain_layers(["FC-8"], 1)


class _SumFrames(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=2)


def test_per_sequence_matches_loop_and_checks_lengths() -> None:
    wrapper = PerSequence(_SumFrames())
    x = torch.randn(1, 3, 10, 2)
    out = wrapper(x, torch.tensor([[4, 6]]))
    torch.testing.assert_close(out, torch.stack([x[0, :, :4].sum(1), x[0, :, 4:].sum(1)]))
    stacked = torch.randn(2, 3, 5, 2)
    torch.testing.assert_close(wrapper(stacked), stacked.sum(2))
    with pytest.raises(ValueError, match="sum to 9 but the input has 10"):
        wrapper(x, [4, 5])
    with pytest.raises(ValueError, match="batch size 1"):
        wrapper(stacked, [5])
    assert "pooling_func" in dict(wrapper.named_children())


def test_gem_pooling_matches_formula_and_p_is_learnable() -> None:
    gem = GeMHorizontalPooling(bins=(4, 2), p=3.0, eps=1e-6)
    x = torch.rand(2, 3, 4, 5) - 0.2  # some negatives: clamped to eps
    out = gem(x)
    assert out.shape == (2, 3, 6) and gem.parts == 6
    flat = x.clamp(min=1e-6).reshape(2, 3, -1)
    cols = []
    for b in (4, 2):
        size = 20 // b
        for i in range(b):
            cols.append(flat[..., i * size : (i + 1) * size].pow(3).mean(-1).pow(1 / 3))
    torch.testing.assert_close(out, torch.stack(cols, dim=-1))
    out.sum().backward()
    assert gem.p.grad is not None and gem.p.shape == (1,)
    with pytest.raises(ValueError, match="3 equal strips"):
        GeMHorizontalPooling((3,))(torch.rand(1, 1, 4, 1))


def test_p3d_block_mixes_only_neighbouring_frames() -> None:
    torch.manual_seed(0)
    block = BasicBlockP3D(4, 4).eval()
    x = torch.randn(1, 4, 7, 6, 5)
    y = x.clone()
    y[:, :, 3] += 1.0
    diff = (block(x) - block(y)).abs().amax(dim=(0, 1, 3, 4))
    assert (diff[2:5] > 0).all() and (diff[[0, 1, 5, 6]] == 0).all()  # (3, 1, 1) temporal kernel
    keys = list(block.state_dict())
    assert keys[:2] == ["conv1.forward_block.0.weight", "conv1.forward_block.1.weight"]
    assert "shortcut3d.weight" in keys and "sbn.running_var" in keys


def test_3d_block_and_stages() -> None:
    stage = residual_stage("3d", 4, 8, 2, 2).eval()
    assert isinstance(stage[0], BasicBlock3D) and stage[1].downsample is None
    assert stage[0].downsample[0].stride == (1, 2, 2)
    assert stage(torch.randn(1, 4, 5, 8, 6)).shape == (1, 8, 5, 4, 3)
    p3d = residual_stage("p3d", 4, 4, 1, 1)
    assert p3d[0].downsample is None  # same width and stride: identity shortcut
    two_d = residual_stage("2d", 4, 8, 2, 1)
    assert isinstance(two_d[0].downsample[0], nn.Conv2d)
    with pytest.raises(ValueError, match="mode: expected '2d', 'p3d' or '3d'"):
        residual_stage("4d", 4, 4, 1, 1)
    with pytest.raises(ValueError, match="at least one block"):
        residual_stage("2d", 4, 4, 1, 0)


def test_basic_conv3d_key_and_to_sequence_tensor() -> None:
    assert list(BasicConv3d(1, 2).state_dict()) == ["conv3d.weight"]
    x = torch.zeros(2, 5, 3, 8, 6)
    assert to_sequence_tensor(x, 3).shape == (2, 3, 5, 8, 6)
    with pytest.raises(ValueError, match=r"inputs\['maps'\]"):
        to_sequence_tensor(x, 2, "maps")


def test_init_peer_parameters() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4), nn.Linear(4, 5))
    nn.init.constant_(net[0].bias, 3.0)
    init_peer_parameters(net)
    net.requires_grad_(False)
    assert float(net[0].bias.abs().max()) == 0 and float(net[2].bias.abs().max()) == 0
    assert float(net[1].bias.abs().max()) == 0 and float((net[1].weight - 1).abs().max()) < 0.1
    bound = (6 / (4 + 5)) ** 0.5  # Xavier-uniform bound of the linear map
    assert float(net[2].weight.abs().max()) <= bound
