"""GaitPart: part-based gait model with micro-motion temporal aggregation.

Fan et al., "GaitPart: Temporal Part-based Model for Gait Recognition", CVPR 2020. A Plain backbone with
focal convolutions run per frame, horizontal pooling per frame, then a Temporal Feature Aggregator (TFA) of
two micro-motion capture modules (window 3 and 5) per part, and part-wise FCs. Module names equal
OpenGait's ``GaitPart`` (``Backbone``, ``Head``, ``TFA.pooling_func.conv1d3x1``) so its checkpoints load with
``strict=True``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    HorizontalPyramidPooling,
    PerFrame,
    PerSequence,
    SeparateFCs,
    init_peer_parameters,
    to_sequence_tensor,
)
from gaitforge.models.plain import PlainBackbone

__all__ = ["GaitPart", "TemporalFeatureAggregator", "GAITPART_CASIAB_LAYERS"]

logger = logging.getLogger(__name__)

#: The peer's CASIA-B layer list (OU-MVLP / GREW: ``BC-32, BC-32, M, BC-64, BC-64, M, FC-128-3, FC-128-3,
#: FC-256-3, FC-256-3``).
GAITPART_CASIAB_LAYERS = ("BC-32", "BC-32", "M", "FC-64-2", "FC-64-2", "M", "FC-128-3", "FC-128-3")


class _BasicConv1d(nn.Module):
    """Bias-free 1D convolution held as ``.conv``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _attention_branch(channels: int, hidden: int, second_kernel: int) -> nn.Sequential:
    return nn.Sequential(
        _BasicConv1d(channels, hidden, 3, padding=1),
        nn.LeakyReLU(inplace=True),
        _BasicConv1d(hidden, channels, second_kernel, padding=second_kernel // 2),
    )


class TemporalFeatureAggregator(nn.Module):
    """GaitPart's TFA: per part, two micro-motion templates (mean + max over a sliding window of 3 and 5
    frames) weighted by a sigmoid attention from per-part 1D convolutions, summed, then max over frames.

    Args:
        in_channels: Feature channels ``c``.
        parts: Number of parts ``p`` (one pair of attention branches each).
        squeeze: Channel reduction of the attention branches.
    """

    def __init__(self, in_channels: int, parts: int = 16, squeeze: int = 4) -> None:
        super().__init__()
        hidden = int(in_channels // squeeze)
        self.parts = int(parts)
        self.conv1d3x1 = nn.ModuleList(_attention_branch(in_channels, hidden, 1) for _ in range(self.parts))
        self.conv1d3x3 = nn.ModuleList(_attention_branch(in_channels, hidden, 3) for _ in range(self.parts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, c, s, p]`` → ``[n, c, p]``."""
        n, c, s, p = x.shape
        if p != self.parts:
            raise ValueError(f"TFA: built for {self.parts} parts, got {p}")
        x = x.permute(3, 0, 1, 2).contiguous()  # [p, n, c, s]
        flat = x.view(p * n, c, s)
        scores3x1 = torch.stack([torch.sigmoid(conv(x[i])) for i, conv in enumerate(self.conv1d3x1)])
        scores3x3 = torch.stack([torch.sigmoid(conv(x[i])) for i, conv in enumerate(self.conv1d3x3)])
        # Templates; average pooling counts the zero padding, as nn.AvgPool1d does by default.
        t3 = F.avg_pool1d(flat, 3, 1, 1) + F.max_pool1d(flat, 3, 1, 1)
        t5 = F.avg_pool1d(flat, 5, 1, 2) + F.max_pool1d(flat, 5, 1, 2)
        feature = t3.view(p, n, c, s) * scores3x1 + t5.view(p, n, c, s) * scores3x3
        return feature.max(dim=-1).values.permute(1, 2, 0).contiguous()  # [n, c, p]


class GaitPart(GaitModel):
    """GaitPart (Fan et al. CVPR 2020): focal convolutions, per-part micro-motion aggregation, FCs.

    Outputs embeddings ``[B, C, P]``, no logits.

    Args:
        num_classes: Accepted so every model takes the same keyword arguments; unused (no classifier).
        in_channels: Input channels (1 for silhouettes).
        layers_cfg: Plain backbone layer list (peer CASIA-B: :data:`GAITPART_CASIAB_LAYERS`).
        embed_dim: Output channels ``C`` of the part-wise FCs (peer CASIA-B: 128).
        bins: Horizontal strip counts per frame (peer: 16).
        squeeze: Channel reduction inside the TFA attention branches (peer: 4).
        modality: Key of ``Batch.inputs`` to read.
    """

    def __init__(
        self,
        num_classes: int | None = None,
        in_channels: int = 1,
        layers_cfg: Sequence[str] = GAITPART_CASIAB_LAYERS,
        embed_dim: int = 128,
        bins: Sequence[int] = (16,),
        squeeze: int = 4,
        modality: str = "sil",
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        backbone = PlainBackbone(layers_cfg, in_channels)
        parts = sum(int(b) for b in bins)
        self.Backbone = PerFrame(backbone)
        self.Head = SeparateFCs(parts, backbone.out_channels, embed_dim)
        self.HPP = PerFrame(HorizontalPyramidPooling(bins))
        self.TFA = PerSequence(TemporalFeatureAggregator(backbone.out_channels, parts, squeeze))
        init_peer_parameters(self)

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P]``; logits ``None``.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` or packed ``[1, ΣT, H, W]`` with
        ``batch.seq_lens``; the TFA runs per sequence.
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)
        out = self.HPP(self.Backbone(x))  # [n, c, s, p]
        out = self.TFA(out, batch.seq_lens, dim=2)  # [B, c, p]
        return ModelOutput(embeddings=self.Head(out), logits=None)
