"""GaitBase with two input streams fused by attention: the recognition head of BigGait and DenoisingGait.

Each stream runs the first stages of a ResNet9 per frame; an attention fusion weights the two per element, the
remaining stages, temporal max pooling, horizontal pyramid pooling, separate FCs and a BNNeck follow, as in
GaitBase (Fan et al., "OpenGait", CVPR 2023). Module names equal the peer's (``pre_part`` / ``pre_rgb`` in
BigGait, ``pre_attn`` / ``pre_noise`` in DenoisingGait, ``post_backbone``, ``FCs``, ``BNNecks``, ``fusion``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

from gaitforge.models.blocks import (
    BasicConv2d,
    HorizontalPyramidPooling,
    PerFrame,
    SeparateBNNecks,
    SeparateFCs,
    TemporalMaxPool,
    conv1x1,
    conv3x3,
)
from gaitforge.models.resnet import ResNet9

__all__ = ["PartialResNet9", "InterleavedAttentionFusion", "FusionGaitBase"]

logger = logging.getLogger(__name__)


class PartialResNet9(nn.Module):
    """Some stages of a ResNet9: optionally the stem (``conv1``, ``bn1``, ReLU, max-pool), then ``layer<i>`` for
    each stage index ``i`` in ``stages`` (1-based).

    Args:
        in_channels: Input channels (of the stem, or of the first stage without a stem).
        channels: The four stage widths.
        layers: Blocks per stage.
        strides: First-block stride per stage.
        stages: Which stages this part holds, consecutive, e.g. ``(1,)`` or ``(2, 3, 4)``.
        stem: Hold the stem.
        maxpool: Max-pool after the stem.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        layers: Sequence[int],
        strides: Sequence[int],
        stages: Sequence[int],
        stem: bool,
        maxpool: bool = False,
    ) -> None:
        super().__init__()
        self.stem, self.stage_ids = bool(stem), tuple(int(i) for i in stages)
        if self.stem:
            self.conv1 = BasicConv2d(in_channels, channels[0], 3, 1, 1)
            self.bn1 = nn.BatchNorm2d(channels[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1) if maxpool else nn.Identity()
            inplanes = int(channels[0])
        else:
            inplanes = int(in_channels)
        for i in self.stage_ids:
            stage, inplanes = ResNet9._make_stage(
                inplanes, int(channels[i - 1]), int(layers[i - 1]), int(strides[i - 1])
            )
            setattr(self, f"layer{i}", stage)
        self.out_channels = inplanes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, out_channels, H', W']``."""
        if self.stem:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in self.stage_ids:
            x = getattr(self, f"layer{i}")(x)
        return x


class InterleavedAttentionFusion(nn.Module):
    """Per-element softmax weighting of ``d`` feature maps; the score of map ``j`` for channel ``c`` is output
    channel ``c·d + j`` of a small per-frame conv net (the peer's ``'n (c d) s h w'`` layout), held as ``.conv``.

    Args:
        channels: Channels ``c`` of each map.
        squeeze_ratio: Hidden width ``int(c / squeeze_ratio)``.
        num_maps: ``d``.
        hidden_kernel: Kernel of the middle convolution (BigGait: 3; DenoisingGait: 1).
    """

    def __init__(self, channels: int, squeeze_ratio: int = 16, num_maps: int = 2, hidden_kernel: int = 3) -> None:
        super().__init__()
        hidden = int(channels / squeeze_ratio)
        if hidden < 1:
            raise ValueError(f"fusion: {channels} channels / squeeze_ratio {squeeze_ratio} leaves no width")
        if hidden_kernel not in (1, 3):
            raise ValueError(f"fusion: hidden_kernel must be 1 or 3, got {hidden_kernel}")
        self.num_maps = int(num_maps)
        middle = conv3x3(hidden, hidden) if hidden_kernel == 3 else conv1x1(hidden, hidden)
        self.conv = PerFrame(
            nn.Sequential(
                conv1x1(channels * num_maps, hidden),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                middle,
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                conv1x1(hidden, channels * num_maps),
            )
        )

    def forward(self, maps: Sequence[torch.Tensor]) -> torch.Tensor:
        """``d`` maps ``[n, c, s, h, w]`` → their weighted sum ``[n, c, s, h, w]``."""
        if len(maps) != self.num_maps:
            raise ValueError(f"fusion: expected {self.num_maps} maps, got {len(maps)}")
        n, c = maps[0].shape[:2]
        score = self.conv(torch.cat(list(maps), dim=1))  # [n, c·d, s, h, w]
        score = score.reshape(n, c, self.num_maps, *score.shape[2:]).softmax(dim=2)
        out = maps[0] * score[:, :, 0]
        for j in range(1, self.num_maps):
            out = out + maps[j] * score[:, :, j]
        return out


class FusionGaitBase(nn.Module):
    """Two per-frame ResNet stems, attention fusion, the remaining ResNet stages and GaitBase's head.

    Args:
        stream_names: Attribute names of the two stream stems, in registration order.
        stream_channels: Input channels of each stream.
        split_after: Stages ``1..split_after`` run per stream, the rest after the fusion.
        fusion_order: Order in which the stream outputs enter the fusion (indices into ``stream_names``).
        fusion_hidden_kernel: Middle kernel of the fusion (3 or 1).
        fusion_squeeze: Fusion squeeze ratio.
        channels, layers, strides, maxpool: The ResNet9 (GaitBase: 64/128/256/512, 1/1/1/1, 1/2/2/1, no pool).
        embed_dim: Separate-FC output width.
        bins: HPP strips.
        num_classes: BNNeck classes.
    """

    def __init__(
        self,
        stream_names: tuple[str, str],
        stream_channels: tuple[int, int],
        split_after: int,
        fusion_order: tuple[int, int] = (0, 1),
        fusion_hidden_kernel: int = 3,
        fusion_squeeze: int = 16,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        maxpool: bool = False,
        embed_dim: int = 256,
        bins: Sequence[int] = (16,),
        num_classes: int = 100,
    ) -> None:
        super().__init__()
        if not 1 <= split_after <= 3:
            raise ValueError(f"split_after: expected 1, 2 or 3, got {split_after}")
        self.stream_names, self.fusion_order = tuple(stream_names), tuple(fusion_order)
        pre = tuple(range(1, split_after + 1))
        for name, cin in zip(stream_names, stream_channels, strict=True):
            setattr(self, name, PerFrame(PartialResNet9(cin, channels, layers, strides, pre, True, maxpool)))
        width = int(channels[split_after - 1])
        post = PartialResNet9(width, channels, layers, strides, tuple(range(split_after + 1, 5)), False)
        self.post_backbone = PerFrame(post)
        self.HPP = HorizontalPyramidPooling(bins)
        self.TP = TemporalMaxPool(dim=2)
        self.FCs = SeparateFCs(self.HPP.parts, post.out_channels, embed_dim)
        self.BNNecks = SeparateBNNecks(self.HPP.parts, embed_dim, num_classes)
        self.fusion = InterleavedAttentionFusion(width, fusion_squeeze, 2, fusion_hidden_kernel)

    def forward(
        self, first: torch.Tensor, second: torch.Tensor, seq_lens: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Streams ``[n, C_i, s, h, w]`` (in ``stream_names`` order) → (embeddings ``[B, C, P]``,
        logits ``[B, N, P]``)."""
        feats = [getattr(self, self.stream_names[0])(first), getattr(self, self.stream_names[1])(second)]
        fused = self.fusion([feats[i] for i in self.fusion_order])
        out = self.post_backbone(fused)  # [n, c, s, h', w']
        out = self.HPP(self.TP(out, seq_lens))  # [B, c, P]
        embed = self.FCs(out)
        _, logits = self.BNNecks(embed)
        return embed, logits
