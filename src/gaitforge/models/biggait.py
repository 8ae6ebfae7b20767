"""BigGait: gait features from a large vision model (DINOv2) through mask, appearance and denoising branches.

Ye et al., "BigGait: Learning Gait Representation You Want by Large Vision Models", CVPR 2024. A frozen DINOv2
(:mod:`gaitforge.models.dinov2`) embeds every RGB frame; three small "information distillation" branches map
its patch features to (1) a 2-way foreground mask, (2) 16 appearance channels and (3) 16 softmax-normalised
"denoised" part channels on the foreground only; a two-stream GaitBase (:mod:`gaitforge.models.fusion_gaitbase`)
recognises the fused maps.

The foreground is a hard decision: the mask branch's probability is rounded, a frame whose top and bottom five
rows are mostly "foreground" takes the other channel, and the mask is closed (3 × 3 dilation, 5 × 5 erosion);
the denoising and appearance branches run only where it is non-zero. Row selection is kept (not a
multiplication) so that BatchNorm statistics in training see the same rows as the peer's.

Module names equal OpenGait's ``BigGait__Dinov2_Gaitbase`` (``Denoising_Branch``, ``Appearance_Branch``,
``Mask_Branch``, ``gait_net``, ``backbone``); the DINOv2 weights come from a released checkpoint the user
brings (``pretrained_dinov2``, read with ``torch.load(weights_only=True)``), nothing is downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import init_peer_parameters
from gaitforge.models.dinov2 import DINOV2_SIZES, DinoVisionTransformer, load_dinov2_checkpoint
from gaitforge.models.fusion_gaitbase import FusionGaitBase
from gaitforge.models.morphology import dilate, erode

__all__ = ["InfoDistillation", "padding_resize", "crop_columns", "BigGait"]

logger = logging.getLogger(__name__)


class _BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d``; in an eval-mode ONNX export it is written out as ``(x − mean) / √(var + eps)`` (the
    exporter cannot infer the channel count of the branch rows, whose number depends on the data)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C]`` → ``[N, C]``."""
        if torch.onnx.is_in_onnx_export() and not self.training and self.running_mean is not None:
            y = (x - self.running_mean) / torch.sqrt(self.running_var + self.eps)
            return y * self.weight + self.bias if self.affine else y
        return super().forward(x)


class InfoDistillation(nn.Module):
    """A BigGait branch: dropout, BatchNorm (no affine), a linear (or two-layer GELU) map to ``target_dim``, then
    a softmax over channels or a sigmoid of a BatchNorm; optionally a reconstruction head (``up_sampling``).

    Args:
        source_dim: Input width.
        target_dim: Output channels.
        p: Dropout probability.
        softmax: Softmax output (else sigmoid of ``bn_t``).
        relu: Two-layer map ``Linear → BN → GELU → Linear`` through ``source_dim / 2`` (else one Linear).
        up: Add the reconstruction head; its MSE to the input is returned in training.
    """

    def __init__(self, source_dim: int, target_dim: int, p: float, softmax: bool, relu: bool, up: bool = True) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=p)
        self.bn_s = _BatchNorm1d(source_dim, affine=False)
        self.bn_t = _BatchNorm1d(target_dim, affine=False)
        half = source_dim // 2
        if relu:
            self.down_sampling: nn.Module = nn.Sequential(
                nn.Linear(source_dim, half), _BatchNorm1d(half, affine=False), nn.GELU(), nn.Linear(half, target_dim)
            )
            if up:
                self.up_sampling: nn.Module = nn.Sequential(
                    nn.Linear(target_dim, half),
                    _BatchNorm1d(half, affine=False),
                    nn.GELU(),
                    nn.Linear(half, source_dim),
                )
        else:
            self.down_sampling = nn.Linear(source_dim, target_dim)
            if up:
                self.up_sampling = nn.Linear(target_dim, source_dim)
        self.softmax, self.up = bool(softmax), bool(up)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``[N, source_dim]`` → (``[N, target_dim]``, reconstruction MSE or ``None``)."""
        d = self.down_sampling(self.bn_s(self.dropout(x)))
        if self.softmax:
            d = F.softmax(d, dim=1)
        mse = F.mse_loss(self.up_sampling(d), x) if self.up and self.training else None
        return (d if self.softmax else torch.sigmoid(self.bn_t(d))), mse


def padding_resize(x: torch.Tensor, ratios: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize frames to the peer's padded ``height × width`` layout from each frame's width / height ratio.

    Each frame is resized bilinearly to ``height × int(height · ratio)``; narrower results are centred with zero
    bands, wider ones centre-cropped.

    Args:
        x: ``[N, C, h, w]`` frames.
        ratios: ``N`` width / height ratios (any shape with ``N`` elements).
        height: Output height.
        width: Output width.

    Returns:
        ``[N, C, height, width]``.
    """
    ratios = ratios.reshape(-1)
    need = (height * ratios).int()
    if int(need.min()) < 1:
        raise ValueError(f"padding_resize: a width / height ratio gives an empty frame: {ratios.tolist()}")
    out = []
    for i, w_i in enumerate(need.tolist()):
        frame = F.interpolate(x[i : i + 1], (height, w_i), mode="bilinear", align_corners=False)
        if w_i < width:
            left = (width - w_i) // 2
            frame = F.pad(frame, (left, width - w_i - left))
        else:
            left = abs((width - w_i) // 2)
            frame = frame[..., left : left + width]
        out.append(frame)
    return torch.cat(out, dim=0)


def crop_columns(ratios: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Where :func:`padding_resize` puts image content in a ``height × width`` frame: ``[N·height·width]`` bool.

    Args:
        ratios: ``N`` width / height ratios.
        height: Frame height.
        width: Frame width.
    """
    need = (height * ratios.reshape(-1)).int()  # [N]
    left = torch.div(width - need, 2, rounding_mode="floor")
    col = torch.arange(width, device=ratios.device)
    inside = (col >= left[:, None]) & (col < (left + need)[:, None]) | (need[:, None] >= width)  # [N, width]
    return inside[:, None, :].expand(-1, height, -1).reshape(-1)


def _branch(
    branch: InfoDistillation, rows: torch.Tensor, keep: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``branch`` on the rows where ``keep`` ``[R]`` is true, zeros elsewhere: ``[R, C]``.

    Only the kept rows go through (in training BatchNorm's batch statistics are over them, as the peer's). When the
    model is traced for export every row goes through and the others are zeroed: eval BatchNorm works per row, so
    the values are the same, and the graph has no data-dependent shapes.
    """
    if branch.training or not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
        values, aux = branch(rows[keep])
        out = values.new_zeros(keep.shape[0], values.shape[1])
        out[keep] = values
        return out, aux
    values, aux = branch(rows)
    return torch.where(keep[:, None], values, torch.zeros((), dtype=values.dtype, device=values.device)), aux


class BigGait(GaitModel):
    """BigGait (``BigGait__Dinov2_Gaitbase``) as a :class:`GaitModel` reading ``rgb`` and ``ratio``.

    Inputs: ``rgb`` ``[B, T, 3, H, W]`` frames normalised with the ImageNet mean/std (the peer's
    ``BaseRgbTransform``); with ``H = 2W`` they are taken as already pad-resized (the peer's RGB pretreatment),
    otherwise they are pad-resized to ``input_size`` from ``ratio`` ``[B, T]`` (each frame's crop width / height),
    which also decides the foreground's padding columns.

    Outputs: ``embeddings`` ``[B, 256, P]`` (the peer's triplet and inference features), ``logits`` ``[B, N, P]``;
    in training also the peer's auxiliary losses as extras (``[B]``, the weighted scalar repeated):
    ``shape_connect``, ``shape_mse``, ``part_connect``, ``part_diversity``, and their sum ``aux_loss``.

    Args:
        num_classes: BNNeck classes.
        dinov2: Size of the DINOv2 backbone (``small`` as the peer) or a dict of
            :class:`~gaitforge.models.dinov2.DinoVisionTransformer` arguments (a small ViT for CPU runs).
        pretrained_dinov2: A released DINOv2 checkpoint to load (``None``: leave the backbone as initialised).
        freeze_backbone: Keep the backbone frozen (in eval mode, no gradients), as the peer does.
        image_size: DINOv2 input width; frames go in at ``2·image_size × image_size`` (peer: 224).
        sils_size: Branch map width; maps are ``2·sils_size × sils_size`` (peer: 32).
        mask_dim, app_dim, denoising_dim: Branch output channels (peer: 2, 16, 16).
        mask_dropout: Dropout before the mask branch (peer: 0.5).
        fusion_squeeze: Squeeze ratio of the stream fusion (peer: 16).
        channels, layers, strides: The GaitBase ResNet9 (peer: 64/128/256/512, 1/1/1/1, 1/2/2/1).
        embed_dim: Separate-FC width (peer: 256).
        bins: HPP strips (peer: 16).
        input_size: ``(H, W)`` of the pad-resize for frames that are not ``2W × W`` (peer: 256 × 128).
    """

    mixes_packed_frames = False
    #: Outputs that exist in training mode only (the peer's auxiliary losses).
    training_outputs = ("shape_connect", "shape_mse", "part_connect", "part_diversity", "aux_loss")

    def __init__(
        self,
        num_classes: int = 100,
        dinov2: str | dict = "small",
        pretrained_dinov2: str | Path | None = None,
        freeze_backbone: bool = True,
        image_size: int = 224,
        sils_size: int = 32,
        mask_dim: int = 2,
        app_dim: int = 16,
        denoising_dim: int = 16,
        mask_dropout: float = 0.5,
        fusion_squeeze: int = 16,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        embed_dim: int = 256,
        bins: Sequence[int] = (16,),
        input_size: Sequence[int] = (256, 128),
    ) -> None:
        super().__init__()
        self.input_modalities = ("rgb", "ratio")
        if isinstance(dinov2, str):
            if dinov2 not in DINOV2_SIZES:
                raise ValueError(f"dinov2: expected one of {sorted(DINOV2_SIZES)} or a dict, got {dinov2!r}")
            spec = DINOV2_SIZES[dinov2]
            vit_kwargs: dict = dict(embed_dim=spec.embed_dim, depth=spec.depth, num_heads=spec.num_heads, ffn=spec.ffn)
        else:
            vit_kwargs = dict(dinov2)
        self.dinov2_size = dinov2 if isinstance(dinov2, str) else "custom"
        width = int(vit_kwargs.get("embed_dim", 384))
        self.image_size, self.sils_size = int(image_size), int(sils_size)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.f4_dim, self.fc_dim = width, 4 * width
        self.mask_dim, self.app_dim, self.denoising_dim = int(mask_dim), int(app_dim), int(denoising_dim)
        self.Denoising_Branch = InfoDistillation(self.fc_dim, denoising_dim, 0.0, True, True, False)
        self.Appearance_Branch = InfoDistillation(self.fc_dim, app_dim, 0.0, False, False, False)
        self.Mask_Branch = InfoDistillation(width, mask_dim, mask_dropout, True, False, True)
        self.gait_net = FusionGaitBase(
            ("pre_part", "pre_rgb"),
            (denoising_dim, app_dim),
            split_after=1,
            fusion_hidden_kernel=3,
            fusion_squeeze=fusion_squeeze,
            channels=channels,
            layers=layers,
            strides=strides,
            embed_dim=embed_dim,
            bins=bins,
            num_classes=num_classes,
        )
        init_peer_parameters(self)
        self.backbone = DinoVisionTransformer(**vit_kwargs)
        if pretrained_dinov2 is not None:
            load_dinov2_checkpoint(pretrained_dinov2, self.dinov2_size, model=self.backbone)
        self.freeze_backbone = bool(freeze_backbone)
        if self.freeze_backbone:
            self.backbone.requires_grad_(False)

    def train(self, mode: bool = True) -> BigGait:
        """As ``nn.Module.train``; a frozen backbone stays in eval mode."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    @staticmethod
    def from_opengait_inputs(ipts: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The peer's ``ipts = [rgbs [n, s, 3, H, W], ratios [n, s]]`` → named inputs."""
        if len(ipts) != 2:
            raise ValueError(f"ipts: BigGait reads [rgbs, ratios], got {len(ipts)} stream(s)")
        return {"rgb": ipts[0], "ratio": ipts[1]}

    def _features(self, frames: torch.Tensor, ratios: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """DINOv2 patch features at branch resolution: last ``[N·h·w, D]`` and mid-4 ``[N·h·w, 4D]``."""
        h, w = frames.shape[-2:]
        if h != 2 * w:
            if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
                raise ValueError(
                    f"BigGait export: frames must be pad-resized to 2:1 (the peer's RGB pretreatment), got {h}x{w}; "
                    "the per-frame pad-resize depends on each frame's ratio and cannot be traced"
                )
            frames = padding_resize(frames, ratios, *self.input_size)
        frames = F.interpolate(frames, (2 * self.image_size, self.image_size), mode="bilinear", align_corners=False)
        feats = self.backbone.forward_features(frames)
        hp, wp = 2 * self.image_size // self.backbone.patch_size, self.image_size // self.backbone.patch_size
        size = (2 * self.sils_size, self.sils_size)
        out = []
        for key, width in (("x_norm_patchtokens", self.f4_dim), ("x_norm_patchtokens_mid4", self.fc_dim)):
            grid = feats[key].reshape(-1, hp, wp, width).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size, mode="bilinear", align_corners=False)  # [N, D, 2S, S]
            out.append(grid.permute(0, 2, 3, 1).reshape(-1, width))  # static widths: exportable BatchNorm
        return out[0], out[1]

    def _body(self, mask: torch.Tensor) -> torch.Tensor:
        """The peer's ``get_body``: ``[N, 2S, S, 2]`` probabilities → the foreground channel ``[N, 2S, S]``."""
        first = mask[..., 0]
        hard = torch.round(first) - first.detach() + first
        edge = hard[:, :5, :].sum(dim=(1, 2)) + hard[:, -5:, :].sum(dim=(1, 2))
        swap = edge > mask.shape[2] * 5
        return torch.where(swap[:, None, None], mask[..., 1], first)

    @staticmethod
    def _close(sils: torch.Tensor) -> torch.Tensor:
        """The peer's ``get_edge``: round, dilate 3×3, erode 5×5; interior 1, the band keeps ``sils``."""
        dilated = dilate(torch.round(sils), 3).detach()
        eroded = erode(dilated, 5).detach()
        band = (dilated > 0.5) ^ (eroded > 0.5)
        return band * sils + (eroded > 0.5).to(sils.dtype)

    @staticmethod
    def _connectivity(maps: torch.Tensor) -> torch.Tensor:
        """Mean absolute Sobel gradient of ``[N, C, H, W]`` maps (summed over channels, the peer's loss)."""
        c = maps.shape[1]
        kx = maps.new_tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
        gx = F.conv2d(maps, kx[None, None].repeat(1, c, 1, 1), padding=1)
        gy = F.conv2d(maps, kx.t()[None, None].repeat(1, c, 1, 1), padding=1)
        return (gx.abs().sum() + gy.abs().sum()) / maps.numel()

    @staticmethod
    def _diversity(parts: torch.Tensor) -> torch.Tensor:
        """Maximum minus actual entropy of each frame's channel mass ``[N, h·w, C]`` (the peer's loss)."""
        c = parts.shape[-1]
        p = parts.sum(dim=1) / (parts.sum(dim=(1, 2)) + 1e-6).unsqueeze(-1)
        entropy = -(p * torch.log2(p + 1e-6)).sum(dim=1)
        return (torch.log2(torch.tensor(float(c))) - entropy).mean()

    def forward(self, batch: Batch) -> ModelOutput:
        """See the class docstring. Packed input (``[1, ΣT, ...]`` with ``seq_lens``) pools per sequence."""
        missing = [m for m in self.input_modalities if m not in batch.inputs]
        if missing:
            raise KeyError(f"BigGait: batch.inputs lacks {missing}; it reads {list(self.input_modalities)}")
        rgb, ratio = batch.inputs["rgb"].float(), batch.inputs["ratio"].float()
        if rgb.dim() != 5 or rgb.shape[2] != 3:
            raise ValueError(f"inputs['rgb']: expected [B, T, 3, H, W] normalised frames, got {list(rgb.shape)}")
        n, s = rgb.shape[:2]
        if tuple(ratio.shape) not in ((n, s), (n, s, 1)):
            raise ValueError(f"inputs['ratio']: expected [B, T] = {[n, s]} (or [B, T, 1]), got {list(ratio.shape)}")
        ratio = ratio.reshape(n, s)
        frames = rgb.reshape(n * s, *rgb.shape[2:])
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_backbone):
            last1, last4 = self._features(frames, ratio)
        size = (2 * self.sils_size, self.sils_size)
        ns, hw = n * s, size[0] * size[1]

        # foreground: mask branch on the crop's columns, hard decision, closing
        inside = crop_columns(ratio, *size)  # the peer: padding_resize of a ones mask, != 0
        fore, shape_mse = _branch(self.Mask_Branch, last1, inside)  # [ns·hw, mask_dim]
        extras: dict[str, torch.Tensor] = {}
        if self.training:
            extras["shape_connect"] = 0.02 * self._connectivity(fore.reshape(ns, *size, -1).permute(0, 3, 1, 2))
            extras["shape_mse"] = shape_mse if shape_mse is not None else fore.new_zeros(())
        body = self._body(fore.detach().reshape(ns, *size, self.mask_dim))
        body = self._close(body.reshape(ns, 1, *size)).reshape(-1)
        keep = body != 0

        # denoising (softmax parts) and appearance on the foreground
        den, _ = _branch(self.Denoising_Branch, last4, keep)  # [ns·hw, denoising_dim]
        app, _ = _branch(self.Appearance_Branch, last4, keep)
        if self.training:
            parts = den.reshape(ns, hw, -1)
            extras["part_connect"] = 0.01 * self._connectivity(parts[..., :-1].permute(0, 2, 1).reshape(ns, -1, *size))
            extras["part_diversity"] = 5.0 * self._diversity(parts)
            den, app = self._black_augment(den.reshape(n, s, -1), app.reshape(n, s, -1))
        den = den.reshape(n, s, *size, -1).permute(0, 4, 1, 2, 3)  # [n, C, s, 2S, S]
        app = app.reshape(n, s, *size, -1).permute(0, 4, 1, 2, 3)
        embed, logits = self.gait_net(den.contiguous(), app.contiguous(), batch.seq_lens)
        if self.training:
            b = embed.shape[0]
            extras = {k: v.reshape(()).expand(b) for k, v in extras.items()}
            extras["aux_loss"] = sum(extras.values())  # type: ignore[assignment]
        return ModelOutput(embeddings=embed, logits=logits, extras=extras)

    def _black_augment(self, den: torch.Tensor, app: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The peer's "black" augmentation: for round(20 %) of the sequences one of the two streams is zeroed."""
        n = den.shape[0]
        count = int(round(n * 0.2))
        if count == 0:
            return den, app
        chosen = torch.randperm(n)[:count]
        which = torch.randint(0, 2, (count,))
        den_keep = torch.ones(n, 1, 1, dtype=den.dtype, device=den.device)
        app_keep = torch.ones_like(den_keep)
        den_keep[chosen[which == 0]] = 0
        app_keep[chosen[which == 1]] = 0
        return den * den_keep, app * app_keep
