"""DenoisingGait: gait features from a diffusion model's denoising features, with feature-matching flows.

Jin et al., "On Denoising Walking Videos for Gait Recognition" (DenoisingGait), CVPR 2025. A Stable Diffusion
UNet, run once per frame as a denoiser conditioned on the RGB crop, gives 4-channel features at 96 × 48
(the peer stores them as ``00-DenoisingFea_96x48.pkl``); this model starts from those precomputed features
(modality ``diffusion_feature``) and the silhouettes. Two kinds of "flow" are computed by local feature
matching (a softmax over the correlation in a ``(2r+1)²`` window, then the expected offset; after Xu et al.,
"Unifying Flow, Stereo and Depth Estimation", TPAMI 2023):

* within each frame, between two learned embeddings of it (radii 1, 2, 3 → 6 channels), and
* between each frame and the next one (radius 3 → 2 channels; the last frame is paired with itself).

A two-stream GaitBase (:mod:`gaitforge.models.fusion_gaitbase`) recognises them.

**Feature extractor.** Producing ``diffusion_feature`` needs Stable Diffusion weights (several GB, under a
licence that must be accepted), which cannot be downloaded here: the extractor is not part of gaitforge. The
peer's README (``configs/denoisinggait/README.md``) describes it: Stable Diffusion v1.5, one denoising step at the
fixed timestep t = 700, RGB input 3 × 768 × 384, features 4 × 96 × 48 in the latent space (the VAE's 8× grid),
stored per sequence as ``00-DenoisingFea_96x48.pkl`` beside the silhouettes ``01-Sils_96x48.pkl``; it does not say
which tensor of the step is kept, and its extraction script is not in the peer's repository. A user with those
pickles imports them (through :mod:`gaitforge.io.safe_pickle`) as the ``diffusion_feature`` modality,
``float32 [T, 4, 96, 48]``.

Module names equal OpenGait's ``DenoisingGait`` (``Backbone``, ``AppF``, ``AF``, ``AF2``, ``AF3``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import PerFrame, conv1x1, conv3x3, init_peer_parameters
from gaitforge.models.fusion_gaitbase import FusionGaitBase

__all__ = ["local_matching_flow", "AppearanceEncoder", "SelfAppearanceEncoder", "DenoisingGait"]

logger = logging.getLogger(__name__)


def local_matching_flow(feature0: torch.Tensor, feature1: torch.Tensor, radius: int, chunk: int = 8) -> torch.Tensor:
    """Expected displacement from ``feature0`` to ``feature1`` within a ``(2r+1) × (2r+1)`` window.

    For every pixel, the correlations ``<f0(p), f1(p + d)> / √C`` over the integer offsets ``d`` that stay in
    the image are turned into a softmax, and the flow is ``Σ softmax · d``. ``feature1`` is sampled with
    ``grid_sample`` (zeros outside, ``align_corners=True``), as the peer does.

    Args:
        feature0: ``[n, C, s, h, w]``.
        feature1: ``[n, C, s, h, w]``.
        radius: Window radius ``r``.
        chunk: Frames processed at a time (memory bound; the result does not depend on it).

    Returns:
        ``[n, 2, s, h, w]`` flow ``(dx, dy)``.
    """
    n, c, s, h, w = feature1.shape
    f0 = feature0.transpose(1, 2).reshape(n * s, c, h, w)
    f1 = feature1.transpose(1, 2).reshape(n * s, c, h, w)
    dev, dtype = f1.device, torch.float32
    ys, xs = torch.meshgrid(torch.arange(h, device=dev), torch.arange(w, device=dev), indexing="ij")
    coords = torch.stack([xs, ys], dim=0).to(dtype)  # [2, h, w]
    steps = torch.linspace(-radius, radius, 2 * radius + 1, device=dev)
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    window = torch.stack([dx, dy], dim=-1).reshape(-1, 2).to(dtype)  # [K, 2], dy outer, dx inner
    sample = coords.reshape(2, -1).t()[:, None, :] + window[None]  # [h·w, K, 2]
    valid = (sample[..., 0] >= 0) & (sample[..., 0] < w) & (sample[..., 1] >= 0) & (sample[..., 1] < h)
    centre = torch.tensor([(w - 1) / 2.0, (h - 1) / 2.0], device=dev, dtype=dtype)
    grid = (sample - centre) / centre  # [h·w, K, 2] in [-1, 1]
    flows = []
    exporting = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
    pairs = [(f0, f1)] if exporting else list(zip(f0.split(chunk), f1.split(chunk), strict=True))
    for a, b in pairs:  # one pass when traced: the frame count must stay symbolic
        m = a.shape[0]
        picked = F.grid_sample(b, grid.expand(m, -1, -1, -1), padding_mode="zeros", align_corners=True)
        picked = picked.permute(0, 2, 1, 3)  # [m, h·w, C, K]
        query = a.permute(0, 2, 3, 1).reshape(m, h * w, 1, c)
        corr = torch.matmul(query, picked).reshape(m, h * w, -1) / (c**0.5)  # [m, h·w, K]
        corr = corr.masked_fill(~valid, float("-inf"))
        match = torch.matmul(corr.softmax(dim=-1).unsqueeze(-2), sample).squeeze(-2)  # [m, h·w, 2]
        flows.append(match.reshape(m, h, w, 2).permute(0, 3, 1, 2) - coords)
    flow = torch.cat(flows, dim=0)  # [n·s, 2, h, w]
    return flow.reshape(n, s, 2, h, w).transpose(1, 2)


def _encoder(widths: Sequence[int]) -> PerFrame:
    """``1×1, BN, 3×3, BN, ReLU, 3×3, BN, ReLU, 1×1, BN`` through ``widths = (in, a, a, b, out)``."""
    cin, a, b, out = widths
    return PerFrame(
        nn.Sequential(
            conv1x1(cin, a),
            nn.BatchNorm2d(a),
            conv3x3(a, a),
            nn.BatchNorm2d(a),
            nn.ReLU(inplace=True),
            conv3x3(a, b),
            nn.BatchNorm2d(b),
            nn.ReLU(inplace=True),
            conv1x1(b, out),
            nn.BatchNorm2d(out),
        )
    )


class AppearanceEncoder(nn.Module):
    """Two encoders (query for frame ``t``, key for frame ``t+1``) of the diffusion features, masked by the
    silhouettes after a sigmoid: the inputs of the inter-frame flow (peer: ``AppearanceFunc``)."""

    def __init__(self, in_channels: int = 4) -> None:
        super().__init__()
        self.q_encoder = _encoder((in_channels, 16, 8, 4))
        self.k_encoder = _encoder((in_channels, 16, 8, 4))

    def forward(
        self, feature1: torch.Tensor, feature2: torch.Tensor, mask1: torch.Tensor, mask2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features ``[n, C, s, h, w]`` and masks ``[n, 1, s, h, w]`` → two ``[n, 4, s, h, w]`` maps."""
        return torch.sigmoid(self.q_encoder(feature1)) * mask1, torch.sigmoid(self.k_encoder(feature2)) * mask2


class SelfAppearanceEncoder(nn.Module):
    """Two embeddings of the same frame (masked sigmoid, then a 3×3 conv block each): the inputs of the
    intra-frame flow (peer: ``AppFunc_Self``)."""

    def __init__(self, in_channels: int = 4) -> None:
        super().__init__()
        self.encoder0 = _encoder((in_channels, 64, 32, 16))
        self.encoder1 = _encoder((in_channels, 64, 32, 16))
        self.decoder0 = PerFrame(nn.Sequential(conv3x3(16, 16), nn.BatchNorm2d(16), nn.ReLU(inplace=True)))
        self.decoder1 = PerFrame(nn.Sequential(conv3x3(16, 16), nn.BatchNorm2d(16), nn.ReLU(inplace=True)))

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[n, C, s, h, w]`` features and ``[n, 1, s, h, w]`` mask → two ``[n, 16, s, h, w]`` maps."""
        a = self.decoder0(torch.sigmoid(self.encoder0(features)) * mask)
        b = self.decoder1(torch.sigmoid(self.encoder1(features)) * mask)
        return a, b


class DenoisingGait(GaitModel):
    """DenoisingGait as a :class:`GaitModel` reading ``diffusion_feature`` and ``sil``.

    Inputs: ``diffusion_feature`` ``[B, T, 4, h, w]`` (precomputed, see the module docstring) and ``sil``
    ``[B, T, h, w]`` (positive values count as foreground); peer: ``h × w = 96 × 48``.

    Outputs: ``embeddings`` ``[B, 256, P]`` (triplet and inference features), ``logits`` ``[B, N, P]``.

    Packed input (``[1, ΣT, ...]`` with ``seq_lens``) pairs the last frame of a sequence with the first frame of
    the next one, as the peer does (``mixes_packed_frames``); temporal pooling is per sequence.

    Args:
        num_classes: BNNeck classes (peer, CASIA-B: 250 in the shipped config).
        feature_channels: Channels of ``diffusion_feature`` (4).
        radius: Window radius of the inter-frame flow (peer ``r``: 3).
        channels, layers, strides: The GaitBase ResNet9 (peer: 64/128/256/512, 1/1/1/1, 1/2/2/1).
        embed_dim: Separate-FC width.
        bins: HPP strips (peer: 24 for 96-row inputs).
        p: Fraction of training sequences whose intra-frame flows are smoothed inside the eroded silhouette
            (peer ``p``; 0 in the shipped config, the only setting implemented here).
    """

    mixes_packed_frames = True

    def __init__(
        self,
        num_classes: int = 250,
        feature_channels: int = 4,
        radius: int = 3,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        embed_dim: int = 256,
        bins: Sequence[int] = (24,),
        p: float = 0.0,
    ) -> None:
        super().__init__()
        if p != 0:
            raise ValueError(f"p: only 0 (no flow smoothing, the shipped config) is implemented, got {p}")
        self.input_modalities = ("diffusion_feature", "sil")
        self.feature_channels, self.radius = int(feature_channels), int(radius)
        self.Backbone = FusionGaitBase(
            ("pre_attn", "pre_noise"),
            (2, 6),
            split_after=3,
            fusion_order=(1, 0),
            fusion_hidden_kernel=1,
            channels=channels,
            layers=layers,
            strides=strides,
            embed_dim=embed_dim,
            bins=bins,
            num_classes=num_classes,
        )
        self.AppF = AppearanceEncoder(feature_channels)
        self.AF = SelfAppearanceEncoder(feature_channels)
        self.AF2 = SelfAppearanceEncoder(feature_channels)
        self.AF3 = SelfAppearanceEncoder(feature_channels)
        init_peer_parameters(self)

    @staticmethod
    def from_opengait_inputs(ipts: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The peer's ``ipts = [noises [n, s, 4, h, w], sils [n, s, h, w]]`` → named inputs."""
        if len(ipts) != 2:
            raise ValueError(f"ipts: DenoisingGait reads [noises, sils], got {len(ipts)} stream(s)")
        return {"diffusion_feature": ipts[0], "sil": ipts[1]}

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring."""
        missing = [m for m in self.input_modalities if m not in batch.inputs]
        if missing:
            raise KeyError(f"DenoisingGait: batch.inputs lacks {missing}; it reads {list(self.input_modalities)}")
        feats, sil = batch.inputs["diffusion_feature"].float(), batch.inputs["sil"].float()
        if feats.dim() != 5 or feats.shape[2] != self.feature_channels:
            raise ValueError(
                f"inputs['diffusion_feature']: expected [B, T, {self.feature_channels}, h, w], got {list(feats.shape)}"
            )
        n, s, _, h, w = feats.shape
        if tuple(sil.shape) != (n, s, h, w):
            raise ValueError(
                f"inputs['sil']: expected [B, T, h, w] = {[n, s, h, w]} to match inputs['diffusion_feature'], "
                f"got {list(sil.shape)}"
            )
        mask = torch.where(sil > 0, torch.ones_like(sil), sil).unsqueeze(1)  # [n, 1, s, h, w]
        x = feats.transpose(1, 2)  # [n, C, s, h, w]
        x_next = torch.cat((x[:, :, 1:], x[:, :, -1:]), dim=2)
        mask_next = torch.cat((mask[:, :, 1:], mask[:, :, -1:]), dim=2)
        intra = [
            local_matching_flow(*enc(x, mask), radius=r) for enc, r in ((self.AF, 1), (self.AF2, 2), (self.AF3, 3))
        ]
        inter = local_matching_flow(*self.AppF(x, x_next, mask, mask_next), radius=self.radius)
        embed, logits = self.Backbone(inter, torch.cat(intra, dim=1), batch.seq_lens)
        return ModelOutput(embeddings=embed, logits=logits)
