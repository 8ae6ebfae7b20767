"""GaitEdge: RGB frames → U-Net silhouettes → trainable edge → GaitAlign → GaitGL, trained end to end.

Liang et al., "GaitEdge: Beyond Plain End-to-end Gait Recognition for Better Practicality", ECCV 2022.
A U-Net (Ronneberger et al., MICCAI 2015) segments every RGB frame; only the band between the dilated and the
eroded ground-truth silhouette (the "trainable edge") keeps the network's soft output, the eroded interior is
the ground truth, so identity gradients reach the segmentation only through the body's outline. GaitAlign
crops and size-normalises the synthesised silhouette, and GaitGL (:mod:`gaitforge.models.gaitgl`) recognises
it. A BCE term on the segmentation output keeps it a segmentation.

Module names equal OpenGait's ``GaitEdge`` (GaitGL's layers at the top level, the U-Net as ``Backbone``), so
its checkpoints load with ``strict=True``. Training follows the peer's two phases: the U-Net is pre-trained
for segmentation alone, then the whole model is trained end to end with a small learning rate on
``Backbone.*`` (an ``optimizer.param_groups`` entry) and, with ``freeze_half``, the encoder frozen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import ModelOutput
from gaitforge.models.blocks import init_peer_parameters
from gaitforge.models.gaitalign import GaitAlign
from gaitforge.models.gaitgl import GaitGL
from gaitforge.models.morphology import dilate, erode

__all__ = ["ConvBlock", "UpConv", "UNet", "GaitEdge", "trainable_edge"]

logger = logging.getLogger(__name__)


class ConvBlock(nn.Module):
    """Two 3×3 convolutions (with bias), each followed by BatchNorm and ReLU, held as ``.conv``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=True),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=True),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, C_out, H, W]``."""
        return self.conv(x)


class UpConv(nn.Module):
    """Nearest ×2 upsampling, a 3×3 convolution, BatchNorm and ReLU, held as ``.up``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=True),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` → ``[N, C_out, 2H, 2W]``."""
        return self.up(x)


class UNet(nn.Module):
    """The peer's 4-level U-Net (16/32/64/128 channels) with one output logit per pixel.

    Args:
        in_channels: Input channels (3 for RGB).
        freeze_half: Freeze the encoder (``Conv1``–``Conv4``) and run it without gradients (GaitEdge's end-to-end
            phase); the decoder stays trainable.
        widths: Encoder widths (peer: 16/32/64/128).
    """

    def __init__(
        self, in_channels: int = 3, freeze_half: bool = True, widths: Sequence[int] = (16, 32, 64, 128)
    ) -> None:
        super().__init__()
        c1, c2, c3, c4 = (int(v) for v in widths)
        self.Maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.Conv1 = ConvBlock(in_channels, c1)
        self.Conv2 = ConvBlock(c1, c2)
        self.Conv3 = ConvBlock(c2, c3)
        self.Conv4 = ConvBlock(c3, c4)
        self.freeze = bool(freeze_half)
        if self.freeze:
            for block in (self.Conv1, self.Conv2, self.Conv3, self.Conv4):
                block.requires_grad_(False)
        self.Up4 = UpConv(c4, c3)
        self.Up_conv4 = ConvBlock(2 * c3, c3)
        self.Up3 = UpConv(c3, c2)
        self.Up_conv3 = ConvBlock(2 * c2, c2)
        self.Up2 = UpConv(c2, c1)
        self.Up_conv2 = ConvBlock(2 * c1, c1)
        self.Conv_1x1 = nn.Conv2d(c1, 1, kernel_size=1, stride=1, padding=0)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x1 = self.Conv1(x)
        x2 = self.Conv2(self.Maxpool(x1))
        x3 = self.Conv3(self.Maxpool(x2))
        x4 = self.Conv4(self.Maxpool(x3))
        return x1, x2, x3, x4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` (``H`` and ``W`` divisible by 8) → logits ``[N, 1, H, W]``."""
        if x.dim() != 4 or x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(f"UNet: expected [N, C, H, W] with H and W divisible by 8, got {list(x.shape)}")
        if self.freeze:
            with torch.no_grad():
                x1, x2, x3, x4 = self._encode(x)
        else:
            x1, x2, x3, x4 = self._encode(x)
        d4 = self.Up_conv4(torch.cat((x3, self.Up4(x4)), dim=1))
        d3 = self.Up_conv3(torch.cat((x2, self.Up3(d4)), dim=1))
        d2 = self.Up_conv2(torch.cat((x1, self.Up2(d3)), dim=1))
        return self.Conv_1x1(d2)


def trainable_edge(probs: torch.Tensor, sils: torch.Tensor, kernel_size: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """GaitEdge's silhouette synthesis: the soft prediction on the edge band, the ground truth inside.

    Args:
        probs: ``[N, 1, H, W]`` predicted foreground probabilities.
        sils: ``[N, 1, H, W]`` {0,1} ground-truth silhouettes.
        kernel_size: Size of the square dilation / erosion element (peer: 3).

    Returns:
        (synthesised silhouettes ``[N, 1, H, W]``, edge band ``[N, 1, H, W]`` bool).
    """
    dilated = dilate(sils, kernel_size).detach() > 0.5
    eroded = erode(sils, kernel_size).detach() > 0.5
    band = dilated ^ eroded
    return band * probs + eroded * sils, band


class GaitEdge(GaitGL):
    """GaitEdge as a :class:`GaitModel` reading ``rgb``, ``sil`` and ``ratio``.

    Inputs: ``rgb`` ``[B, T, 3, H, W]`` normalised frames (ImageNet mean/std on 0..255 values, the peer's
    ``BaseRgbTransform``); ``sil`` ``[B, T, H, W]`` {0,1} silhouettes of the same frames; ``ratio`` ``[B, T]``
    (or ``[B, T, 1]``) width / height of each frame's original bounding box. ``H`` and ``W`` divisible by 8
    (peer: 64 × 64).

    Outputs: GaitGL's (``embeddings`` ``[B, C, 64]``, ``logits``, extras ``pre_bn_embeddings``) plus extras
    ``seg_probs`` (the U-Net's sigmoid output) and ``seg_target`` (the silhouettes), both ``[B, T, H, W]``,
    for a BCE loss (the peer's ``training_feat.bce``).

    Args:
        num_classes: Training identities of GaitGL's classifier.
        channels: GaitGL widths (peer, CASIA-B: 32/64/128).
        bins: GaitGL's GeM strips (64 for 64-row crops).
        seg_in_channels: U-Net input channels.
        seg_widths: U-Net encoder widths (peer: 16/32/64/128).
        freeze_half: Freeze the U-Net encoder (end-to-end phase).
        edge: Use the trainable edge (``False``: the raw prediction, boxed by its own rounding).
        align: Crop with GaitAlign (``False``: resize the whole frame to ``align_size``).
        kernel_size: Morphology element size of the edge.
        align_size: ``(H, W)`` of the crops GaitGL sees (peer: 64 × 44).
    """

    def __init__(
        self,
        num_classes: int = 74,
        channels: Sequence[int] = (32, 64, 128),
        bins: Sequence[int] = (64,),
        seg_in_channels: int = 3,
        seg_widths: Sequence[int] = (16, 32, 64, 128),
        freeze_half: bool = True,
        edge: bool = True,
        align: bool = True,
        kernel_size: int = 3,
        align_size: Sequence[int] = (64, 44),
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=1, channels=channels, bins=bins, modality="rgb")
        self.input_modalities = ("rgb", "sil", "ratio")
        self.Backbone = UNet(seg_in_channels, freeze_half, seg_widths)
        init_peer_parameters(self.Backbone)
        self.seg_in_channels = int(seg_in_channels)
        self.edge, self.align, self.kernel_size = bool(edge), bool(align), int(kernel_size)
        self.align_size = (int(align_size[0]), int(align_size[1]))
        self.gait_align = GaitAlign(*self.align_size)

    @staticmethod
    def from_opengait_inputs(ipts: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The peer's ``ipts = [ratios [n, s], rgbs [n, s, 3, H, W], sils [n, s, H, W]]`` → named inputs."""
        if len(ipts) != 3:
            raise ValueError(f"ipts: GaitEdge reads [ratios, rgbs, sils], got {len(ipts)} stream(s)")
        return {"ratio": ipts[0], "rgb": ipts[1], "sil": ipts[2]}

    def _inputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        missing = [m for m in self.input_modalities if m not in batch.inputs]
        if missing:
            raise KeyError(f"GaitEdge: batch.inputs lacks {missing}; it reads {list(self.input_modalities)}")
        rgb, sil, ratio = (batch.inputs[m] for m in self.input_modalities)
        if rgb.dim() != 5 or rgb.shape[2] != self.seg_in_channels:
            raise ValueError(
                f"inputs['rgb']: expected [B, T, {self.seg_in_channels}, H, W] normalised frames, got {list(rgb.shape)}"
            )
        n, s, _, h, w = rgb.shape
        if tuple(sil.shape) != (n, s, h, w):
            raise ValueError(
                f"inputs['sil']: expected [B, T, H, W] = {[n, s, h, w]} to match inputs['rgb'] {list(rgb.shape)}, "
                f"got {list(sil.shape)}"
            )
        if tuple(ratio.shape) not in ((n, s), (n, s, 1)):
            raise ValueError(f"inputs['ratio']: expected [B, T] = {[n, s]} (or [B, T, 1]), got {list(ratio.shape)}")
        return rgb.float(), sil.float(), ratio.float().reshape(n, s)

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring. Packed input (``[1, ΣT, ...]`` with ``seq_lens``) runs GaitGL per sequence."""
        rgb, sil, ratio = self._inputs(batch)
        n, s, c, h, w = rgb.shape
        sils = sil.reshape(n * s, 1, h, w)
        probs = torch.sigmoid(self.Backbone(rgb.reshape(n * s, c, h, w)))  # [n·s, 1, h, w]
        if self.edge:
            soft, _ = trainable_edge(probs, sils, self.kernel_size)
            box_mask = sils
        else:
            soft, box_mask = probs, torch.round(probs)
        if self.align:
            crops = self.gait_align(soft, box_mask, ratio.reshape(-1))
        else:
            crops = F.interpolate(soft, self.align_size, mode="bilinear", align_corners=False, antialias=True)
        crops = crops.reshape(n, s, *crops.shape[-2:])  # [n, s, H', W']
        out = GaitGL.forward(self, replace(batch, inputs={self.input_modalities[0]: crops}))
        out.extras["seg_probs"] = probs.reshape(n, s, h, w)
        out.extras["seg_target"] = sil
        return out
