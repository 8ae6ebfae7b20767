"""SwinGait: a DeepGaitV2 convolutional stem followed by 3D shifted-window transformer stages.

Fan et al., "Exploring Deep Models for Practical Gait Recognition", arXiv 2303.03301 (SwinGait); Liu et al.,
"Video Swin Transformer", CVPR 2022 (3D shifted windows with relative position bias). The stem (``layer0`` …
``layer2``, the last one pseudo-3D with stride 2) is DeepGaitV2's; its maps are resized bilinearly to 30x20,
cut into 1x2x2 patches and passed through two transformer stages in ``(3, 3, 5)`` windows (the first followed
by LayerNorm + a linear map doubling the channels), then temporal max pooling, 15-strip HPP, part-wise FCs
and a BNNeck. Module names equal OpenGait's ``SwinGait`` (``transformer.layers.0.blocks.1.attn.qkv``, ...).

As in the peer, the temporal shortcut and the temporal windows span the whole frame axis, so on packed input
they see the neighbouring sequence (``mixes_packed_frames``); only the temporal pooling is per sequence. The
``isolate_packed_sequences=True`` runs each packed sequence separately instead (not the peer's behaviour). The
peer's head builds ``P + 1`` part FCs and appends a detached copy of the last part before them; the extra part
is dropped from every output, and that is reproduced here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    HorizontalPyramidPooling,
    SeparateBNNecks,
    SeparateFCs,
    TemporalMaxPool,
    init_peer_parameters,
    to_sequence_tensor,
)
from gaitforge.models.blocks3d import residual_stage
from gaitforge.models.deepgaitv2 import deepgaitv2_stem, packed_lengths
from gaitforge.models.swin3d import SwinTransformer3D

__all__ = ["SwinGait"]

logger = logging.getLogger(__name__)


class SwinGait(GaitModel):
    """SwinGait (Fan et al. 2023): DeepGaitV2 stem and 3D shifted-window transformer, TP, HPP, BNNeck.

    Outputs embeddings ``[B, C, P]``, logits ``[B, N, P]``, extras ``bnneck_embeddings``.

    Args:
        num_classes: Training identities ``N`` (CCPG: 100).
        in_channels: Input channels (1 for silhouettes).
        channels: Widths of the convolutional stem's two stages (peer: 64/128).
        layers: Blocks of the two convolutional stages and depths of the two transformer stages
            (peer: 1/1/2/2; GREW, Gait3D: 1/4/4/2).
        embed_dim: Token width of the first transformer stage; the second has twice as many (peer: 256).
        num_heads: Attention heads per transformer stage (peer: 16/32).
        window_size: ``(t, h, w)`` attention window (peer: 3/3/5).
        resize: Size the stem's maps are resized to before patching (peer: 30x20).
        bins: HPP strip counts (peer: 15).
        out_dim: Output channels ``C`` of the part-wise FCs (peer: 256).
        drop_path_rate: Largest stochastic-depth rate (peer: 0.1).
        modality: Key of ``Batch.inputs`` to read.
        isolate_packed_sequences: Run packed sequences through the network one at a time; the peer mixes them.
    """

    def __init__(
        self,
        num_classes: int = 100,
        in_channels: int = 1,
        channels: Sequence[int] = (64, 128),
        layers: Sequence[int] = (1, 1, 2, 2),
        embed_dim: int = 256,
        num_heads: Sequence[int] = (16, 32),
        window_size: Sequence[int] = (3, 3, 5),
        resize: Sequence[int] = (30, 20),
        bins: Sequence[int] = (15,),
        out_dim: int = 256,
        drop_path_rate: float = 0.1,
        modality: str = "sil",
        isolate_packed_sequences: bool = False,
    ) -> None:
        super().__init__()
        if len(channels) != 2 or len(layers) != 4:
            raise ValueError(f"channels/layers: expected 2 and 4 entries, got {list(channels)}, {list(layers)}")
        c0, c1 = int(channels[0]), int(channels[1])
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        self.resize = (int(resize[0]), int(resize[1]))
        self.isolate_packed_sequences = bool(isolate_packed_sequences)
        self.mixes_packed_frames = not self.isolate_packed_sequences
        self.layer0, self.layer1 = deepgaitv2_stem(in_channels, c0, int(layers[0]))
        self.layer2 = residual_stage("p3d", c0, c1, 2, int(layers[1]))
        self.transformer = SwinTransformer3D(
            in_channels=c1,
            embed_dim=embed_dim,
            depths=(int(layers[2]), int(layers[3])),
            num_heads=num_heads,
            window_size=window_size,
            drop_path_rate=drop_path_rate,
        )
        self.TP = TemporalMaxPool(dim=2)
        self.HPP = HorizontalPyramidPooling(bins)
        parts = self.HPP.parts + 1  # one extra part, dropped from the outputs (see the module docstring)
        self.FCs = SeparateFCs(parts, self.transformer.out_channels, out_dim)
        self.BNNecks = SeparateBNNecks(parts, out_dim, num_classes)
        init_peer_parameters(self)
        self.transformer.init_weights()

    def _backbone(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C, s, h, w]`` → ``[n, 2·embed_dim, s, 15, 10]`` (for the default 30x20 resize)."""
        out = self.layer2(self.layer1(self.layer0(x)))  # [n, c1, s, h/2, w/2]
        n, c, s, h, w = out.shape
        frames = out.transpose(1, 2).reshape(n * s, c, h, w)
        frames = F.interpolate(frames, size=self.resize, mode="bilinear", align_corners=True)
        out = frames.reshape(n, s, c, *self.resize).transpose(1, 2)  # [n, c1, s, 30, 20]
        return self.transformer(out.contiguous())

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring for the outputs.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` or packed ``[1, ΣT, H, W]`` with
        ``batch.seq_lens``.
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)  # [n, C, s, h, w]
        if self.isolate_packed_sequences and batch.seq_lens is not None:
            chunks = torch.split(x, packed_lengths(x, batch.seq_lens), dim=2)
            pooled = torch.cat([self.TP(self._backbone(chunk)) for chunk in chunks], dim=0)
        else:
            pooled = self.TP(self._backbone(x), batch.seq_lens)  # [B, c, 15, 10]
        feat = self.HPP(pooled)  # [B, c, P]
        feat = torch.cat([feat, feat[:, :, -1:].detach()], dim=-1)  # [B, c, P + 1]
        embed_1 = self.FCs(feat)
        embed_2, logits = self.BNNecks(embed_1)
        embed_1, embed_2, logits = embed_1[..., :-1], embed_2[..., :-1], logits[..., :-1]
        return ModelOutput(
            embeddings=embed_1.contiguous(),
            logits=logits.contiguous(),
            extras={"bnneck_embeddings": embed_2.contiguous()},
        )
