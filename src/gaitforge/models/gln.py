"""GLN: Gait Lateral Network.

Hou et al., "Gait Lateral Network: Learning Discriminative and Compact Representations for Gait
Recognition", ECCV 2020. A GaitSet-like silhouette/set trunk whose three stages are merged top-down by
lateral 1x1 convolutions, nearest upsampling and 3x3 smoothing (as in a feature pyramid), each level pooled by
HPP (16/8/4/2/1) → 93 parts and part-wise FCs. Phase 1 (lateral pre-training) stops there; phase 2 adds the
compact block (BatchNorm, dropout, ReLU, a linear reduction to ``hidden_dim``, BatchNorm and a classifier).
Module names equal OpenGait's ``GLN`` so its checkpoints load with ``strict=True``.
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
    SeparateFCs,
    init_peer_parameters,
    plain_layers,
    temporal_max_pool,
    to_sequence_tensor,
)

__all__ = ["GLN"]

logger = logging.getLogger(__name__)


class GLN(GaitModel):
    """GLN (Hou et al. ECCV 2020): lateral pyramid of set features; phase 2 adds the compact block.

    Outputs: ``embeddings`` ``[B, C, 3·P]`` (the peer's inference and triplet features); ``logits`` is
    ``None`` (there are no per-part logits). Phase 2 adds extras from the compact block:
    ``compact_logits`` ``[B, N, 1]`` (the cross-entropy input), ``compact_embeddings`` ``[B, hidden_dim, 1]``
    (the reduced feature) and ``opengait_logits`` ``[B, 1, N]`` (the same logits in the peer's layout, for
    interop; not a loss input).

    Args:
        num_classes: Training identities ``N`` of the compact-block classifier (phase 2).
        in_channels: Input channels (1 for silhouettes).
        channels: Widths of the three stages (peer: 32/64/128).
        lateral_dim: Channels of the lateral and smoothing convolutions (peer: 256).
        embed_dim: Output channels ``C`` of the part-wise FCs (peer: 256).
        hidden_dim: Width of the compact feature (peer: 256).
        bins: HPP strip counts per pyramid level (peer: 16/8/4/2/1; 8/4/2/1 for 32x22 inputs).
        dropout: Dropout rate of the compact block (peer: 0.9).
        pretrain: Phase 1 (lateral pre-training, no compact block) when ``True``.
        modality: Key of ``Batch.inputs`` to read.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128),
        lateral_dim: int = 256,
        embed_dim: int = 256,
        hidden_dim: int = 256,
        bins: Sequence[int] = (16, 8, 4, 2, 1),
        dropout: float = 0.9,
        pretrain: bool = False,
        modality: str = "sil",
    ) -> None:
        super().__init__()
        if len(channels) != 3:
            raise ValueError(f"channels: expected 3 stage widths, got {list(channels)}")
        c1, c2, c3 = (int(c) for c in channels)
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        self.pretrain = bool(pretrain)
        spec1, spec2 = [f"BC-{c2}", f"BC-{c2}"], [f"BC-{c3}", f"BC-{c3}"]
        self.sil_stage_0 = PerFrame(plain_layers([f"BC-{c1}", f"BC-{c1}"], in_channels))
        self.sil_stage_1 = PerFrame(plain_layers(spec1, c1, first_kernel=3))
        self.sil_stage_2 = PerFrame(plain_layers(spec2, c2, first_kernel=3))
        self.set_stage_1 = plain_layers(spec1, c1, first_kernel=3)
        self.set_stage_2 = plain_layers(spec2, c2, first_kernel=3)
        self.MaxP_sil = PerFrame(nn.MaxPool2d(kernel_size=2, stride=2))
        self.MaxP_set = nn.MaxPool2d(kernel_size=2, stride=2)
        self.lateral_layer1 = nn.Conv2d(2 * c1, lateral_dim, kernel_size=1, bias=False)
        self.lateral_layer2 = nn.Conv2d(2 * c2, lateral_dim, kernel_size=1, bias=False)
        self.lateral_layer3 = nn.Conv2d(2 * c3, lateral_dim, kernel_size=1, bias=False)
        self.smooth_layer1 = nn.Conv2d(lateral_dim, lateral_dim, kernel_size=3, padding=1, bias=False)
        self.smooth_layer2 = nn.Conv2d(lateral_dim, lateral_dim, kernel_size=3, padding=1, bias=False)
        self.smooth_layer3 = nn.Conv2d(lateral_dim, lateral_dim, kernel_size=3, padding=1, bias=False)
        self.HPP = HorizontalPyramidPooling(bins)
        parts = 3 * self.HPP.parts
        self.Head = SeparateFCs(parts, lateral_dim, embed_dim)
        if not self.pretrain:
            self.encoder_bn = nn.BatchNorm1d(parts * embed_dim)
            self.reduce_dp = nn.Dropout(p=dropout)
            self.reduce_ac = nn.ReLU(inplace=True)
            self.reduce_fc = nn.Linear(parts * embed_dim, hidden_dim, bias=False)
            self.reduce_bn = nn.BatchNorm1d(hidden_dim)
            self.reduce_cls = nn.Linear(hidden_dim, num_classes, bias=False)
            self.opengait_outputs = {
                "inference_feat/embeddings": "embeddings",
                "training_feat/triplet/embeddings": "embeddings",
                "training_feat/softmax/logits": "opengait_logits",
            }
        init_peer_parameters(self)
        if not self.pretrain:  # the peer freezes both BatchNorm shifts of the compact block
            self.encoder_bn.bias.requires_grad_(False)
            self.reduce_bn.bias.requires_grad_(False)

    @staticmethod
    def _upsample_add(top: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
        """Nearest upsampling of ``top`` to ``lateral``'s size (×2 for even maps), plus ``lateral``."""
        return F.interpolate(top, size=lateral.shape[-2:], mode="nearest") + lateral

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring for the outputs.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` or packed ``[1, ΣT, H, W]`` with
        ``batch.seq_lens`` (several packed sequences work here; the peer's phase 2 takes only one).
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)  # [n, C, s, h, w]
        seq_lens = batch.seq_lens
        sil_0 = self.sil_stage_0(x)  # [n, c1, s, h, w]
        sil_1_in = self.MaxP_sil(sil_0)
        sil_1 = self.sil_stage_1(sil_1_in)  # [n, c2, s, h/2, w/2]
        sil_2 = self.sil_stage_2(self.MaxP_sil(sil_1))  # [n, c3, s, h/4, w/4]
        set_0 = temporal_max_pool(sil_0, seq_lens)  # [B, c1, h, w]
        set_1_sil = temporal_max_pool(sil_1, seq_lens)
        set_1 = self.set_stage_1(temporal_max_pool(sil_1_in, seq_lens)) + set_1_sil  # [B, c2, h/2, w/2]
        set_2_sil = temporal_max_pool(sil_2, seq_lens)
        set_2 = self.set_stage_2(self.MaxP_set(set_1)) + set_2_sil  # [B, c3, h/4, w/4]
        top3 = self.lateral_layer3(torch.cat([set_2_sil, set_2], dim=1))
        top2 = self._upsample_add(top3, self.lateral_layer2(torch.cat([set_1_sil, set_1], dim=1)))
        top1 = self._upsample_add(top2, self.lateral_layer1(torch.cat([set_0, set_0], dim=1)))
        pyramid = [self.smooth_layer1(top1), self.smooth_layer2(top2), self.smooth_layer3(top3)]
        feature = self.Head(torch.cat([self.HPP(level) for level in pyramid], dim=-1))  # [B, C, 3P]
        if self.pretrain:
            return ModelOutput(embeddings=feature, logits=None)
        n = feature.shape[0]
        bn_feature = self.encoder_bn(feature.reshape(n, -1))  # channel-major [B, C·3P]
        reduced = self.reduce_fc(self.reduce_ac(self.reduce_dp(bn_feature)))  # [B, hidden]
        logits = self.reduce_cls(self.reduce_bn(reduced))  # [B, N]
        extras = {
            "compact_embeddings": reduced.unsqueeze(-1),
            "compact_logits": logits.unsqueeze(-1),
            "opengait_logits": logits.unsqueeze(1),
        }
        return ModelOutput(embeddings=feature, logits=None, extras=extras)
