"""GaitHeat as its paper describes it: pose heatmaps, pose-guided alignment, a global–local network.

Fu et al., "Cut Out the Middleman: Revisiting Pose-Based Gait Recognition", ECCV 2024. The input is the
K-channel heatmap sequence of a top-down pose estimator (``Batch.inputs["heatmap"]`` ``[B, T, K, h, w]``,
float or uint8), already normalised by the RGB-space pretreatment
(:func:`gaitforge.preprocess.heatmaps.rgb_space_heatmaps`). Per frame:

1. **Pose-guided heatmap alignment** (PGHA, :class:`PoseGuidedAlignment`), from the keypoints (decoded from the
   heatmaps, or given as a modality): (a) an affine that turns the spine (shoulder midpoint → hip midpoint)
   vertical, scales it to a standard length and puts the neck at a standard point, applied with
   ``affine_grid`` / ``grid_sample`` and blended towards identity when the torso joints are unsure;
   (b) a light keypoint-conditioned attention network giving one spatial mask per heatmap channel;
   (c) a residual connection to the unaligned input.
2. **Global–local network**: a global spatio-temporal branch over all channels and four local branches over the
   channels of the head, torso, upper limbs and lower limbs; each is temporally max-pooled and cut into HPP
   strips; the branches are fused by channel attention (per-channel softmax weights over branches, computed from
   their pooled sum) — not concatenated.
3. Separate FCs and a BNNeck give the triplet embeddings and CE logits (:class:`~gaitforge.models.base.ModelOutput`).

Every component can be switched off for the ablation (``alignment``, ``attention``, ``residual``,
``global_local``). The paper gives no layer widths; the defaults follow the ResNet9 widths of the released code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    HorizontalPyramidPooling,
    SeparateBNNecks,
    SeparateFCs,
    init_peer_parameters,
    split_lengths,
    temporal_max_pool,
)

__all__ = [
    "COCO_PARTS",
    "ChannelAttentionFusion",
    "GaitHeat",
    "HeatmapBranch",
    "PoseGuidedAlignment",
    "decode_keypoints",
    "heatmap_frames",
    "spine_keypoints",
]

logger = logging.getLogger(__name__)

#: COCO-17 channels of each body-part branch.
COCO_PARTS: dict[str, tuple[int, ...]] = {
    "head": (0, 1, 2, 3, 4),
    "torso": (5, 6, 11, 12),
    "upper_limbs": (5, 6, 7, 8, 9, 10),
    "lower_limbs": (11, 12, 13, 14, 15, 16),
}


def heatmap_frames(x: torch.Tensor, in_channels: int, name: str = "heatmap") -> torch.Tensor:
    """``[n, s, K, h, w]`` heatmaps (uint8 scaled by 1/255) as float ``[n·s, K, h, w]`` frames."""
    if x.dim() != 5 or x.shape[2] != in_channels:
        raise ValueError(f"inputs[{name!r}]: expected [B, T, {in_channels}, h, w] heatmaps, got {list(x.shape)}")
    frames = x.reshape(-1, *x.shape[2:])
    return frames.float() / 255.0 if x.dtype == torch.uint8 else frames.float()


@torch.no_grad()
def decode_keypoints(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Argmax + log-parabola sub-pixel keypoints of heatmaps ``[N, K, h, w]`` → ``[N, K, 3]`` (x, y, peak)."""
    n, k, h, w = x.shape
    flat = x.reshape(n * k, h * w)
    score, idx = flat.max(1)
    iy, ix = idx // w, idx % w
    grid = flat.reshape(n * k, h, w)
    rows = torch.arange(n * k, device=x.device)

    def refine(c: torch.Tensor, size: int, along_x: bool) -> torch.Tensor:
        lo, hi = (c - 1).clamp(0, size - 1), (c + 1).clamp(0, size - 1)
        a, b, d = (grid[rows, iy, v] if along_x else grid[rows, v, ix] for v in (lo, c, hi))
        ok = (c > 0) & (c < size - 1) & (a > eps) & (b > eps) & (d > eps)
        la, lb, ld = (v.clamp_min(eps).log() for v in (a, b, d))
        den = la - 2 * lb + ld
        ok &= den < -1e-12
        off = torch.where(ok, 0.5 * (la - ld) / torch.where(ok, den, -torch.ones_like(den)), torch.zeros_like(den))
        return c.float() + off.clamp(-0.5, 0.5)

    xy = torch.stack([refine(ix, w, True), refine(iy, h, False), score], -1)
    return xy.reshape(n, k, 3)


def spine_keypoints(kp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(neck = shoulder midpoint ``[N, 2]``, hip midpoint ``[N, 2]``, weakest torso confidence ``[N]``) of COCO-17."""
    neck = 0.5 * (kp[:, 5, :2] + kp[:, 6, :2])
    hip = 0.5 * (kp[:, 11, :2] + kp[:, 12, :2])
    conf = kp[:, [5, 6, 11, 12], 2].min(1).values
    return neck, hip, conf


def pixel_to_normalised(h: int, w: int, device: torch.device) -> torch.Tensor:
    """``[3, 3]`` map from pixel coordinates to ``grid_sample`` coordinates (``align_corners=False``)."""
    return torch.tensor([[2.0 / w, 0.0, 1.0 / w - 1.0], [0.0, 2.0 / h, 1.0 / h - 1.0], [0.0, 0.0, 1.0]], device=device)


def warp_frames(x: torch.Tensor, forward: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Resample frames ``[N, K, h, w]`` by pixel affines ``[N, 3, 3]`` (input → output); exact where identity."""
    n, _, h, w = x.shape
    norm = pixel_to_normalised(h, w, x.device)
    theta = (norm @ torch.linalg.inv(forward) @ torch.linalg.inv(norm))[:, :2]  # output → input, normalised
    eye = torch.eye(2, 3, device=x.device)
    identity = (theta - eye).abs().amax((1, 2)) < 1e-6
    if bool(identity.all()):
        return x
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    warped = F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)
    return torch.where(identity[:, None, None, None], x, warped)


class PoseGuidedAlignment(nn.Module):
    """PGHA: keypoint-driven affine alignment, keypoint-conditioned per-channel attention, residual.

    The alignment maps the neck (shoulder midpoint) to ``neck`` (fractions of width, height), turns the spine
    vertical and scales it to ``spine`` × height; it is blended towards identity as the weakest torso confidence
    falls from ``full_confidence`` to ``min_confidence``. Input that is already aligned (no grid point would move
    by 1/1000 pixel) is returned unchanged, not resampled.

    Args:
        num_joints: Heatmap channels ``K`` (COCO-17).
        align: Apply the affine alignment.
        attention: Apply the attention masks.
        residual: Add the unaligned input to the result.
        neck: Target neck position ``(x, y)`` as fractions of the grid.
        spine: Target spine length as a fraction of the grid height.
        scale: Normalise the spine length (else rotation and translation only).
        min_confidence, full_confidence: Confidence ramp of the alignment.
        attention_channels: Hidden width of the attention network.
        attention_sigma: Spread of the keypoint maps fed to it, as a fraction of the grid height.
    """

    def __init__(
        self,
        num_joints: int = 17,
        align: bool = True,
        attention: bool = True,
        residual: bool = True,
        neck: Sequence[float] = (0.5, 0.25),
        spine: float = 0.23,
        scale: bool = True,
        min_confidence: float = 0.1,
        full_confidence: float = 0.4,
        attention_channels: int = 16,
        attention_sigma: float = 0.05,
    ) -> None:
        super().__init__()
        if num_joints < 13:
            raise ValueError(f"PoseGuidedAlignment: needs COCO-17 keypoints (shoulders, hips), got {num_joints}")
        self.align, self.residual, self.scale = bool(align), bool(residual), bool(scale)
        self.neck, self.spine = (float(neck[0]), float(neck[1])), float(spine)
        self.min_confidence, self.full_confidence = float(min_confidence), float(full_confidence)
        self.attention_sigma = float(attention_sigma)
        self.attention = None
        if attention:
            self.attention = nn.Sequential(
                nn.Conv2d(2 * num_joints, attention_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(attention_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(attention_channels, num_joints, 3, padding=1),
            )

    def affine(self, kp: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Pixel affines ``[N, 3, 3]`` (input → aligned) from keypoints ``[N, K, 3]``."""
        neck, hip, conf = spine_keypoints(kp.float())
        v = hip - neck
        length = v.norm(dim=1).clamp_min(1e-3)
        weight = ((conf - self.min_confidence) / max(self.full_confidence - self.min_confidence, 1e-6)).clamp(0, 1)
        phi = torch.atan2(v[:, 0], v[:, 1]) * weight  # spine angle from the downward vertical
        s = (self.spine * h / length).clamp(0.5, 2.0) if self.scale else torch.ones_like(length)
        s = 1.0 + weight * (s - 1.0)
        target = torch.tensor([self.neck[0] * w - 0.5, self.neck[1] * h - 0.5], device=kp.device)
        shift = neck + weight[:, None] * (target - neck)
        cos, sin = torch.cos(phi) * s, torch.sin(phi) * s
        m = torch.zeros(kp.shape[0], 3, 3, device=kp.device)
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1], m[:, 2, 2] = cos, -sin, sin, cos, 1.0
        m[:, :2, 2] = shift - (m[:, :2, :2] @ neck[:, :, None])[..., 0]
        # Frames that are already aligned (no grid corner moves by a thousandth of a pixel) are left alone.
        corners = torch.tensor([[0.0, 0.0, 1.0], [w - 1.0, 0.0, 1.0], [0.0, h - 1.0, 1.0], [w - 1.0, h - 1.0, 1.0]])
        corners = corners.to(kp.device)
        moved = ((corners @ m[:, :2].transpose(1, 2)) - corners[:, :2]).abs().amax((1, 2))
        return torch.where((moved < 1e-3)[:, None, None], torch.eye(3, device=kp.device), m)

    def keypoint_maps(self, kp: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Confidence-weighted Gaussians at the keypoints ``[N, K, h, w]``."""
        ys = torch.arange(h, device=kp.device, dtype=torch.float32)[:, None]
        xs = torch.arange(w, device=kp.device, dtype=torch.float32)[None, :]
        d2 = (xs - kp[..., 0, None, None]) ** 2 + (ys - kp[..., 1, None, None]) ** 2
        sigma = self.attention_sigma * h
        return kp[..., 2, None, None].clamp(0, 1) * torch.exp(-0.5 * d2 / sigma**2)

    def forward(self, x: torch.Tensor, kp: torch.Tensor) -> torch.Tensor:
        """Frames ``[N, K, h, w]`` and keypoints ``[N, K, 3]`` (grid pixels) → aligned frames ``[N, K, h, w]``."""
        n, k, h, w = x.shape
        aligned, kp_aligned = x, kp
        if self.align:
            m = self.affine(kp, h, w)
            aligned = warp_frames(x, m)
            xy = (m[:, None, :2, :2] @ kp[..., :2, None].float())[..., 0] + m[:, None, :2, 2]
            kp_aligned = torch.cat([xy, kp[..., 2:]], -1)
        out = aligned
        if self.attention is not None:
            maps = self.keypoint_maps(kp_aligned.float(), h, w).to(x.dtype)
            out = aligned * torch.sigmoid(self.attention(torch.cat([aligned, maps], 1)))
        return out + x if self.residual else out


class _Block(nn.Module):
    """Residual block on ``[n, c, s, h, w]``: two per-frame 3x3 convolutions (grouped), and, for ``temporal``, a
    ``(3, 1, 1)`` convolution over frames added after the first (DeepGaitV2's pseudo-3D block, Fan et al. 2023)."""

    def __init__(self, c_in: int, c_out: int, stride: int, groups: int, temporal: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, groups=groups, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.temporal = None
        if temporal:
            self.temporal = nn.Sequential(
                nn.Conv3d(c_out, c_out, (3, 1, 1), padding=(1, 0, 0), groups=groups, bias=False), nn.BatchNorm3d(c_out)
            )
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, groups=groups, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, c_in, s, h, w]`` → ``[n, c_out, s, h/stride, w/stride]``."""
        n, c, s, h, w = x.shape
        f = x.transpose(1, 2).reshape(n * s, c, h, w)
        out = F.relu(self.bn1(self.conv1(f)))
        if self.temporal is not None:
            seq = out.reshape(n, s, *out.shape[1:]).transpose(1, 2)
            out = F.relu(out + self.temporal(seq).transpose(1, 2).reshape(out.shape))
        out = self.bn2(self.conv2(out))
        out = F.relu(out + (f if self.shortcut is None else self.shortcut(f)))
        return out.reshape(n, s, *out.shape[1:]).transpose(1, 2)


class HeatmapBranch(nn.Module):
    """A spatio-temporal ResNet over heatmap channels, run as ``groups`` independent networks at once (grouped
    convolutions: the local branches of all body parts in one pass).

    A per-frame 3x3 stem (and ``stem_blocks`` residual blocks) at full resolution, then one residual block per
    further width with strides 2, 2, 1; ``mode="p3d"`` gives those blocks a temporal convolution, ``"2d"`` not.

    Args:
        in_channels: Input channels (all groups).
        channels: Stage widths per group (3 or 4).
        groups: Independent networks.
        mode: ``"p3d"`` or ``"2d"``.
        stem_blocks: Residual blocks at full resolution after the stem.
    """

    def __init__(
        self, in_channels: int, channels: Sequence[int], groups: int = 1, mode: str = "p3d", stem_blocks: int = 1
    ) -> None:
        super().__init__()
        c = [int(v) * groups for v in channels]
        if len(c) not in (3, 4):
            raise ValueError(f"channels: expected 3 or 4 stage widths, got {list(channels)}")
        if mode not in ("p3d", "2d"):
            raise ValueError(f"mode: expected 'p3d' or '2d', got {mode!r}")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c[0], 3, 1, 1, groups=groups, bias=False),
            nn.BatchNorm2d(c[0]),
            nn.ReLU(inplace=True),
        )
        blocks = [_Block(c[0], c[0], 1, groups, False) for _ in range(int(stem_blocks))]
        blocks += [_Block(c[i - 1], c[i], st, groups, mode == "p3d") for i, st in zip(range(1, len(c)), (2, 2, 1))]
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = c[-1]
        self.temporal = mode == "p3d"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, C, s, h, w]`` → ``[n, c, s, h/4, w/4]``."""
        n, c, s, h, w = x.shape
        f = self.stem(x.transpose(1, 2).reshape(n * s, c, h, w))
        return self.blocks(f.reshape(n, s, *f.shape[1:]).transpose(1, 2))


class ChannelAttentionFusion(nn.Module):
    """Fuse branch features ``[B, C, P]`` by per-channel attention over branches (selective-kernel style:
    Li et al., "Selective Kernel Networks", CVPR 2019): weights = softmax over branches of an MLP on the
    part-averaged sum of the branches.

    Args:
        channels: ``C``.
        branches: Number of branches.
        reduction: Hidden width ``C / reduction``.
    """

    def __init__(self, channels: int, branches: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(4, channels // reduction)
        self.branches = branches
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels * branches)
        )

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """``branches`` tensors ``[B, C, P]`` → ``[B, C, P]``."""
        stacked = torch.stack(list(feats), 1)  # [B, nb, C, P]
        b, nb, c, _ = stacked.shape
        weights = self.fc(stacked.sum(1).mean(-1)).reshape(b, nb, c).softmax(1)  # [B, nb, C]
        return (weights[..., None] * stacked).sum(1)


class GaitHeat(GaitModel):
    """GaitHeat (Fu et al., ECCV 2024) as the paper describes it; see the module docstring.

    Outputs: ``embeddings`` ``[B, C, P]`` (FC features), ``logits`` ``[B, N, P]``, extras ``bnneck_embeddings``.

    Args:
        num_classes: Training identities ``N``.
        in_channels: Heatmap channels ``K`` (COCO-17).
        channels: Global-branch stage widths (3 or 4 stages).
        local_channels: Local-branch widths (default: half of ``channels``).
        embed_dim: Embedding channels ``C``.
        bins: HPP strip counts (``P = sum(bins)``).
        mode: Block kind of the later stages (``p3d``: with temporal convolutions, or ``2d``).
        stem_blocks: Residual blocks at full resolution in every branch.
        input_pool: Average-pool the heatmaps by this factor first (2 for CPU-sized runs).
        alignment: Use PGHA at all.
        attention, residual: PGHA's attention masks and residual connection.
        global_local: Add the local branches and the channel-attention fusion (else the global branch alone).
        parts: Branch name → heatmap channels (default :data:`COCO_PARTS`).
        reduction: Hidden-width divisor of the fusion MLP.
        align_args: Other :class:`PoseGuidedAlignment` arguments (``neck``, ``spine``, ``attention_channels``, ...).
        modality: Heatmap key of ``Batch.inputs``.
        keypoint_modality: Key of keypoints ``[B, T, K, 3]`` in grid pixels of the input heatmaps; when ``None``
            or absent from the batch they are decoded from the heatmaps.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: int = 17,
        channels: Sequence[int] = (64, 128, 256, 512),
        local_channels: Sequence[int] | None = None,
        embed_dim: int = 256,
        bins: Sequence[int] = (16,),
        mode: str = "p3d",
        stem_blocks: int = 1,
        input_pool: int = 1,
        alignment: bool = True,
        attention: bool = True,
        residual: bool = True,
        global_local: bool = True,
        parts: Mapping[str, Sequence[int]] | None = None,
        reduction: int = 4,
        align_args: Mapping[str, object] | None = None,
        modality: str = "heatmap",
        keypoint_modality: str | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.input_pool = int(in_channels), int(input_pool)
        self.keypoint_modality = keypoint_modality
        self.input_modalities = (modality,) if keypoint_modality is None else (modality, keypoint_modality)
        self.PGHA = (
            PoseGuidedAlignment(self.in_channels, True, attention, residual, **dict(align_args or {}))
            if alignment
            else None
        )
        self.global_branch = HeatmapBranch(self.in_channels, channels, 1, mode, stem_blocks)
        width = self.global_branch.out_channels
        self.parts = {k: tuple(int(i) for i in v) for k, v in (parts or COCO_PARTS).items()} if global_local else {}
        for name, idx in self.parts.items():
            if not idx or max(idx) >= self.in_channels or min(idx) < 0:
                raise ValueError(f"parts[{name!r}]: channels {list(idx)} are not within 0..{self.in_channels - 1}")
        self.local_branch = self.local_proj = self.fusion = None
        if self.parts:
            # The part branches run as one grouped network; groups are padded with a zero channel (index K) to a
            # multiple of 8 channels, where CPU grouped convolutions are fast.
            size, n_parts = -(-max(len(v) for v in self.parts.values()) // 8) * 8, len(self.parts)
            index = [i for v in self.parts.values() for i in (*v, *[self.in_channels] * (size - len(v)))]
            self.register_buffer("part_index", torch.tensor(index), persistent=False)
            local = [max(1, int(c) // 2) for c in channels] if local_channels is None else list(local_channels)
            self.local_branch = HeatmapBranch(size * n_parts, local, n_parts, mode, stem_blocks)
            self.local_proj = nn.Conv1d(self.local_branch.out_channels, n_parts * width, 1, groups=n_parts, bias=False)
            self.fusion = ChannelAttentionFusion(width, 1 + n_parts, reduction)
        self.HPP = HorizontalPyramidPooling(bins)
        self.FCs = SeparateFCs(self.HPP.parts, width, embed_dim)
        self.BNNecks = SeparateBNNecks(self.HPP.parts, embed_dim, num_classes)
        init_peer_parameters(self)

    def _keypoints(self, batch: Batch, frames: torch.Tensor) -> torch.Tensor:
        name = self.keypoint_modality
        if name is not None and name in batch.inputs:
            kp = batch.inputs[name].reshape(-1, self.in_channels, 3).float()
            return torch.cat([kp[..., :2] / self.input_pool, kp[..., 2:]], -1)
        return decode_keypoints(frames)

    def _pooled(self, branch: HeatmapBranch, x: torch.Tensor, seq_lens: torch.Tensor | None) -> torch.Tensor:
        """Branch features ``[B, c, h', w']`` max-pooled over each sequence's frames; temporal convolutions see one
        packed sequence at a time."""
        if seq_lens is None or not branch.temporal:
            return temporal_max_pool(branch(x), seq_lens)
        chunks = torch.split(x, split_lengths(seq_lens), dim=2)
        return torch.cat([temporal_max_pool(branch(chunk)) for chunk in chunks], 0)

    def forward(self, batch: Batch) -> ModelOutput:
        """Reads ``batch.inputs[modality]`` ``[B, T, K, h, w]`` (or packed ``[1, ΣT, K, h, w]`` with ``seq_lens``)."""
        name = self.input_modalities[0]
        raw = batch.inputs[name]
        frames = heatmap_frames(raw, self.in_channels, name)  # [n·s, K, h, w]
        if self.input_pool > 1:
            frames = F.avg_pool2d(frames, self.input_pool, ceil_mode=True)
        if self.PGHA is not None:
            frames = self.PGHA(frames, self._keypoints(batch, frames))
        n, s = raw.shape[:2]
        x = frames.reshape(n, s, *frames.shape[1:]).transpose(1, 2)  # [n, K, s, h, w]
        feats = [self.HPP(self._pooled(self.global_branch, x, batch.seq_lens))]  # [B, c, P]
        if self.local_branch is not None and self.local_proj is not None and self.fusion is not None:
            padded = torch.cat([x, x.new_zeros(x.shape[0], 1, *x.shape[2:])], 1)[:, self.part_index]
            local = self.HPP(self._pooled(self.local_branch, padded, batch.seq_lens))  # [B, parts·c', P]
            feats += list(self.local_proj(local).chunk(len(self.parts), 1))  # parts × [B, c, P]
            feat = self.fusion(feats)
        else:
            feat = feats[0]  # [B, c, P]
        embed_1 = self.FCs(feat)  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)  # [B, C, P], [B, N, P]
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
