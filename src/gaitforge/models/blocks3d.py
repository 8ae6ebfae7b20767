"""Blocks over whole sequences ``[n, C, s, H, W]``: a 3D convolution (GaitGL) and the pseudo-3D and 3D residual
blocks and stages of DeepGaitV2 (also SwinGait's convolutional stages).

Submodule and parameter names follow OpenGait's (``conv3d``, ``shortcut3d``, ``sbn``) so that its checkpoints load
unchanged.

References:
    Lin et al., "Gait Recognition via Effective Global-Local Feature Representation and Local Temporal
    Aggregation", ICCV 2021 (GaitGL's 3D convolutions).
    Fan et al., "Exploring Deep Models for Practical Gait Recognition", arXiv 2303.03301 (DeepGaitV2:
    pseudo-3D and 3D residual blocks).
"""

from __future__ import annotations

import torch
from torch import nn

from gaitforge.models.blocks import PerFrame, conv1x1, conv3x3
from gaitforge.models.resnet import BasicBlock

__all__ = ["BasicConv3d", "BasicBlockP3D", "BasicBlock3D", "residual_stage"]


class BasicConv3d(nn.Module):
    """A 3D convolution (bias-free by default) held as ``.conv3d``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: ``(t, h, w)`` kernel.
        stride: ``(t, h, w)`` stride.
        padding: ``(t, h, w)`` zero padding.
        bias: Add a bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int] = 3,
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] = 1,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.conv3d = nn.Conv3d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C_in, s, h, w]`` → ``[n, C_out, s', h', w']``."""
        return self.conv3d(x)


class BasicBlockP3D(nn.Module):
    """Pseudo-3D residual block of DeepGaitV2: two per-frame 3x3 convolutions; after the first, a temporal
    ``(3, 1, 1)`` convolution (``shortcut3d`` + ``sbn``) is added before the ReLU.

    The temporal convolution runs over the whole frame axis: on packed input it sees the neighbouring
    sequence at the boundaries, as the peer does.

    Args:
        in_channels: Input channels.
        channels: Output channels.
        stride: Spatial stride of the first convolution.
        downsample: Shortcut projection on ``[n, c, s, h, w]`` (a 1x1x1 Conv3d + BatchNorm3d) or ``None``.
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = PerFrame(
            nn.Sequential(conv3x3(in_channels, channels, stride), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        )
        self.conv2 = PerFrame(nn.Sequential(conv3x3(channels, channels), nn.BatchNorm2d(channels)))
        self.shortcut3d = nn.Conv3d(channels, channels, (3, 1, 1), (1, 1, 1), (1, 0, 0), bias=False)
        self.sbn = nn.BatchNorm3d(channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C_in, s, h, w]`` → ``[n, C, s, h/stride, w/stride]``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv1(x)
        out = self.relu(out + self.sbn(self.shortcut3d(out)))
        out = self.conv2(out)
        return self.relu(out + identity)


class BasicBlock3D(BasicBlock):
    """3D residual block of DeepGaitV2: two 3x3x3 convolutions with BatchNorm3d (the forward pass is
    :class:`~gaitforge.models.resnet.BasicBlock`'s, over ``[n, C, s, h, w]``).

    Args:
        in_channels: Input channels.
        channels: Output channels.
        stride: Spatial stride of the first convolution (the temporal stride is 1).
        downsample: Shortcut projection or ``None``.
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        nn.Module.__init__(self)  # BasicBlock's own layers are 2D: these replace them, under the same names
        self.conv1 = nn.Conv3d(in_channels, channels, 3, stride=(1, stride, stride), padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv3d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(channels)
        self.downsample = downsample


def residual_stage(kind: str, in_channels: int, channels: int, stride: int, blocks: int) -> nn.Sequential:
    """One stage of DeepGaitV2-style residual blocks; ``kind`` is ``"2d"``, ``"p3d"`` or ``"3d"``.

    The first block projects the shortcut (1x1 Conv2d for ``2d``, 1x1x1 Conv3d otherwise, then BatchNorm)
    when the stride or the width changes. ``2d`` stages work on ``[N, C, H, W]`` frames (wrap them in
    :class:`PerFrame`); the others on ``[n, C, s, H, W]``.
    """
    if kind not in ("2d", "p3d", "3d"):
        raise ValueError(f"mode: expected '2d', 'p3d' or '3d', got {kind!r}")
    if blocks < 1:
        raise ValueError(f"layers: every stage needs at least one block, got {blocks}")
    downsample = None
    if stride > 1 or in_channels != channels:
        if kind == "2d":
            downsample = nn.Sequential(conv1x1(in_channels, channels, stride), nn.BatchNorm2d(channels))
        else:
            proj = nn.Conv3d(in_channels, channels, 1, stride=(1, stride, stride), bias=False)
            downsample = nn.Sequential(proj, nn.BatchNorm3d(channels))
    block = {"2d": BasicBlock, "p3d": BasicBlockP3D, "3d": BasicBlock3D}[kind]
    stage = [block(in_channels, channels, stride, downsample)]
    stage += [block(channels, channels) for _ in range(1, blocks)]
    return nn.Sequential(*stage)
