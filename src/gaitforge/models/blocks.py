"""Shared building blocks of silhouette gait models.

Written once and reused by every model family: a per-frame wrapper, temporal pooling that honours packed
sequences, horizontal pyramid pooling (HPP), part-wise fully connected layers and the BNNeck classifier.
Submodule and parameter names follow OpenGait's (``forward_block``, ``fc_bin``, ``bn1d``, ``conv``) so that
its checkpoints load unchanged.

References:
    Chao et al., "GaitSet: Regarding Gait as a Set for Cross-View Gait Recognition", AAAI 2019
    (set pooling, HPP).
    Fu et al., "Horizontal Pyramid Matching for Person Re-identification", AAAI 2019
    (mean + max pyramid pooling).
    Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person Re-identification", CVPRW 2019 (BNNeck).
    Fan et al., "OpenGait: Revisiting Gait Recognition Toward Better Practicality", CVPR 2023 (GaitBase head).
    Fan et al., "GaitPart: Temporal Part-based Model for Gait Recognition", CVPR 2020 (focal convolution).
    Lin et al., "Gait Recognition via Effective Global-Local Feature Representation and Local Temporal
    Aggregation", ICCV 2021 (GeM pooling over strips).
    Radenović et al., "Fine-tuning CNN Image Retrieval with No Human Annotation", TPAMI 2019 (GeM).

The 3D convolution and the residual blocks over ``[n, C, s, H, W]`` are in :mod:`gaitforge.models.blocks3d`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BasicConv2d",
    "conv3x3",
    "conv1x1",
    "PerFrame",
    "split_lengths",
    "temporal_max_pool",
    "TemporalMaxPool",
    "HorizontalPyramidPooling",
    "SeparateFCs",
    "SeparateBNNecks",
    "to_sequence_tensor",
    "init_peer_parameters",
    "FocalConv2d",
    "plain_layers",
    "PerSequence",
    "GeMHorizontalPooling",
]

logger = logging.getLogger(__name__)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (it is followed by BatchNorm)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias (residual projection)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class BasicConv2d(nn.Module):
    """A bias-free 2D convolution held as ``.conv`` (state-dict key ``<name>.conv.weight``).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        stride: Stride.
        padding: Zero padding.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 1
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, C_out, H', W']``."""
        return self.conv(x)


class PerFrame(nn.Module):
    """Run a 2D module on every frame of a sequence tensor (OpenGait's ``SetBlockWrapper``).

    The wrapped module is stored as ``forward_block``.

    Args:
        block: A module taking ``[N, C, H, W]``.
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.forward_block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, c, s, h, w]`` → ``[n, c', s, h', w']``, ``block`` applied to each of the ``n·s`` frames."""
        n, c, s, h, w = x.shape
        frames = x.transpose(1, 2).reshape(n * s, c, h, w)  # [n·s, c, h, w]
        out = self.forward_block(frames)
        out = out.reshape(n, s, *out.shape[1:])  # [n, s, c', h', w']
        return out.transpose(1, 2).contiguous()  # [n, c', s, h', w']


def split_lengths(seq_lens: torch.Tensor | Sequence[int]) -> list[int]:
    """Sequence lengths as a Python list. Accepts ``[k]`` or the peer's ``[1, k]`` tensors and lists."""
    if isinstance(seq_lens, torch.Tensor):
        if seq_lens.dim() == 2 and seq_lens.shape[0] == 1:
            seq_lens = seq_lens[0]
        if seq_lens.dim() != 1:
            raise ValueError(f"seq_lens: expected shape [k] or [1, k], got {list(seq_lens.shape)}")
        lengths = [int(v) for v in seq_lens.tolist()]
    else:
        lengths = [int(v) for v in seq_lens]
    if any(v <= 0 for v in lengths):
        raise ValueError(f"seq_lens: every sequence needs at least one frame, got {lengths}")
    return lengths


def temporal_max_pool(
    x: torch.Tensor, seq_lens: torch.Tensor | Sequence[int] | None = None, dim: int = 2
) -> torch.Tensor:
    """Max over frames, per sequence.

    Args:
        x: Frame features with the frame axis at ``dim``: stacked (``[n, c, s, ...]`` for ``dim=2``) or packed
            (batch size 1, ``ΣT`` frames along ``dim``).
        seq_lens: Frame count of each packed sequence (``[k]``, ``[1, k]`` or a list); ``None`` for
            stacked input.
        dim: The frame axis.

    Returns:
        ``x`` with ``dim`` removed; for packed input the batch axis becomes ``k``.
    """
    if seq_lens is None:
        return x.max(dim=dim).values
    lengths = split_lengths(seq_lens)
    if x.shape[0] != 1:
        raise ValueError(f"packed input must have batch size 1, got shape {list(x.shape)}")
    if sum(lengths) != x.shape[dim]:
        raise ValueError(
            f"seq_lens sum to {sum(lengths)} but the input has {x.shape[dim]} frames on dim {dim}"
        )
    pooled = [chunk.max(dim=dim).values for chunk in torch.split(x, lengths, dim=dim)]
    return torch.cat(pooled, dim=0)


class TemporalMaxPool(nn.Module):
    """Module form of :func:`temporal_max_pool` (set pooling by max, Chao et al. 2019).

    Args:
        dim: The frame axis of the input.
    """

    def __init__(self, dim: int = 2) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor, seq_lens: torch.Tensor | Sequence[int] | None = None) -> torch.Tensor:
        """``[n, c, s, h, w]`` (or packed ``[1, c, ΣT, h, w]``) → ``[n or k, c, h, w]``."""
        return temporal_max_pool(x, seq_lens, dim=self.dim)


class HorizontalPyramidPooling(nn.Module):
    """Horizontal pyramid pooling: for each bin count ``b`` the flattened map is cut into ``b`` equal strips,
    each pooled by mean + max (Fu et al. 2019; GaitSet).

    Args:
        bins: Strip counts, e.g. ``(16,)`` or ``(16, 8, 4, 2, 1)``; ``P = sum(bins)`` parts.
    """

    def __init__(self, bins: Sequence[int] = (16, 8, 4, 2, 1)) -> None:
        super().__init__()
        self.bins = tuple(int(b) for b in bins)
        if not self.bins or any(b <= 0 for b in self.bins):
            raise ValueError(f"bins: expected positive integers, got {list(bins)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, c, h, w]`` → ``[n, c, P]``; ``h·w`` must be divisible by every bin count."""
        n, c = x.shape[:2]
        flat = x.reshape(n, c, -1)  # [n, c, h·w]
        parts = []
        for b in self.bins:
            if flat.shape[-1] % b:
                raise ValueError(f"HPP: feature map {list(x.shape[2:])} cannot be cut into {b} equal strips")
            z = flat.reshape(n, c, b, -1)  # [n, c, b, h·w/b]
            parts.append(z.mean(-1) + z.max(-1).values)
        return torch.cat(parts, dim=-1)

    @property
    def parts(self) -> int:
        """Number of output parts ``P``."""
        return sum(self.bins)


class SeparateFCs(nn.Module):
    """One linear map per part (no bias): ``out[:, :, i] = x[:, :, i] @ fc_bin[i]``.

    Args:
        parts: Number of parts ``P``.
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        norm: Normalise the columns of ``fc_bin`` before use (cosine-style projection).
    """

    def __init__(self, parts: int, in_channels: int, out_channels: int, norm: bool = False) -> None:
        super().__init__()
        self.parts, self.norm = parts, norm
        self.fc_bin = nn.Parameter(nn.init.xavier_uniform_(torch.zeros(parts, in_channels, out_channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C_in, P]`` → ``[n, C_out, P]``."""
        weight = F.normalize(self.fc_bin, dim=1) if self.norm else self.fc_bin
        out = x.permute(2, 0, 1).matmul(weight)  # [P, n, C_out]
        return out.permute(1, 2, 0).contiguous()


class SeparateBNNecks(nn.Module):
    """BNNeck classifier per part (Luo et al. 2019): one BatchNorm1d over the channel-major flattened
    ``[n, C·P]`` features, then (optionally L2-normalised) part features against per-part class weights.

    Args:
        parts: Number of parts ``P``.
        in_channels: ``C``.
        num_classes: Number of training identities ``N``.
        norm: L2-normalise features and the columns of ``fc_bin`` (cosine logits), as the peer's default.
    """

    def __init__(self, parts: int, in_channels: int, num_classes: int, norm: bool = True) -> None:
        super().__init__()
        self.parts, self.norm = parts, norm
        self.fc_bin = nn.Parameter(nn.init.xavier_uniform_(torch.zeros(parts, in_channels, num_classes)))
        self.bn1d = nn.BatchNorm1d(in_channels * parts)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[n, C, P]`` → (BNNeck features ``[n, C, P]``, logits ``[n, N, P]``)."""
        n, c, p = x.shape
        x = self.bn1d(x.reshape(n, c * p)).reshape(n, c, p)
        feature = x.permute(2, 0, 1)  # [P, n, C]
        weight = self.fc_bin
        if self.norm:
            feature = F.normalize(feature, dim=-1)
            weight = F.normalize(weight, dim=1)
        logits = feature.matmul(weight)  # [P, n, N]
        return feature.permute(1, 2, 0).contiguous(), logits.permute(1, 2, 0).contiguous()


def to_sequence_tensor(x: torch.Tensor, in_channels: int, name: str = "sil") -> torch.Tensor:
    """Frames as the ``[n, C, s, H, W]`` float tensor that per-frame backbones take.

    Args:
        x: ``[n, s, H, W]`` (one channel; the channel axis is added) or ``[n, s, C, H, W]``.
        in_channels: Expected ``C``.
        name: Modality name, for error messages.
    """
    if x.dim() == 4:
        x = x.unsqueeze(2)  # [n, s, 1, H, W]
    if x.dim() != 5 or x.shape[2] != in_channels:
        raise ValueError(
            f"inputs[{name!r}]: expected [B, T, H, W] (1 channel) or [B, T, {in_channels}, H, W], "
            f"got {list(x.shape)}"
        )
    return x.float().transpose(1, 2)  # [n, C, s, H, W]


def init_peer_parameters(module: nn.Module) -> None:
    """The peer's default initialisation: Xavier-uniform convolutions and linear maps (zero bias),
    BatchNorm gamma ~ N(1, 0.02) and beta = 0. Parameters of other layers keep their own init."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class FocalConv2d(nn.Module):
    """Focal convolution (GaitPart): the map is cut into ``2**halving`` horizontal strips that are
    convolved separately with one shared bias-free kernel, held as ``.conv``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        stride: Stride.
        padding: Zero padding (applied to every strip).
        halving: ``0`` is a plain convolution; ``k`` cuts the height into ``2**k`` strips.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 1,
        halving: int = 0,
    ) -> None:
        super().__init__()
        if halving < 0:
            raise ValueError(f"FocalConv2d: halving must be >= 0, got {halving}")
        self.halving = int(halving)
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, C_out, H', W']``."""
        if self.halving == 0:
            return self.conv(x)
        strip = x.shape[2] // 2**self.halving
        if strip < 1:
            raise ValueError(f"FocalConv2d: height {x.shape[2]} is too small for 2**{self.halving} strips")
        return torch.cat([self.conv(part) for part in x.split(strip, dim=2)], dim=2)


def plain_layers(layers_cfg: Sequence[str], in_channels: int, first_kernel: int = 5) -> nn.Sequential:
    """The peer's "Plain" layer list as an ``nn.Sequential``.

    Entries: ``"BC-<c>"`` a bias-free convolution to ``c`` channels, ``"FC-<c>-<halving>"`` a
    :class:`FocalConv2d`, ``"M"`` a 2x2 max-pool. Each convolution is followed by LeakyReLU (slope 0.01); the
    first convolution is ``first_kernel`` wide (padding ``first_kernel // 2``), the others 3x3.

    Args:
        layers_cfg: E.g. ``["BC-32", "BC-32", "M", "FC-64-2", "FC-64-2", "M", "FC-128-3", "FC-128-3"]``.
        in_channels: Input channels.
        first_kernel: Kernel size of the first convolution (GaitSet's later set blocks use 3).
    """
    layers: list[nn.Module] = []
    c = int(in_channels)
    for i, entry in enumerate(layers_cfg):
        if entry == "M":
            if i == 0:
                raise ValueError(f"layers_cfg[0]: the first entry must be a convolution, got {entry!r}")
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        parts = str(entry).split("-")
        k = first_kernel if i == 0 else 3
        try:
            if parts[0] == "BC" and len(parts) == 2:
                out = int(parts[1])
                layers.append(BasicConv2d(c, out, k, 1, k // 2))
            elif parts[0] == "FC" and len(parts) == 3:
                out = int(parts[1])
                layers.append(FocalConv2d(c, out, k, 1, k // 2, halving=int(parts[2])))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"layers_cfg[{i}]: expected 'BC-<channels>', 'FC-<channels>-<halving>' or 'M', got {entry!r}"
            ) from None
        layers.append(nn.LeakyReLU(inplace=True))
        c = out
    if not layers:
        raise ValueError("layers_cfg: expected at least one convolution")
    return nn.Sequential(*layers)


class PerSequence(nn.Module):
    """Apply a sequence-level function to each packed sequence separately (OpenGait's
    ``PackSequenceWrapper``). The wrapped module is stored as ``pooling_func``.

    Args:
        pooling_func: A module mapping ``[1, ..., s, ...]`` (frames on ``dim``) to ``[1, ...]``.
    """

    def __init__(self, pooling_func: nn.Module) -> None:
        super().__init__()
        self.pooling_func = pooling_func

    def forward(
        self, x: torch.Tensor, seq_lens: torch.Tensor | Sequence[int] | None = None, dim: int = 2
    ) -> torch.Tensor:
        """Stacked ``[n, ..., s, ...]`` → ``pooling_func(x)``; packed ``[1, ..., ΣT, ...]`` → the per-sequence
        results concatenated on the batch axis (``k`` rows)."""
        if seq_lens is None:
            return self.pooling_func(x)
        lengths = split_lengths(seq_lens)
        if x.shape[0] != 1:
            raise ValueError(f"packed input must have batch size 1, got shape {list(x.shape)}")
        if sum(lengths) != x.shape[dim]:
            raise ValueError(
                f"seq_lens sum to {sum(lengths)} but the input has {x.shape[dim]} frames on dim {dim}"
            )
        return torch.cat([self.pooling_func(chunk) for chunk in torch.split(x, lengths, dim=dim)], dim=0)


class GeMHorizontalPooling(nn.Module):
    """Horizontal strips pooled by generalised mean (GeM) with a learnable exponent ``p`` (GaitGL):
    ``(mean(clamp(x, eps) ** p)) ** (1 / p)`` over each of the ``b`` strips of the flattened map.

    Args:
        bins: Strip counts; ``P = sum(bins)`` parts (GaitGL: ``(64,)``).
        p: Initial exponent.
        eps: Lower clamp of the activations.
    """

    def __init__(self, bins: Sequence[int] = (64,), p: float = 6.5, eps: float = 1e-6) -> None:
        super().__init__()
        self.bins = tuple(int(b) for b in bins)
        if not self.bins or any(b <= 0 for b in self.bins):
            raise ValueError(f"bins: expected positive integers, got {list(bins)}")
        self.p = nn.Parameter(torch.ones(1) * p)
        self.eps = float(eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, c, h, w]`` → ``[n, c, P]``; ``h·w`` must be divisible by every bin count."""
        n, c = x.shape[:2]
        flat = x.reshape(n, c, -1)
        parts = []
        for b in self.bins:
            if flat.shape[-1] % b:
                raise ValueError(
                    f"GeM HPP: feature map {list(x.shape[2:])} cannot be cut into {b} equal strips"
                )
            z = flat.reshape(n, c, b, -1)
            parts.append(z.clamp(min=self.eps).pow(self.p).mean(-1).pow(1.0 / self.p))
        return torch.cat(parts, dim=-1)

    @property
    def parts(self) -> int:
        """Number of output parts ``P``."""
        return sum(self.bins)
