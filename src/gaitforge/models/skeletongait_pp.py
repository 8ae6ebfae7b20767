"""SkeletonGait++: skeleton maps and silhouettes, fused by attention after their own stems, then DeepGaitV2-P3D.

Fan et al., "SkeletonGait: Gait Recognition Using Skeleton Maps", AAAI 2024 (SkeletonGait++ is the
multimodal variant there). Each modality gets a DeepGaitV2 stem (a 3x3 convolution + BatchNorm + ReLU, then a
2D residual stage, per frame). An attention fusion block concatenates the two feature maps, predicts
per-pixel scores for both with a small bottleneck (1x1 → 3x3 → 1x1 convolutions, ``squeeze_ratio`` 16),
normalises them with a softmax across the two modalities and takes the weighted sum. Three pseudo-3D residual
stages, temporal max pooling, 16-strip HPP, part-wise FCs and a BNNeck follow. Module names equal OpenGait's
``SkeletonGaitPP`` (``sil_layer0``, ``map_layer0``, ``sil_layer1``, ``map_layer1``, ``fusion.conv``,
``layer2`` … ``layer4``, ``FCs``, ``BNNecks``), so its checkpoints load unchanged.

Inputs: ``Batch.inputs["skeleton_map"]`` ``[B, T, 2, H, W]`` (joint and limb maps in ``[0, 1]``) and
``Batch.inputs["sil"]`` ``[B, T, H, W]``. The peer stacks them into one ``[B, T, 3, H, W]`` tensor (maps, then
the silhouette); that layout is accepted under ``"skeleton_map"`` alone too. Square maps next to narrower
silhouettes (64x64 maps, 64x44 silhouettes) are centre-cropped to the silhouettes' width, as the peer's input
pretreatment does. As in the peer, the pseudo-3D stages run over the whole frame axis of packed input
(``mixes_packed_frames``).
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
    conv1x1,
    conv3x3,
    init_peer_parameters,
    to_sequence_tensor,
)
from gaitforge.models.blocks3d import residual_stage
from gaitforge.models.deepgaitv2 import deepgaitv2_stem, packed_lengths

__all__ = ["AttentionFusion", "SkeletonGaitPP"]

logger = logging.getLogger(__name__)


class AttentionFusion(nn.Module):
    """Per-pixel softmax weighting of two feature maps (SkeletonGait++'s fusion), held as ``.conv``.

    Args:
        channels: Channels ``c`` of each input.
        squeeze_ratio: Bottleneck reduction; the hidden width is ``int(c / squeeze_ratio)``.
    """

    def __init__(self, channels: int, squeeze_ratio: int = 16) -> None:
        super().__init__()
        hidden = int(channels / squeeze_ratio)
        if hidden < 1:
            raise ValueError(f"AttentionFusion: {channels} channels / squeeze_ratio {squeeze_ratio} leaves no width")
        self.conv = PerFrame(
            nn.Sequential(
                conv1x1(2 * channels, hidden),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                conv3x3(hidden, hidden),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                conv1x1(hidden, 2 * channels),
            )
        )

    def forward(self, sil: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """Two ``[n, c, s, h, w]`` maps → their per-element weighted sum ``[n, c, s, h, w]``."""
        n, c = sil.shape[:2]
        score = self.conv(torch.cat([sil, maps], dim=1))  # [n, 2c, s, h, w]
        score = score.reshape(n, 2, c, *score.shape[2:]).softmax(dim=1)  # [n, 2, c, s, h, w]
        return sil * score[:, 0] + maps * score[:, 1]


class SkeletonGaitPP(GaitModel):
    """SkeletonGait++ (Fan et al. AAAI 2024): skeleton-map and silhouette stems, attention fusion, P3D stages.

    Outputs: ``embeddings`` ``[B, C, P]`` (FC features), ``logits`` ``[B, N, P]``, extras ``bnneck_embeddings``.
    With ``inference_bnneck=True`` (the peer's ``use_emb2``) ``embeddings`` are the BNNeck features and extras
    ``pre_bnneck_embeddings`` the FC features the triplet loss takes.

    Args:
        num_classes: Training identities ``N`` (CCPG: 100).
        layers: Residual blocks of the four stages (peer: 1/1/1/1; GREW, Gait3D: 1/4/4/1).
        channels: Stage widths (peer ``C = 2``: 64/128/256/512).
        embed_dim: FC output channels ``C`` (peer: ``channels[2]``).
        bins: HPP strip counts (peer: 16).
        squeeze_ratio: Reduction of the fusion bottleneck (peer: 16).
        inference_bnneck: Use BNNeck features as ``embeddings``.
        isolate_packed_sequences: Run packed sequences one at a time (not the peer's behaviour).
    """

    input_modalities = ("skeleton_map", "sil")

    def __init__(
        self,
        num_classes: int = 100,
        layers: Sequence[int] = (1, 1, 1, 1),
        channels: Sequence[int] = (64, 128, 256, 512),
        embed_dim: int | None = None,
        bins: Sequence[int] = (16,),
        squeeze_ratio: int = 16,
        inference_bnneck: bool = False,
        isolate_packed_sequences: bool = False,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or len(channels) != 4:
            raise ValueError(f"layers and channels: expected 4 entries each, got {list(layers)}, {list(channels)}")
        c = [int(v) for v in channels]
        self.in_channels = 3  # the peer's stacked layout: 2 map channels + the silhouette
        self.isolate_packed_sequences = bool(isolate_packed_sequences)
        self.mixes_packed_frames = not self.isolate_packed_sequences
        sil0, sil1 = deepgaitv2_stem(1, c[0], int(layers[0]))
        map0, map1 = deepgaitv2_stem(2, c[0], int(layers[0]))
        # Registration order fixes the state-dict order: the peer's is sil0, map0, sil1, map1, fusion, ...
        self.sil_layer0, self.map_layer0, self.sil_layer1, self.map_layer1 = sil0, map0, sil1, map1
        self.fusion = AttentionFusion(c[0], squeeze_ratio)
        self.layer2 = residual_stage("p3d", c[0], c[1], 2, int(layers[1]))
        self.layer3 = residual_stage("p3d", c[1], c[2], 2, int(layers[2]))
        self.layer4 = residual_stage("p3d", c[2], c[3], 1, int(layers[3]))
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

    @staticmethod
    def from_opengait_inputs(ipts: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The peer's single stream ``[n, s, 3, H, W]`` (maps, then the silhouette) → ``Batch.inputs``."""
        if len(ipts) != 1 or ipts[0].dim() != 5 or ipts[0].shape[2] != 3:
            shapes = [list(t.shape) for t in ipts]
            raise ValueError(f"ipts: SkeletonGait++ takes one stream [n, s, 3, H, W], got {shapes}")
        return {"skeleton_map": ipts[0][:, :, :2], "sil": ipts[0][:, :, 2]}

    def _split(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(maps ``[n, 2, s, H, W]``, silhouettes ``[n, 1, s, H, W]``) from either input layout."""
        inputs = batch.inputs
        if "skeleton_map" not in inputs:
            raise KeyError(f"SkeletonGait++ reads inputs 'skeleton_map' and 'sil'; the batch has {sorted(inputs)}")
        maps = inputs["skeleton_map"]
        if "sil" not in inputs:
            if maps.dim() == 5 and maps.shape[2] == 3:  # the peer's stacked layout
                return maps[:, :, :2].float().transpose(1, 2), maps[:, :, 2:].float().transpose(1, 2)
            raise KeyError(
                f"SkeletonGait++ needs inputs['sil'] next to inputs['skeleton_map'] {list(maps.shape)} "
                "(or one stacked [B, T, 3, H, W] tensor under 'skeleton_map')"
            )
        maps = to_sequence_tensor(maps, 2, "skeleton_map")
        sils = to_sequence_tensor(inputs["sil"], 1, "sil")
        (mh, mw), (sh, sw) = maps.shape[-2:], sils.shape[-2:]
        if mh == mw == sh and sw < mw and (mw - sw) % 2 == 0:
            # square maps next to narrower silhouettes: centre-crop the maps, as the peer's input pretreatment does
            # (put the crop_width transform first instead, so that geometric augmentations line up)
            cut = (mw - sw) // 2
            maps = maps[..., cut : mw - cut]
        if maps.shape[0] != sils.shape[0] or maps.shape[2:] != sils.shape[2:]:
            raise ValueError(
                f"inputs['skeleton_map'] {list(maps.shape)} and inputs['sil'] {list(sils.shape)} "
                "(as [B, C, T, H, W]) must agree in batch, frames and frame size"
            )
        return maps, sils

    def _backbone(self, maps: torch.Tensor, sils: torch.Tensor) -> torch.Tensor:
        """``[n, 2, s, H, W]`` and ``[n, 1, s, H, W]`` → ``[n, c, s, H/4, W/4]``."""
        map1 = self.map_layer1(self.map_layer0(maps))
        sil1 = self.sil_layer1(self.sil_layer0(sils))
        out = self.fusion(sil1, map1)
        return self.layer4(self.layer3(self.layer2(out)))

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring. Inputs are stacked ``[B, T, ...]`` or packed ``[1, ΣT, ...]`` with
        ``batch.seq_lens``."""
        maps, sils = self._split(batch)
        if self.isolate_packed_sequences and batch.seq_lens is not None:
            lengths = packed_lengths(maps, batch.seq_lens)
            pairs = zip(torch.split(maps, lengths, dim=2), torch.split(sils, lengths, dim=2))
            pooled = torch.cat([self.TP(self._backbone(m, s)) for m, s in pairs], dim=0)
        else:
            pooled = self.TP(self._backbone(maps, sils), batch.seq_lens)  # [B, c, h, w]
        embed_1 = self.FCs(self.HPP(pooled))  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)  # [B, C, P], [B, N, P]
        if self.inference_bnneck:
            extras = {"pre_bnneck_embeddings": embed_1, "bnneck_embeddings": embed_2}
            return ModelOutput(embeddings=embed_2, logits=logits, extras=extras)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
