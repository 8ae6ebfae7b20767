"""GaitSSB: self-supervised pre-training on unlabelled walking sequences, and its fine-tuning model.

Fan et al., "Learning Gait Representation from Massive Unlabelled Walking Videos: A Benchmark", TPAMI 2023
(GaitLU-1M). The encoder is GaitBase's ResNet9 run per frame, temporal max pooling and a 31-part horizontal
pyramid (16/8/4/2/1). Pre-training (:class:`GaitSSBPretrain`) follows SimSiam (Chen & He, "Exploring Simple
Siamese Representation Learning", CVPR 2021) part by part: a projector (part-wise FC, BatchNorm, ReLU,
part-wise FC, BatchNorm) and a predictor (part-wise FC, BatchNorm, ReLU, part-wise FC). Two augmented views
``q`` and ``k`` of the same sequences are encoded; for every part the cosine similarities between the
predictions of one view and the (stop-gradient) projections of the other, over all sequences of the batch,
are logits whose targets are the diagonal (each sequence matches its own other view): a cross-entropy over
``logits`` and ``logits_swapped`` with ``pair_labels`` = ``arange(B)``. No identity label is used.

Fine-tuning (:class:`GaitSSBFinetune`) keeps the encoder and projector, L2-normalises the projection and maps it
with a part-wise FC whose columns are normalised (``head0``); it is trained with a triplet loss. The stem is
always frozen and so are the stages whose backbone learning rate is 0 (the peer's ``backbone_lr``).

Module names equal the peer's (``Backbone``, ``projector``, ``predictor``, ``head0``).
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
    TemporalMaxPool,
    init_peer_parameters,
    to_sequence_tensor,
)
from gaitforge.models.resnet import ResNet9

__all__ = ["GaitSSBPretrain", "GaitSSBFinetune", "PartBatchNorm", "projection_mlp", "VIEW2_SUFFIX"]

logger = logging.getLogger(__name__)

#: The second augmented view of a pre-training batch is ``Batch.inputs[modality + VIEW2_SUFFIX]``.
VIEW2_SUFFIX = "_view2"


class PartBatchNorm(nn.Module):
    """One BatchNorm1d over the channel-major flattened part features ``[n, C·P]`` (the peer's ``ParallelBN1d``).

    Args:
        parts: Number of parts ``P``.
        channels: ``C``.
    """

    def __init__(self, parts: int, channels: int) -> None:
        super().__init__()
        self.bn1d = nn.BatchNorm1d(parts * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C, P]`` → ``[n, C, P]``."""
        return self.bn1d(x.reshape(x.shape[0], -1)).reshape(x.shape)


def projection_mlp(parts: int, channels: int, hidden: int, last_bn: bool) -> nn.Sequential:
    """Part-wise SimSiam head: FC, BatchNorm, ReLU, FC (+ BatchNorm for the projector), over ``[n, C, P]``."""
    layers: list[nn.Module] = [
        SeparateFCs(parts, channels, hidden),
        PartBatchNorm(parts, hidden),
        nn.ReLU(inplace=True),
        SeparateFCs(parts, hidden, channels),
    ]
    if last_bn:
        layers.append(PartBatchNorm(parts, channels))
    return nn.Sequential(*layers)


class _GaitSSBEncoder(GaitModel):
    """Shared encoder (ResNet9, TP, HPP) and projector of the two GaitSSB models."""

    def __init__(
        self,
        channels: Sequence[int],
        layers: Sequence[int],
        strides: Sequence[int],
        maxpool: bool,
        bins: Sequence[int],
        modality: str,
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        backbone = ResNet9(1, channels, layers, strides, maxpool)
        self.Backbone = PerFrame(backbone)
        self.TP = TemporalMaxPool(dim=2)
        self.HPP = HorizontalPyramidPooling(bins)
        c = backbone.out_channels
        self.projector = projection_mlp(self.HPP.parts, c, c, last_bn=True)

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        """ResNet9 per frame: ``[n, 1, s, H, W]`` → ``[n, c, s, h, w]`` (overridden to freeze stages)."""
        return self.Backbone(x)

    def encode(self, sils: torch.Tensor, seq_lens: torch.Tensor | None, name: str) -> torch.Tensor:
        """Silhouettes ``[B, T, H, W]`` (or packed) → part features ``[B, c, P]``."""
        x = to_sequence_tensor(sils, 1, name)
        return self.HPP(self.TP(self._frames(x), seq_lens))


class GaitSSBPretrain(_GaitSSBEncoder):
    """GaitSSB pre-training (SimSiam over 31 parts); see the module docstring.

    Outputs with two views (training mode and ``Batch.inputs[modality + "_view2"]`` present): ``embeddings`` =
    normalised predictions of view 1 ``[B, c, P]``, ``logits`` ``[B, B, P]`` (view-1 predictions against view-2
    projections), extras ``logits_swapped`` (views exchanged) and ``pair_labels`` ``arange(B)``. Otherwise
    (evaluation): ``embeddings`` = ``normalize(predictor(projector(encoder(x))))`` ``[B, c, P]``, no logits.

    Args:
        channels, layers, strides, maxpool: ResNet9 settings (GaitBase's: 64/128/256/512, 1/1/1/1, 1/2/2/1,
            no max-pool).
        bins: HPP strips (16/8/4/2/1 → 31 parts).
        modality: Key of the silhouettes in ``Batch.inputs``.
    """

    opengait_outputs = {"inference_feat/embeddings": "embeddings"}
    #: Trained on two views without identity labels (gaitforge.engine.label_sources).
    trains_without_identities = True
    #: Loss inputs returned in two-view training only.
    training_outputs = ("logits", "logits_swapped", "pair_labels")

    def __init__(
        self,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        maxpool: bool = False,
        bins: Sequence[int] = (16, 8, 4, 2, 1),
        modality: str = "sil",
    ) -> None:
        super().__init__(channels, layers, strides, maxpool, bins, modality)
        c = int(channels[-1])
        self.predictor = projection_mlp(self.HPP.parts, c, c, last_bn=False)
        init_peer_parameters(self)

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring; inputs are stacked ``[B, T, H, W]`` or packed with ``batch.seq_lens``."""
        name = self.input_modalities[0]
        view2 = name + VIEW2_SUFFIX
        if not (self.training and view2 in batch.inputs):
            feat = self.predictor(self.projector(self.encode(batch.inputs[name], batch.seq_lens, name)))
            return ModelOutput(embeddings=F.normalize(feat, dim=1))
        z1 = self.projector(self.encode(batch.inputs[name], batch.seq_lens, name))
        z2 = self.projector(self.encode(batch.inputs[view2], batch.seq_lens, view2))
        if z1.shape != z2.shape:
            raise ValueError(f"inputs[{view2!r}]: the two views encode to {list(z1.shape)} and {list(z2.shape)}")
        p1, p2 = F.normalize(self.predictor(z1), dim=1), F.normalize(self.predictor(z2), dim=1)
        t1, t2 = F.normalize(z1.detach(), dim=1), F.normalize(z2.detach(), dim=1)  # stop-gradient targets
        logits = torch.einsum("ncp,mcp->nmp", p1, t2)  # [B, B, P]
        swapped = torch.einsum("ncp,mcp->nmp", p2, t1)
        labels = torch.arange(p1.shape[0], device=p1.device)
        return ModelOutput(embeddings=p1, logits=logits, extras={"logits_swapped": swapped, "pair_labels": labels})


class GaitSSBFinetune(_GaitSSBEncoder):
    """GaitSSB fine-tuning: encoder, projector, L2 normalisation and a column-normalised part-wise FC.

    Outputs: ``embeddings`` ``[B, c, P]`` (triplet input and inference embedding), no logits.

    Args:
        channels, layers, strides, maxpool: ResNet9 settings.
        bins: HPP strips (31 parts).
        frozen: Backbone parts kept fixed (no gradient): ``"stem"`` (always, as in the peer) and the
            ``"layer<i>"`` whose ``backbone_lr`` is 0 (the peer's CASIA-B config: ``layer1``).
        modality: Key of the silhouettes in ``Batch.inputs``.
    """

    def __init__(
        self,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        maxpool: bool = False,
        bins: Sequence[int] = (16, 8, 4, 2, 1),
        frozen: Sequence[str] = ("stem", "layer1"),
        modality: str = "sil",
    ) -> None:
        super().__init__(channels, layers, strides, maxpool, bins, modality)
        c = int(channels[-1])
        self.head0 = SeparateFCs(self.HPP.parts, c, c, norm=True)
        unknown = sorted(set(frozen) - {"stem", "layer1", "layer2", "layer3", "layer4"})
        if unknown:
            raise ValueError(f"frozen: unknown backbone part(s) {unknown}; expected 'stem' or 'layer1' .. 'layer4'")
        self.frozen = tuple(frozen)
        init_peer_parameters(self)
        net = self.Backbone.forward_block
        for part in self.frozen:
            modules = (net.conv1, net.bn1) if part == "stem" else (getattr(net, part),)
            for module in modules:
                for p in module.parameters():
                    p.requires_grad_(False)

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        n, c, s, h, w = x.shape
        net = self.Backbone.forward_block
        out = x.transpose(1, 2).reshape(n * s, c, h, w)
        with torch.set_grad_enabled(torch.is_grad_enabled() and "stem" not in self.frozen):
            out = net.maxpool(net.relu(net.bn1(net.conv1(out))))
        for i in range(1, 5):
            with torch.set_grad_enabled(torch.is_grad_enabled() and f"layer{i}" not in self.frozen):
                out = getattr(net, f"layer{i}")(out)
        return out.reshape(n, s, *out.shape[1:]).transpose(1, 2).contiguous()

    def forward(self, batch: Batch) -> ModelOutput:
        """``embeddings`` ``[B, c, P]``; inputs stacked ``[B, T, H, W]`` or packed with ``batch.seq_lens``."""
        name = self.input_modalities[0]
        feat = F.normalize(self.projector(self.encode(batch.inputs[name], batch.seq_lens, name)), dim=1)
        return ModelOutput(embeddings=self.head0(feat))
