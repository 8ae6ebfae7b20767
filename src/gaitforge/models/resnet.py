"""ResNet-style 2D backbones run per frame.

``ResNet9`` is the backbone of GaitBase (Fan et al., CVPR 2023): a 3x3 stem and four stages of
BasicBlocks (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016). Module names follow
torchvision / OpenGait (``conv1.conv``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``) so that
OpenGait checkpoints load unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

from gaitforge.models.blocks import BasicConv2d, conv1x1, conv3x3

__all__ = ["BasicBlock", "ResNet9"]

logger = logging.getLogger(__name__)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and an identity (or 1x1-projected) shortcut.

    Args:
        in_channels: Input channels.
        channels: Output channels.
        stride: Stride of the first convolution.
        downsample: Shortcut projection when the shape changes, else ``None``.
    """

    expansion = 1

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, C, H/stride, W/stride]``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet9(nn.Module):
    """Stem (3x3 conv, BN, ReLU, optional max-pool) and four BasicBlock stages.

    Args:
        in_channels: Input channels (1 for silhouettes).
        channels: Output channels of the four stages (GaitBase: 64/128/256/512).
        layers: Blocks per stage (GaitBase: 1/1/1/1); 0 makes the stage an identity.
        strides: Stride of each stage's first block (GaitBase: 1/2/2/1).
        maxpool: Add a 3x3/2 max-pool after the stem.
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        maxpool: bool = False,
    ) -> None:
        super().__init__()
        if not (len(channels) == len(layers) == len(strides) == 4):
            raise ValueError(
                f"ResNet9: channels, layers and strides need 4 entries each, got "
                f"{list(channels)}, {list(layers)}, {list(strides)}"
            )
        self.conv1 = BasicConv2d(in_channels, channels[0], 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(channels[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if maxpool else nn.Identity()
        inplanes = int(channels[0])
        stages = []
        for c, n, s in zip(channels, layers, strides, strict=True):
            stage, inplanes = self._make_stage(inplanes, int(c), int(n), int(s))
            stages.append(stage)
        self.out_channels = inplanes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages

    @staticmethod
    def _make_stage(inplanes: int, channels: int, blocks: int, stride: int) -> tuple[nn.Module, int]:
        if blocks <= 0:
            return nn.Identity(), inplanes
        downsample = None
        if stride != 1 or inplanes != channels:
            downsample = nn.Sequential(conv1x1(inplanes, channels, stride), nn.BatchNorm2d(channels))
        stage = [BasicBlock(inplanes, channels, stride, downsample)]
        stage += [BasicBlock(channels, channels) for _ in range(1, blocks)]
        return nn.Sequential(*stage), channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, channels[-1], H/4, W/4]`` for strides 1/2/2/1 (ceil division)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)
