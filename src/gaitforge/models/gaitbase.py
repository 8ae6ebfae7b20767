"""GaitBase: a ResNet9 run per frame, temporal max pooling, HPP, separate FCs and a BNNeck.

Fan et al., "OpenGait: Revisiting Gait Recognition Toward Better Practicality", CVPR 2023. This is the
peer's ``Baseline`` class with its GaitBase configuration; module names (``Backbone.forward_block``,
``FCs``, ``BNNecks``) equal the peer's so OpenGait checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    HorizontalPyramidPooling,
    PerFrame,
    SeparateBNNecks,
    SeparateFCs,
    TemporalMaxPool,
    to_sequence_tensor,
)
from gaitforge.models.resnet import ResNet9

__all__ = ["GaitBase", "to_sequence_tensor"]

logger = logging.getLogger(__name__)


class GaitBase(GaitModel):
    """GaitBase (``Baseline`` + ResNet9) as a :class:`GaitModel`.

    Args:
        num_classes: Training identities ``N`` of the BNNeck classifier (CASIA-B: 74).
        in_channels: Input channels (1 for silhouettes).
        channels: ResNet9 stage widths (peer: 64/128/256/512; e.g. 16/32/64/128 for CPU-sized runs).
        layers: BasicBlocks per stage.
        strides: First-block stride of each stage.
        maxpool: Max-pool after the stem.
        embed_dim: Output channels ``C`` of the separate FCs (peer: 256).
        bins: HPP strip counts; ``P = sum(bins)`` (peer: 16).
        bnneck_norm: Cosine logits in the BNNeck (peer default).
        modality: Key of ``Batch.inputs`` to read.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: int = 1,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        maxpool: bool = False,
        embed_dim: int = 256,
        bins: Sequence[int] = (16,),
        bnneck_norm: bool = True,
        modality: str = "sil",
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        backbone = ResNet9(in_channels, channels, layers, strides, maxpool)
        self.Backbone = PerFrame(backbone)
        self.TP = TemporalMaxPool(dim=2)
        self.HPP = HorizontalPyramidPooling(bins)
        parts = self.HPP.parts
        self.FCs = SeparateFCs(parts, backbone.out_channels, embed_dim)
        self.BNNecks = SeparateBNNecks(parts, embed_dim, num_classes, norm=bnneck_norm)
        self._init_parameters()

    def _init_parameters(self) -> None:
        # The peer's training recipe: Xavier-uniform convolutions, BatchNorm gamma ~ N(1, 0.02), beta = 0.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Conv1d)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and m.affine:
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P]``, logits ``[B, N, P]``, extras ``bnneck_embeddings`` ``[B, C, P]``.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` or packed ``[1, ΣT, H, W]`` with
        ``batch.seq_lens``. Only the temporal pooling is per sequence; all other layers work per frame.
        """
        x = to_sequence_tensor(
            batch.inputs[self.input_modalities[0]], self.in_channels, self.input_modalities[0]
        )
        feat = self.Backbone(x)  # [n, c, s, h, w]
        feat = self.TP(feat, batch.seq_lens)  # [B, c, h, w]
        feat = self.HPP(feat)  # [B, c, P]
        embed_1 = self.FCs(feat)  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)  # [B, C, P], [B, N, P]
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
