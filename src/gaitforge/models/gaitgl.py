"""GaitGL: global and local 3D convolutions with local temporal aggregation.

Lin et al., "Gait Recognition via Effective Global-Local Feature Representation and Local Temporal
Aggregation", ICCV 2021. A 3D stem, local temporal aggregation (a ``(3, 1, 1)`` convolution with temporal
stride 3), GLConv layers that add (or stack) a whole-map 3D convolution and a strip-wise one, temporal max
pooling, GeM pooling over 64 strips, part-wise FCs and a BatchNorm + part-wise classifier head. Module
names equal OpenGait's ``GaitGL`` (``conv3d``, ``LTA``, ``GLConvA0``, ``HPP.p``, ``Head0``, ``Bn``,
``Head1``) so its checkpoints load with ``strict=True``.

The peer's eval-mode forward needs batch size 1; here stacked batches run in one call and packed sequences
are run one at a time through the 3D trunk (its temporal stride and convolutions must not see the
neighbouring sequence), so the result per sequence is the same as the peer's.
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
    GeMHorizontalPooling,
    SeparateBNNecks,
    SeparateFCs,
    init_peer_parameters,
    split_lengths,
    to_sequence_tensor,
)
from gaitforge.models.blocks3d import BasicConv3d

__all__ = ["GaitGL", "GLConv"]

logger = logging.getLogger(__name__)


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(inplace=True)


class GLConv(nn.Module):
    """Global-local 3D convolution: a whole-map branch (``global_conv3d``) and a branch run on ``2**halving``
    horizontal strips (``local_conv3d``), combined by ``lrelu(g) + lrelu(l)`` or, with ``stack_local``, by
    stacking them along the height (``lrelu(cat(g, l))``, doubling it).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        halving: The local branch works on ``2**halving`` strips.
        stack_local: Concatenate the branches along the height instead of adding them (peer: ``fm_sign``).
    """

    def __init__(self, in_channels: int, out_channels: int, halving: int, stack_local: bool = False) -> None:
        super().__init__()
        self.halving, self.stack_local = int(halving), bool(stack_local)
        self.global_conv3d = BasicConv3d(in_channels, out_channels)
        self.local_conv3d = BasicConv3d(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, c, s, h, w]`` → ``[n, c', s, h, w]`` (``[n, c', s, 2h, w]`` when stacking)."""
        global_feat = self.global_conv3d(x)
        if self.halving == 0:
            local_feat = self.local_conv3d(x)
        else:
            strip = max(1, x.shape[3] // 2**self.halving)
            local_feat = torch.cat([self.local_conv3d(part) for part in x.split(strip, dim=3)], dim=3)
        if self.stack_local:
            return F.leaky_relu(torch.cat([global_feat, local_feat], dim=3))
        return F.leaky_relu(global_feat) + F.leaky_relu(local_feat)


class GaitGL(GaitModel):
    """GaitGL (Lin et al. ICCV 2021): global-local 3D convolutions, LTA, GeM strips, part classifier.

    Two layouts, as in the peer: with 3 ``channels`` the CASIA-B network (one 3D stem convolution, single
    GLConv layers with 8 strips); with 4 the OU-MVLP / GREW network (two stem convolutions, pairs of GLConv
    layers with 2 strips).

    Outputs: ``embeddings`` ``[B, C, P]`` are the BatchNorm features (the peer's triplet and inference
    features), ``logits`` ``[B, N, P]`` the part-wise classifier on them, extras ``pre_bn_embeddings``. With
    ``bnneck=True`` (the peer's ``SeparateBNNecks`` head) ``embeddings`` are the BNNeck features used for
    inference and extras ``pre_bnneck_embeddings`` the features the triplet loss takes.

    Args:
        num_classes: Training identities ``N`` (CASIA-B: 74).
        in_channels: Input channels (1 for silhouettes).
        channels: Stage widths: ``(32, 64, 128)`` (CASIA-B) or ``(32, 64, 128, 256)`` (OU-MVLP, GREW).
        bins: GeM strip counts (peer: 64 over the stacked ``2h`` rows; use 32 for 32-row inputs).
        bnneck: Use a BNNeck head instead of BatchNorm + part-wise classifier.
        modality: Key of ``Batch.inputs`` to read.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128),
        bins: Sequence[int] = (64,),
        bnneck: bool = False,
        modality: str = "sil",
    ) -> None:
        super().__init__()
        c = [int(v) for v in channels]
        if len(c) not in (3, 4):
            raise ValueError(f"channels: expected 3 (CASIA-B layout) or 4 (OU-MVLP/GREW layout) widths, got {c}")
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        if len(c) == 3:
            self.conv3d = nn.Sequential(BasicConv3d(in_channels, c[0]), _lrelu())
        else:
            self.conv3d = nn.Sequential(BasicConv3d(in_channels, c[0]), _lrelu(), BasicConv3d(c[0], c[0]), _lrelu())
        self.LTA = nn.Sequential(BasicConv3d(c[0], c[0], (3, 1, 1), (3, 1, 1), 0), _lrelu())
        if len(c) == 3:
            self.GLConvA0 = GLConv(c[0], c[1], halving=3)
            self.MaxPool0 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
            self.GLConvA1 = GLConv(c[1], c[2], halving=3)
            self.GLConvB2 = GLConv(c[2], c[2], halving=3, stack_local=True)
        else:
            self.GLConvA0 = nn.Sequential(GLConv(c[0], c[1], 1), GLConv(c[1], c[1], 1))
            self.MaxPool0 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
            self.GLConvA1 = nn.Sequential(GLConv(c[1], c[2], 1), GLConv(c[2], c[2], 1))
            self.GLConvB2 = nn.Sequential(GLConv(c[2], c[3], 1), GLConv(c[3], c[3], 1, stack_local=True))
        self.HPP = GeMHorizontalPooling(bins)
        parts = self.HPP.parts
        self.Head0 = SeparateFCs(parts, c[-1], c[-1])
        self.bnneck = bool(bnneck)
        if self.bnneck:
            self.BNNecks = SeparateBNNecks(parts, c[-1], num_classes)
            self.opengait_outputs = {
                "inference_feat/embeddings": "embeddings",
                "training_feat/triplet/embeddings": "pre_bnneck_embeddings",
                "training_feat/softmax/logits": "logits",
            }
        else:
            self.Bn = nn.BatchNorm1d(c[-1])
            self.Head1 = SeparateFCs(parts, c[-1], num_classes)
        init_peer_parameters(self)

    def _trunk(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C, s, h, w]`` → temporally pooled ``[n, c, h, w/2]`` maps (half height, stacked twice)."""
        s = x.shape[2]
        if s < 3:  # the temporal stride of LTA needs 3 frames
            x = x.repeat(1, 1, 3 if s == 1 else 2, 1, 1)
        out = self.LTA(self.conv3d(x))  # [n, c0, s/3, h, w]
        out = self.MaxPool0(self.GLConvA0(out))  # [n, c1, s/3, h/2, w/2]
        out = self.GLConvB2(self.GLConvA1(out))  # [n, c, s/3, h, w/2]
        return out.max(dim=2).values  # [n, c, h, w/2]

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring for the outputs.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` (one call) or packed ``[1, ΣT, H, W]``
        with ``batch.seq_lens`` (the 3D trunk runs per sequence).
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)  # [n, C, s, h, w]
        if batch.seq_lens is None:
            maps = self._trunk(x)
        else:
            lengths = split_lengths(batch.seq_lens)
            if x.shape[0] != 1 or sum(lengths) != x.shape[2]:
                raise ValueError(f"packed input {list(x.shape)} does not match seq_lens {lengths}")
            maps = torch.cat([self._trunk(chunk) for chunk in torch.split(x, lengths, dim=2)], dim=0)
        gait = self.Head0(self.HPP(maps))  # [B, c, P]
        if self.bnneck:
            bn_feat, logits = self.BNNecks(gait)
            extras = {"pre_bnneck_embeddings": gait}
        else:
            bn_feat = self.Bn(gait)  # [B, c, P]
            logits = self.Head1(bn_feat)  # [B, N, P]
            extras = {"pre_bn_embeddings": gait}
        return ModelOutput(embeddings=bn_feat, logits=logits, extras=extras)
