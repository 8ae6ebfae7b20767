"""FoundationGait's fine-tuning model: a large self-supervised DeepGaitV2 encoder with a GaitSSB-style projector.

The peer's ``FoundationGait_Scaling_Finetune`` (OpenGait; FoundationGait scales GaitSSB-style self-supervised
pre-training (:mod:`gaitforge.models.gaitssb`) to a DeepGaitV2 backbone of up to billions of parameters; the
smallest, 0.03B CCPG, configuration is ``layers 1/4/8/4``, widths 64/128/256/512, pseudo-3D). The pre-trained
teacher encoder (``teacher_backbone``: DeepGaitV2 stem and stages, temporal max pooling, 31-part pyramid
16/8/4/2/1, projector and predictor) is fine-tuned with part-wise FCs and a BNNeck on the L2-normalised
projection. Stages whose backbone learning rate is 0 (the peer's ``backbone_lr``, one rate per ``layer0`` …
``layer4``) are frozen; the predictor is kept for the state-dict layout (pre-training checkpoints load) but is
unused and frozen.

Training uses the peer's *diverse crop* augmentation: the batch is cut into ``len(crop_list)`` chunks; for a
chunk with ``k > 1``, the first half of its sequences is encoded as ``k`` horizontal bands and the second half
as ``k + 1`` bands offset by half a band (zero-padded), each band on its own, and the band features are stacked
back (the offset ones trimmed by half a band), so that the network learns from partial bodies. Evaluation
encodes whole frames. As in the peer, the pseudo-3D stages run over the whole frame axis of packed input.

Outputs: ``embeddings`` = FC features ``[B, 256, 31]`` (triplet input and inference embedding), ``logits``,
extras ``bnneck_embeddings``. Module names equal the peer's (``teacher_backbone.layer0`` …, ``FCs``,
``BNNecks``).
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
    SeparateBNNecks,
    SeparateFCs,
    TemporalMaxPool,
    init_peer_parameters,
    to_sequence_tensor,
)
from gaitforge.models.deepgaitv2 import deepgaitv2_stages
from gaitforge.models.gaitssb import projection_mlp

__all__ = ["FoundationGait", "SSLEncoder"]

logger = logging.getLogger(__name__)


class SSLEncoder(nn.Module):
    """The self-supervised DeepGaitV2 encoder (the peer's ``DeepGaitV2_SSL``): stages, TP, HPP, projector, predictor.

    Args:
        in_channels: Input channels (1).
        mode: ``"2d"``, ``"p3d"`` or ``"3d"`` stages 2–4.
        layers: Blocks per stage (0.03B: 1/4/8/4).
        channels: Stage widths (64/128/256/512).
        bins: HPP strips (16/8/4/2/1 → 31 parts).
    """

    def __init__(
        self,
        in_channels: int = 1,
        mode: str = "p3d",
        layers: Sequence[int] = (1, 4, 8, 4),
        channels: Sequence[int] = (64, 128, 256, 512),
        bins: Sequence[int] = (16, 8, 4, 2, 1),
    ) -> None:
        super().__init__()
        c = [int(v) for v in channels]
        self.layer0, self.layer1, self.layer2, self.layer3, self.layer4 = deepgaitv2_stages(
            in_channels, mode, layers, channels
        )
        self.HPP = HorizontalPyramidPooling(bins)
        self.projector = projection_mlp(self.HPP.parts, c[3], c[3], last_bn=True)
        self.predictor = projection_mlp(self.HPP.parts, c[3], c[3], last_bn=False)
        self.TP = TemporalMaxPool(dim=2)
        self.out_channels = c[3]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C, s, H, W]`` → ``[n, c, s, H/4, W/4]``."""
        for i in range(5):
            x = getattr(self, f"layer{i}")(x)
        return x


class FoundationGait(GaitModel):
    """FoundationGait fine-tuning; see the module docstring.

    Args:
        num_classes: Training identities (CCPG: 100).
        in_channels, mode, layers, channels, bins: :class:`SSLEncoder` settings.
        embed_dim: FC output channels (256).
        crop_list: Bands of each batch chunk in training (peer: 8, 4, 2, 1, 8, 4, 2, 1); ``()`` turns the
            augmentation off.
        frozen: Backbone stages kept fixed, ``"layer0"`` … ``"layer4"`` (peer 0.03B CCPG: layer0–2).
        modality: Key of the silhouettes in ``Batch.inputs``.
    """

    def __init__(
        self,
        num_classes: int = 100,
        in_channels: int = 1,
        mode: str = "p3d",
        layers: Sequence[int] = (1, 4, 8, 4),
        channels: Sequence[int] = (64, 128, 256, 512),
        bins: Sequence[int] = (16, 8, 4, 2, 1),
        embed_dim: int = 256,
        crop_list: Sequence[int] = (8, 4, 2, 1, 8, 4, 2, 1),
        frozen: Sequence[str] = ("layer0", "layer1", "layer2"),
        modality: str = "sil",
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        self.mixes_packed_frames = mode != "2d"
        self.crop_list = tuple(int(k) for k in crop_list)
        if any(k < 1 for k in self.crop_list):
            raise ValueError(f"crop_list: expected positive band counts, got {list(crop_list)}")
        unknown = sorted(set(frozen) - {f"layer{i}" for i in range(5)})
        if unknown:
            raise ValueError(f"frozen: unknown stage(s) {unknown}; expected 'layer0' .. 'layer4'")
        self.frozen = tuple(frozen)
        self.teacher_backbone = SSLEncoder(in_channels, mode, layers, channels, bins)
        parts = self.teacher_backbone.HPP.parts
        self.FCs = SeparateFCs(parts, self.teacher_backbone.out_channels, embed_dim)
        self.BNNecks = SeparateBNNecks(parts, embed_dim, num_classes)
        init_peer_parameters(self)
        for name in (*self.frozen, "predictor"):
            for p in getattr(self.teacher_backbone, name).parameters():
                p.requires_grad_(False)

    @property
    def opengait_outputs(self) -> dict[str, str]:
        """The peer's output paths; its 31 per-part slices come from :meth:`opengait_extra_outputs`."""
        return {
            "inference_feat/embeddings": "embeddings",
            "training_feat/triplet/embeddings": "embeddings",
            "training_feat/softmax/logits": "logits",
        }

    @staticmethod
    def opengait_extra_outputs(out: ModelOutput) -> dict[str, torch.Tensor]:
        """``inference_feat/embeddings_00`` … : each part of the embedding, ``[B, C, 1]``."""
        parts = out.embeddings.shape[-1]
        return {f"inference_feat/embeddings_{i:02d}": out.embeddings[..., i : i + 1] for i in range(parts)}

    def _banded(self, x: torch.Tensor, bands: int) -> torch.Tensor:
        """The diverse-crop encoding of one chunk ``[n, C, s, H, W]`` (``n`` even) → ``[n, c, s, h, w]``."""
        if bands == 1:
            return self.teacher_backbone.encode(x)
        n, c, s, h, w = x.shape
        if n % 2 or h % bands:
            raise ValueError(
                f"crop_list: a chunk of {n} sequences of height {h} cannot be cut into {bands} bands "
                "(each chunk needs an even number of sequences and the height a multiple of the band count)"
            )
        win = h // bands
        first = x[: n // 2].reshape(n // 2, c, s, bands, win, w).permute(0, 3, 1, 2, 4, 5)
        second = F.pad(x[n // 2 :], (0, 0, win // 2, win // 2)).reshape(n // 2, c, s, bands + 1, win, w)
        second = second.permute(0, 3, 1, 2, 4, 5)
        feat = self.teacher_backbone.encode(
            torch.cat([first.reshape(-1, c, s, win, w), second.reshape(-1, c, s, win, w)])
        )  # [(n/2)·(2·bands + 1), c', s, fh, fw]
        _, c2, _, fh, fw = feat.shape
        f1 = feat[: n // 2 * bands].reshape(n // 2, bands, c2, s, fh, fw)
        f2 = feat[n // 2 * bands :].reshape(n // 2, bands + 1, c2, s, fh, fw)
        f1 = f1.permute(0, 2, 3, 1, 4, 5).reshape(n // 2, c2, s, bands * fh, fw)
        f2 = f2.permute(0, 2, 3, 1, 4, 5).reshape(n // 2, c2, s, (bands + 1) * fh, fw)
        trim = fh // 2  # half a band, as the input was padded
        return torch.cat([f1, f2[..., trim : (bands + 1) * fh - trim, :]])

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.crop_list):
            return self.teacher_backbone.encode(x)
        chunks = torch.chunk(x, len(self.crop_list), dim=0)
        return torch.cat([self._banded(chunk, bands) for chunk, bands in zip(chunks, self.crop_list, strict=False)])

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P]``, logits ``[B, N, P]``, extras ``bnneck_embeddings``; stacked or packed input."""
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)  # [n, C, s, H, W]
        enc = self.teacher_backbone
        feat = F.normalize(enc.projector(enc.HPP(enc.TP(self._frames(x), batch.seq_lens))), dim=1)
        embed_1 = self.FCs(feat)
        embed_2, logits = self.BNNecks(embed_1)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
