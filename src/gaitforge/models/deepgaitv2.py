"""DeepGaitV2 (2D, pseudo-3D and 3D) and SkeletonGait, which is DeepGaitV2 on skeleton maps.

Fan et al., "Exploring Deep Models for Practical Gait Recognition" (DeepGaitV2), arXiv 2303.03301; Fan et
al., "SkeletonGait: Gait Recognition Using Skeleton Maps", AAAI 2024. A 3x3 stem and a 2D residual stage run
per frame, then three residual stages of the chosen kind (``2d`` per frame, ``p3d`` per-frame convolutions
with a temporal shortcut, ``3d`` full 3x3x3 convolutions), temporal max pooling, 16-strip HPP, part-wise FCs
and a BNNeck. Module names equal OpenGait's ``DeepGaitV2`` (``layer0`` … ``layer4``, ``FCs``, ``BNNecks``).

Like the peer, the ``p3d`` and ``3d`` stages run over the whole frame axis: on packed input they see the
neighbouring sequence at the boundaries (``mixes_packed_frames``); only the temporal pooling is per sequence.
With ``isolate_packed_sequences=True`` the network runs on each packed sequence separately instead, so that an
embedding does not depend on which sequences share its batch (not the peer's behaviour).
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
    conv3x3,
    init_peer_parameters,
    split_lengths,
    to_sequence_tensor,
)
from gaitforge.models.blocks3d import residual_stage

__all__ = ["DeepGaitV2", "SkeletonGait", "deepgaitv2_stages", "deepgaitv2_stem", "packed_lengths"]

logger = logging.getLogger(__name__)


def packed_lengths(x: torch.Tensor, seq_lens: torch.Tensor) -> list[int]:
    """Frame counts of packed ``[1, C, ΣT, h, w]`` input, checked against it."""
    lengths = split_lengths(seq_lens)
    if x.shape[0] != 1 or sum(lengths) != x.shape[2]:
        raise ValueError(f"packed input {list(x.shape)} does not match seq_lens {lengths}")
    return lengths


def deepgaitv2_stem(in_channels: int, channels: int, blocks: int) -> tuple[nn.Module, nn.Module]:
    """``layer0`` (3x3 convolution, BatchNorm, ReLU) and ``layer1`` (a 2D residual stage), both per frame."""
    layer0 = PerFrame(nn.Sequential(conv3x3(in_channels, channels), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)))
    layer1 = PerFrame(residual_stage("2d", channels, channels, 1, blocks))
    return layer0, layer1


def deepgaitv2_stages(
    in_channels: int, mode: str, layers: Sequence[int], channels: Sequence[int]
) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module, nn.Module]:
    """``layer0`` … ``layer4`` of DeepGaitV2: the stem (:func:`deepgaitv2_stem`), then three residual stages
    (strides 2, 2, 1) of ``mode`` (``"2d"`` runs per frame).

    Raises:
        ValueError: ``mode`` not 2d / p3d / 3d, or ``layers`` / ``channels`` without 4 entries.
    """
    if mode not in ("2d", "p3d", "3d"):
        raise ValueError(f"mode: expected '2d', 'p3d' or '3d', got {mode!r}")
    if len(layers) != 4 or len(channels) != 4:
        raise ValueError(f"layers and channels: expected 4 entries each, got {list(layers)}, {list(channels)}")
    c = [int(v) for v in channels]
    layer0, layer1 = deepgaitv2_stem(int(in_channels), c[0], int(layers[0]))
    upper = []
    for i, stride in ((1, 2), (2, 2), (3, 1)):
        stage = residual_stage(mode, c[i - 1], c[i], stride, int(layers[i]))
        upper.append(PerFrame(stage) if mode == "2d" else stage)
    return layer0, layer1, upper[0], upper[1], upper[2]


class DeepGaitV2(GaitModel):
    """DeepGaitV2 (Fan et al. 2023): residual 2D / pseudo-3D / 3D network, TP, HPP, FCs, BNNeck.

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
        isolate_packed_sequences: Run packed sequences through the network one at a time (see the module
            docstring); the peer mixes them.
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
        isolate_packed_sequences: bool = False,
    ) -> None:
        super().__init__()
        stages = deepgaitv2_stages(in_channels, mode, layers, channels)
        c = [int(v) for v in channels]
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        self.mode = mode
        self.isolate_packed_sequences = bool(isolate_packed_sequences) and mode != "2d"
        self.mixes_packed_frames = mode != "2d" and not self.isolate_packed_sequences
        self.layer0, self.layer1, self.layer2, self.layer3, self.layer4 = stages
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

    def _backbone(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C, s, h, w]`` → ``[n, c, s, h/4, w/4]``."""
        out = self.layer2(self.layer1(self.layer0(x)))
        return self.layer4(self.layer3(out))

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring for the outputs.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` (or ``[B, T, C, H, W]``), or packed
        ``[1, ΣT, ...]`` with ``batch.seq_lens``.
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)  # [n, C, s, h, w]
        if self.isolate_packed_sequences and batch.seq_lens is not None:
            chunks = torch.split(x, packed_lengths(x, batch.seq_lens), dim=2)
            pooled = torch.cat([self.TP(self._backbone(chunk)) for chunk in chunks], dim=0)
        else:
            pooled = self.TP(self._backbone(x), batch.seq_lens)  # [B, c, h/4, w/4]
        feat = self.HPP(pooled)  # [B, c, P]
        embed_1 = self.FCs(feat)  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)  # [B, C, P], [B, N, P]
        if self.inference_bnneck:
            extras = {"pre_bnneck_embeddings": embed_1, "bnneck_embeddings": embed_2}
            return ModelOutput(embeddings=embed_2, logits=logits, extras=extras)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})


class SkeletonGait(DeepGaitV2):
    """SkeletonGait (Fan et al. AAAI 2024): DeepGaitV2-P3D on 2-channel skeleton maps.

    Reads ``[B, T, 2, H, W]`` from ``Batch.inputs["skeleton_map"]`` and infers with BNNeck features (the
    peer's CCPG setting).

    Args: as :class:`DeepGaitV2`, with skeleton-map defaults.
    """

    input_modalities = ("skeleton_map",)

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
        isolate_packed_sequences: bool = False,
    ) -> None:
        super().__init__(
            num_classes,
            in_channels,
            mode,
            layers,
            channels,
            embed_dim,
            bins,
            inference_bnneck,
            modality,
            isolate_packed_sequences,
        )
