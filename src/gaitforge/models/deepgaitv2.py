"""DeepGaitV2 (2D, pseudo-3D and 3D) and SkeletonGait, which is DeepGaitV2 on skeleton maps.

Fan et al., "Exploring Deep Models for Practical Gait Recognition" (DeepGaitV2), arXiv 2303.03301; Fan et
al., "SkeletonGait: Gait Recognition Using Skeleton Maps", AAAI 2024. A 3x3 stem and a 2D residual stage run
per frame, then three residual stages of the chosen kind (``2d`` per frame, ``p3d`` per-frame convolutions
with a temporal shortcut, ``3d`` full 3x3x3 convolutions), temporal max pooling, 16-strip HPP, part-wise FCs
and a BNNeck. Module names equal OpenGait's ``DeepGaitV2`` (``layer0`` … ``layer4``, ``FCs``, ``BNNecks``).

Like the peer, the ``p3d`` and ``3d`` stages run over the whole frame axis: on packed input they see the
neighbouring sequence at the boundaries (``mixes_packed_frames``); only the temporal pooling is per sequence.
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
    conv3x3,
    init_peer_parameters,
    residual_stage,
    to_sequence_tensor,
)

__all__ = ["DeepGaitV2", "SkeletonGait", "deepgaitv2_stem"]

logger = logging.getLogger(__name__)


def deepgaitv2_stem(in_channels: int, channels: int, blocks: int) -> tuple[nn.Module, nn.Module]:
    """``layer0`` (3x3 convolution, BatchNorm, ReLU) and ``layer1`` (a 2D residual stage), both per frame."""
    layer0 = PerFrame(
        nn.Sequential(conv3x3(in_channels, channels), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
    )
    layer1 = PerFrame(residual_stage("2d", channels, channels, 1, blocks))
    return layer0, layer1


class DeepGaitV2(GaitModel):
    """DeepGaitV2 as a :class:`GaitModel`.

    Outputs: ``embeddings`` ``[B, C, P]`` (FC features), ``logits`` ``[B, N, P]``, extras
    ``bnneck_embeddings``. With ``inference_bnneck=True`` (the peer's ``use_emb2``, e.g. SkeletonGait)
    ``embeddings`` are the BNNeck features used for inference and extras ``pre_bnneck_embeddings`` the FC
    features the triplet loss takes.

    Args:
        num_classes: Training identities ``N`` (CASIA-B: 74).
        in_channels: Input channels (1 for silhouettes, 2 for skeleton maps).
        mode: ``"2d"``, ``"p3d"`` or ``"3d"`` stages 2–4.
        layers: Residual blocks per stage (peer: 1/1/1/1; Gait3D, GREW: 1/4/4/1).
        channels: Stage widths (peer: 64/128/256/512).
        embed_dim: FC output channels ``C`` (peer: ``channels[2]``).
        bins: HPP strip counts (peer: 16).
        inference_bnneck: Use BNNeck features as ``embeddings`` (see above).
        modality: Key of ``Batch.inputs`` to read.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: int = 1,
        mode: str = "p3d",
        layers: Sequence[int] = (1, 1, 1, 1),
        channels: Sequence[int] = (64, 128, 256, 512),
        embed_dim: int | None = None,
        bins: Sequence[int] = (16,),
        inference_bnneck: bool = False,
        modality: str = "sil",
    ) -> None:
        super().__init__()
        if mode not in ("2d", "p3d", "3d"):
            raise ValueError(f"mode: expected '2d', 'p3d' or '3d', got {mode!r}")
        if len(layers) != 4 or len(channels) != 4:
            raise ValueError(
                f"layers and channels: expected 4 entries each, got {list(layers)}, {list(channels)}"
            )
        c = [int(v) for v in channels]
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        self.mode = mode
        self.mixes_packed_frames = mode != "2d"
        self.layer0, self.layer1 = deepgaitv2_stem(in_channels, c[0], int(layers[0]))
        stages = []
        for i, stride in ((1, 2), (2, 2), (3, 1)):
            stage = residual_stage(mode, c[i - 1], c[i], stride, int(layers[i]))
            stages.append(PerFrame(stage) if mode == "2d" else stage)
        self.layer2, self.layer3, self.layer4 = stages
        embed_dim = c[2] if embed_dim is None else int(embed_dim)
        self.TP = TemporalMaxPool(dim=2)
        self.HPP = HorizontalPyramidPooling(bins)
        self.FCs = SeparateFCs(self.HPP.parts, c[3], embed_dim)
        self.BNNecks = SeparateBNNecks(self.HPP.parts, embed_dim, num_classes)
        self.inference_bnneck = bool(inference_bnneck)
        if self.inference_bnneck:
            self.opengait_outputs = {
                "inference_feat/embeddings": "embeddings",
                "training_feat/triplet/embeddings": "pre_bnneck_embeddings",
                "training_feat/softmax/logits": "logits",
            }
        init_peer_parameters(self)

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring for the outputs.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` (or ``[B, T, C, H, W]``), or packed
        ``[1, ΣT, ...]`` with ``batch.seq_lens``.
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)  # [n, C, s, h, w]
        out = self.layer2(self.layer1(self.layer0(x)))
        out = self.layer4(self.layer3(out))  # [n, c, s, h/4, w/4]
        feat = self.HPP(self.TP(out, batch.seq_lens))  # [B, c, P]
        embed_1 = self.FCs(feat)  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)  # [B, C, P], [B, N, P]
        if self.inference_bnneck:
            extras = {"pre_bnneck_embeddings": embed_1, "bnneck_embeddings": embed_2}
            return ModelOutput(embeddings=embed_2, logits=logits, extras=extras)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})


class SkeletonGait(DeepGaitV2):
    """SkeletonGait: DeepGaitV2 (``p3d``) on 2-channel skeleton maps ``[B, T, 2, H, W]`` read from
    ``Batch.inputs["skeleton_map"]``, with BNNeck features for inference (the peer's CCPG setting).

    Args: as :class:`DeepGaitV2`, with skeleton-map defaults.
    """

    def __init__(
        self,
        num_classes: int = 100,
        in_channels: int = 2,
        mode: str = "p3d",
        layers: Sequence[int] = (1, 1, 1, 1),
        channels: Sequence[int] = (64, 128, 256, 512),
        embed_dim: int | None = None,
        bins: Sequence[int] = (16,),
        inference_bnneck: bool = True,
        modality: str = "skeleton_map",
    ) -> None:
        super().__init__(
            num_classes, in_channels, mode, layers, channels, embed_dim, bins, inference_bnneck, modality
        )
