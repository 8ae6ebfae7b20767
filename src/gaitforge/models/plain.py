"""The "Plain" backbone (a VGG-like stack of convolutions, focal convolutions and max-pools) and the early
Plain-backbone baseline built on it.

The baseline is OpenGait's first ``Baseline`` configuration (before GaitBase's ResNet9): a Plain backbone run
per frame (``BC-64, BC-64, M, BC-128, BC-128, M, BC-256, BC-256`` on CASIA-B), temporal max pooling,
horizontal pyramid pooling (16/8/4/2/1 → 31 parts), part-wise FCs and a BNNeck; see Fan et al., "OpenGait:
Revisiting Gait Recognition Toward Better Practicality", CVPR 2023, and Chao et al., AAAI 2019 (set pooling,
HPP). Module names follow the peer (``Backbone.forward_block.feature``, ``FCs``, ``BNNecks``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    HorizontalPyramidPooling,
    PerFrame,
    SeparateBNNecks,
    SeparateFCs,
    TemporalMaxPool,
    init_peer_parameters,
    plain_layers,
    to_sequence_tensor,
)

__all__ = ["PlainBackbone", "PlainBaseline", "PLAIN_CASIAB_LAYERS"]

logger = logging.getLogger(__name__)

#: The peer's CASIA-B / Gait3D layer list of the Plain baseline.
PLAIN_CASIAB_LAYERS = ("BC-64", "BC-64", "M", "BC-128", "BC-128", "M", "BC-256", "BC-256")


class PlainBackbone(nn.Module):
    """The peer's ``Plain`` backbone: :func:`~gaitforge.models.blocks.plain_layers` held as ``.feature``.

    Args:
        layers_cfg: Layer list, e.g. ``["BC-32", "BC-32", "M", "FC-64-2", ...]``.
        in_channels: Input channels.
    """

    def __init__(self, layers_cfg: Sequence[str], in_channels: int = 1) -> None:
        super().__init__()
        self.layers_cfg = tuple(str(v) for v in layers_cfg)
        self.feature = plain_layers(self.layers_cfg, in_channels)
        convs = [m for m in self.feature if hasattr(m, "conv")]
        self.out_channels = int(convs[-1].conv.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, C_out, H / 2**m, W / 2**m]`` (``m`` max-pools)."""
        return self.feature(x)


class PlainBaseline(GaitModel):
    """The early OpenGait baseline: Plain convolution backbone, TP, HPP, FCs, BNNeck.

    Args:
        num_classes: Training identities ``N`` of the BNNeck classifier (CASIA-B: 74).
        in_channels: Input channels (1 for silhouettes).
        layers_cfg: Plain layer list (peer CASIA-B / Gait3D: :data:`PLAIN_CASIAB_LAYERS`; OU-MVLP / GREW:
            ``BC-32, BC-32, M, BC-64, BC-64, M, BC-128, BC-128, BC-256, BC-256``).
        embed_dim: Output channels ``C`` of the part-wise FCs (peer: 256).
        bins: HPP strip counts (peer: 16/8/4/2/1; GREW: 16).
        bnneck_norm: Cosine logits in the BNNeck (peer default).
        modality: Key of ``Batch.inputs`` to read.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: int = 1,
        layers_cfg: Sequence[str] = PLAIN_CASIAB_LAYERS,
        embed_dim: int = 256,
        bins: Sequence[int] = (16, 8, 4, 2, 1),
        bnneck_norm: bool = True,
        modality: str = "sil",
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        backbone = PlainBackbone(layers_cfg, in_channels)
        self.Backbone = PerFrame(backbone)
        self.FCs = SeparateFCs(sum(int(b) for b in bins), backbone.out_channels, embed_dim)
        self.TP = TemporalMaxPool(dim=2)
        self.HPP = HorizontalPyramidPooling(bins)
        self.BNNecks = SeparateBNNecks(self.HPP.parts, embed_dim, num_classes, norm=bnneck_norm)
        init_peer_parameters(self)

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P]``, logits ``[B, N, P]``, extras ``bnneck_embeddings`` ``[B, C, P]``.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` or packed ``[1, ΣT, H, W]`` with
        ``batch.seq_lens``; only the temporal pooling is per sequence.
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)
        feat = self.TP(self.Backbone(x), batch.seq_lens)  # [B, c, h, w]
        embed_1 = self.FCs(self.HPP(feat))  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)  # [B, C, P], [B, N, P]
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
