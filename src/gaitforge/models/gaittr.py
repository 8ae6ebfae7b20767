"""GaitTR: temporal convolutions and per-frame spatial self-attention over COCO-17 joints.

Reads the plain ``pose`` modality (``[B, T, 17, 3]``, or packed ``[1, ΣT, 17, 3]`` with ``seq_lens``, run one
sequence at a time) and builds its ten input channels itself (joints, joints relative to the nose, one- and
two-step velocities, bones; :func:`gaitforge.data.pose_transforms.gaittr_features`). :meth:`GaitTR.forward_features`
takes the peer's layout ``[N, T, 10, V, 1]``. No classifier: trained with a triplet loss on ``embeddings
[B, C, 1]``. State-dict keys and shapes match the peer's.

References:
    Zhang et al., "Spatial Transformer Network on Skeleton-based Gait Recognition", Expert Systems 2023
    (arXiv 2204.03873).
    Plizzari et al., "Skeleton-based Action Recognition via Spatial and Temporal Transformer Networks", CVIU 2021.
    Misra, "Mish: A Self Regularized Non-Monotonic Activation Function", BMVC 2020.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.data.pose_transforms import gaittr_features
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.gaitgraph import pose_input, pose_sequences

__all__ = ["GaitTR", "SpatialAttention", "TCNST"]


class Mish(nn.Module):
    """``x · tanh(softplus(x))``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tanh(F.softplus(x))


class SpatialAttention(nn.Module):
    """Multi-head self-attention among the joints of each frame (1×1 convolutions for q, k, v and output).

    Args:
        in_channels: Input channels.
        out_channels: Value / output channels ``dv``.
        heads: Attention heads.
        key_factor: Query/key channels ``dk = key_factor · out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 8, key_factor: float = 0.25) -> None:
        super().__init__()
        self.dk, self.dv, self.heads = int(key_factor * out_channels), int(out_channels), int(heads)
        if self.dk % self.heads or self.dv % self.heads:
            raise ValueError(f"SpatialAttention: dk={self.dk} and dv={self.dv} must divide by heads={self.heads}")
        self.qkv_conv = nn.Conv2d(in_channels, 2 * self.dk + self.dv, 1)
        self.attn_out = nn.Conv2d(self.dv, self.dv, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, V]`` → ``[B, dv, T, V]``; attention runs over all ``T·V`` positions (``T = 1`` here)."""
        b, _, t, v = x.shape
        h = self.heads
        q, k, val = torch.split(self.qkv_conv(x), [self.dk, self.dk, self.dv], dim=1)
        q = q.reshape(b, h, self.dk // h, t * v) * (self.dk // h) ** -0.5
        k = k.reshape(b, h, self.dk // h, t * v)
        val = val.reshape(b, h, self.dv // h, t * v)
        weights = F.softmax(q.transpose(2, 3) @ k, dim=-1)  # [b, h, tv, tv]
        out = (weights @ val.transpose(2, 3)).reshape(b, h, t, v, self.dv // h)
        return self.attn_out(out.permute(0, 1, 4, 2, 3).reshape(b, self.dv, t, v))


class STModule(nn.Module):
    """Per-channel-and-joint BN, spatial attention per frame, Mish, BN. ``[N, C, T, V]`` → ``[N, C', T, V]``."""

    def __init__(self, in_channels: int, out_channels: int, num_point: int, heads: int = 8) -> None:
        super().__init__()
        self.act = Mish()
        self.bn = nn.BatchNorm2d(out_channels)
        self.data_bn = nn.BatchNorm1d(in_channels * num_point)
        self.attention_conv = SpatialAttention(in_channels, out_channels, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        x = self.data_bn(x.permute(0, 1, 3, 2).reshape(n, c * v, t)).reshape(n, c, v, t).permute(0, 1, 3, 2)
        frames = x.permute(0, 2, 1, 3).reshape(n * t, c, 1, v)  # one attention per frame
        y = self.attention_conv(frames).reshape(n, t, -1, v).permute(0, 2, 1, 3)
        return self.bn(self.act(y))


class UnitConv2D(nn.Module):
    """Dropout, temporal convolution (``kernel_size × 1``), Mish, BN."""

    def __init__(self, d_in: int, d_out: int, kernel_size: int = 9, stride: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.conv = nn.Conv2d(d_in, d_out, (kernel_size, 1), padding=(pad, 0), stride=(stride, 1))
        nn.init.normal_(self.conv.weight, 0.0, (2.0 / (d_out * kernel_size)) ** 0.5)
        self.bn = nn.BatchNorm2d(d_out)
        self.act = Mish()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.act(self.conv(self.dropout(x))))


class TCNST(nn.Module):
    """GaitTR block: ``x0 = TCN(x) + x``; ``y = ST(x0) + shortcut(x0) + down(x)`` (identities when widths match)."""

    def __init__(self, in_channels: int, out_channels: int, num_point: int, heads: int = 8) -> None:
        super().__init__()
        self.tcn = UnitConv2D(in_channels, in_channels, kernel_size=9)
        self.st = STModule(in_channels, out_channels, num_point, heads)
        self.widen = in_channels != out_channels
        if self.widen:
            self.residual_s = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            self.down = UnitConv2D(in_channels, out_channels, kernel_size=1, dropout=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.tcn(x) + x
        if self.widen:
            return self.st(x0) + self.residual_s(x0) + self.down(x)
        return self.st(x0) + x0 + x


class GaitTR(GaitModel):
    """GaitTR (Zhang et al. 2023) on COCO-17 poses.

    Args:
        num_classes: Ignored (no classifier; accepted so every model builds from the same config).
        embed_dim: Embedding size (the peer's ``num_class``, 128).
        in_channels: Widths, starting with the 10 input channels (peer: 10/64/64/128/256).
        num_point: Joints.
        heads: Attention heads (peer: 8; the query/key width ``out/4`` and ``out`` must divide by it).
        modality: ``Batch.inputs`` key of the pose.
    """

    def __init__(
        self,
        num_classes: int | None = None,
        embed_dim: int = 128,
        in_channels: Sequence[int] = (10, 64, 64, 128, 256),
        num_point: int = 17,
        heads: int = 8,
        modality: str = "pose",
    ) -> None:
        super().__init__()
        c = [int(v) for v in in_channels]
        if c[0] != 10:
            raise ValueError(f"in_channels: the first width must be 10 (5 branches × x, y), got {c[0]}")
        self.input_modalities = (modality,)
        self.data_bn = nn.BatchNorm1d(c[0] * num_point)
        self.backbone = nn.ModuleList(TCNST(c[i], c[i + 1], num_point, heads) for i in range(len(c) - 1))
        self.fcn = nn.Conv1d(c[-1], embed_dim, kernel_size=1)

    def forward_features(self, feats: torch.Tensor) -> torch.Tensor:
        """Peer layout ``[N, T, C, V, M]`` → embeddings ``[N, embed_dim, 1]`` (persons ``M`` averaged)."""
        n, t, c, v, m = feats.shape
        x = feats.permute(0, 4, 3, 2, 1).reshape(n, m * v * c, t)  # BN channel = (m, v, c)
        x = self.data_bn(x).view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for block in self.backbone:
            x = block(x)
        x = x.mean(dim=3).view(n, m, x.shape[1], -1).mean(dim=1)  # [n, c, t]
        return self.fcn(x.mean(dim=2, keepdim=True))  # [n, embed_dim, 1]

    def forward(self, batch: Batch) -> ModelOutput:
        """``batch.inputs[modality]``: pose ``[B, T, 17, 3]`` or packed ``[1, ΣT, 17, 3]``."""
        x = pose_input(batch, self.input_modalities[0])
        return ModelOutput(
            embeddings=pose_sequences(x, batch.seq_lens, lambda p: self.forward_features(gaittr_features(p)))
        )
