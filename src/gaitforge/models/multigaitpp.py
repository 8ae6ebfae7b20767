"""MultiGait++: silhouette + parsing and optical flow in two streams, co-attention, then a fused P3D trunk.

The peer's ``MultiGaitpp`` (OpenGait, CCPG config; the MultiGait++ line of multi-modal gait models). Two
DeepGaitV2 stems (3x3 convolution + BatchNorm + ReLU, a 2D residual stage, per frame) take *part 1* (the
silhouette and the parsing map, 2 channels) and *part 2* (an optical-flow colour image, 3 channels). A
co-attention block (``csquare``) predicts per-element scores for both streams with two bottleneck MLPs (1x1
convolutions, ``squeeze_ratio`` 16), normalises them with a softmax across the streams, and takes their
element-wise minimum, min–max normalised over the channels, as the *shared* attention ``a``: the shared stream
is ``a · (x₁ + x₂) / 2`` and each modality stream continues with ``(1 − a) · softmax score``. The three streams
go through pseudo-3D stages 2 and 3 (``part1_layer*``, ``part2_layer*``, ``layer*``), are concatenated and
fused by a 1x1 convolution, then a last P3D stage, temporal max pooling, 16-strip HPP, part-wise FCs and a
BNNeck. Module names equal the peer's. As in the peer, the pseudo-3D stages run over the whole frame axis of
packed input (``mixes_packed_frames``).

Inputs: ``Batch.inputs["sil"]`` ``[B, T, H, W]`` ({0, 1}), ``Batch.inputs["parsing"]`` ``[B, T, H, W]``
(Gait3D-Parsing label ids 0..11; divided by 255 as the peer's uint8 stack is) and ``Batch.inputs["flow"]``
``[B, T, 3, H, W]`` (flow colour image in [0, 1]); or the peer's stack ``[B, T, 5, H, W]`` (silhouette,
parsing id / 255, flow) under ``"sil"`` alone.
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
    init_peer_parameters,
    to_sequence_tensor,
)
from gaitforge.models.blocks3d import residual_stage
from gaitforge.models.deepgaitv2 import deepgaitv2_stem

__all__ = ["MultiGaitPP", "CoAttention", "ConcatFusion"]

logger = logging.getLogger(__name__)


def _bottleneck(channels: int, hidden: int) -> PerFrame:
    """Per-frame 1x1 → BN → ReLU → 1x1 → BN → ReLU → 1x1 scores."""
    return PerFrame(
        nn.Sequential(
            conv1x1(channels, hidden),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            conv1x1(hidden, hidden),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            conv1x1(hidden, channels),
        )
    )


class CoAttention(nn.Module):
    """MultiGait++'s co-attention of two streams (the peer's ``CSquare``), with ``conv2`` scoring the second
    input and ``conv1`` the first.

    Args:
        channels: Channels ``c`` of each stream.
        squeeze_ratio: Bottleneck reduction (hidden width ``int(c / squeeze_ratio)``).
    """

    def __init__(self, channels: int, squeeze_ratio: int = 16) -> None:
        super().__init__()
        hidden = int(channels / squeeze_ratio)
        if hidden < 1:
            raise ValueError(f"CoAttention: {channels} channels / squeeze_ratio {squeeze_ratio} leaves no width")
        self.conv2 = _bottleneck(channels, hidden)
        self.conv1 = _bottleneck(channels, hidden)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Two ``[n, c, s, h, w]`` streams → (shared stream, weight of ``x1``, weight of ``x2``), all that shape."""
        scores = torch.stack((self.conv1(x1), self.conv2(x2)), dim=1).softmax(dim=1)  # [n, 2, c, s, h, w]
        s1, s2 = scores[:, 0], scores[:, 1]
        common = torch.minimum(s1, s2)
        lo, hi = common.amin(1, keepdim=True), common.amax(1, keepdim=True)
        attn = ((common - lo) / (hi - lo + 1e-6)).clamp(0, 1)
        return (x1 + x2) / 2 * attn, (1.0 - attn) * s1, (1.0 - attn) * s2


class ConcatFusion(nn.Module):
    """Concatenate streams on the channels and mix them with a per-frame 1x1 convolution held as ``.conv``.

    Args:
        channels: Channels of each stream (and of the output).
        streams: Number of streams.
    """

    def __init__(self, channels: int, streams: int) -> None:
        super().__init__()
        self.conv = PerFrame(nn.Sequential(conv1x1(streams * channels, channels)))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """``streams`` × ``[n, c, s, h, w]`` → ``[n, c, s, h, w]``."""
        return self.conv(torch.cat(list(feats), 1))


class MultiGaitPP(GaitModel):
    """MultiGait++; see the module docstring.

    Args:
        num_classes: Training identities (CCPG: 100).
        layers: Residual blocks of the four stages (1/1/1/1).
        width: The peer's ``C``: stage widths ``32C, 64C, 128C, 256C``; FCs ``256C → 128C`` (2).
        part1_channels: Channels of stream 1 (silhouette + parsing: 2).
        part2_channels: Channels of stream 2 (flow colour image: 3).
        bins: HPP strips (16).
        squeeze_ratio: Co-attention bottleneck reduction (16).
    """

    input_modalities = ("sil", "parsing", "flow")

    def __init__(
        self,
        num_classes: int = 100,
        layers: Sequence[int] = (1, 1, 1, 1),
        width: int = 2,
        part1_channels: int = 2,
        part2_channels: int = 3,
        bins: Sequence[int] = (16,),
        squeeze_ratio: int = 16,
    ) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"layers: expected 4 entries, got {list(layers)}")
        if part1_channels != 2 or part2_channels != 3:
            raise ValueError(
                f"part1_channels, part2_channels: the streams are silhouette + parsing (2) and flow (3), got "
                f"{part1_channels}, {part2_channels}"
            )
        c = [32 * width, 64 * width, 128 * width, 256 * width]
        self.part1, self.part2 = int(part1_channels), int(part2_channels)
        self.mixes_packed_frames = True
        n = [int(v) for v in layers]
        p1_0, p1_1 = deepgaitv2_stem(self.part1, c[0], n[0])
        p2_0, p2_1 = deepgaitv2_stem(self.part2, c[0], n[0])
        # Registration order fixes the state-dict order: the peer's is part1_layer0, part2_layer0, part1_layer1...
        self.part1_layer0, self.part2_layer0, self.part1_layer1, self.part2_layer1 = p1_0, p2_0, p1_1, p2_1
        self.fusion = ConcatFusion(c[2], 3)
        for name in ("part1_layer2", "part2_layer2", "layer2"):
            setattr(self, name, residual_stage("p3d", c[0], c[1], 2, n[1]))
        for name in ("part1_layer3", "part2_layer3", "layer3"):
            setattr(self, name, residual_stage("p3d", c[1], c[2], 2, n[2]))
        self.layer4 = residual_stage("p3d", c[2], c[3], 1, n[3])
        self.csquare = CoAttention(c[0], squeeze_ratio)
        self.FCs = SeparateFCs(sum(bins), c[3], c[2])
        self.BNNecks = SeparateBNNecks(sum(bins), c[2], num_classes)
        self.TP = TemporalMaxPool(dim=2)
        self.HPP = HorizontalPyramidPooling(bins)
        init_peer_parameters(self)

    @staticmethod
    def from_opengait_inputs(ipts: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The peer's single stream ``[n, s, 5, H, W]`` → ``Batch.inputs`` (stacked, under ``"sil"``)."""
        if len(ipts) != 1 or ipts[0].dim() != 5 or ipts[0].shape[2] != 5:
            raise ValueError(f"ipts: MultiGait++ takes one stream [n, s, 5, H, W], got {[list(t.shape) for t in ipts]}")
        return {"sil": ipts[0]}

    def _streams(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(part 1 ``[n, 2, s, H, W]``, part 2 ``[n, 3, s, H, W]``) from either input layout."""
        inputs = batch.inputs
        if "sil" not in inputs:
            raise KeyError(f"inputs['sil']: missing; MultiGait++ reads {list(self.input_modalities)}")
        sil = inputs["sil"]
        if sil.dim() == 5 and sil.shape[2] == self.part1 + self.part2:  # the peer's stack
            x = sil.float().transpose(1, 2)
            return x[:, : self.part1], x[:, self.part1 :]
        missing = [m for m in ("parsing", "flow") if m not in inputs]
        if missing:
            raise KeyError(
                f"inputs{missing}: missing; MultiGait++ reads 'sil', 'parsing' and 'flow' (or the peer's stack "
                f"[B, T, 5, H, W] under 'sil'), got {sorted(inputs)}"
            )
        sils = to_sequence_tensor(sil, 1, "sil")
        pars = to_sequence_tensor(inputs["parsing"], 1, "parsing") / 255.0
        flow = to_sequence_tensor(inputs["flow"], 3, "flow")
        if not (sils.shape[2:] == pars.shape[2:] == flow.shape[2:]):
            raise ValueError(
                f"inputs['sil'] {list(sils.shape)}, ['parsing'] {list(pars.shape)} and ['flow'] {list(flow.shape)} "
                "(as [B, C, T, H, W]) must agree in frames and frame size"
            )
        return torch.cat([sils, pars], 1), flow

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P]``, logits ``[B, N, P]``, extras ``bnneck_embeddings``; stacked or packed input."""
        part1, part2 = self._streams(batch)
        part2 = self.part2_layer1(self.part2_layer0(part2))
        part1 = self.part1_layer1(self.part1_layer0(part1))
        out, w2, w1 = self.csquare(part2, part1)
        part2 = self.part2_layer3(self.part2_layer2(part2 * w2))
        part1 = self.part1_layer3(self.part1_layer2(part1 * w1))
        out = self.layer3(self.layer2(out))
        out = self.layer4(self.fusion([part1, out, part2]))
        embed_1 = self.FCs(self.HPP(self.TP(out, batch.seq_lens)))  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
