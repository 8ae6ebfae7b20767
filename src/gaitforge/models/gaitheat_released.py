"""GaitHeat as released in FastPoseGait (BNU-IVC/FastPoseGait, snapshot 94da9c8): a three-stream ResNet9.

The released code differs from the paper's description (:mod:`gaitforge.models.gaitheat`); this is that
variant, with the same module names (``Backbone1`` … ``Backbone4``, ``Backbone{2,3,4}_fusion``, ``FCs_part``,
``BNNecks_fusion`` …):

1. **Per-sequence min–max normalisation** of the raw heatmaps (all frames and channels of a sequence).
2. **Spine alignment**: per frame a rotation that makes the spine (shoulder midpoint → hip midpoint) vertical
   and a translation that puts the neck at (24, 16) of the 64×48 grid, applied with ``affine_grid`` /
   ``grid_sample`` (border padding). The release composes two resamplings and maps pixels to the grid without
   the half-pixel offset; here the two steps are one affine in exact ``align_corners=False`` coordinates.
   Keypoints are decoded from the heatmaps unless given (the release reads the estimator's keypoints).
3. **Three streams** — two single-joint channels (``stream_channels``, channels 0 and 1 as released: nose and
   left eye) and the max over all channels — go through shared ResNet9 stages (stage 1: 3x3 stem + layer1;
   stages 2–4: layer2 … layer4, all shared by the streams); a fusion path with its own stages 2–4 adds the
   streams' element-wise max at every stage.
4. Temporal max pooling, 16-strip HPP, separate FCs and BNNecks per branch: ``part`` (max of the two joint
   streams), ``global`` (the max-over-channels stream) and ``fusion``. Triplet + CE on each; inference uses the
   fusion branch's BNNeck features.

Outputs: ``embeddings`` = fusion BNNeck features ``[B, C, P]``, ``logits`` = fusion logits; extras
``fusion_embeddings`` (the triplet input), ``part_embeddings``, ``part_logits``, ``global_embeddings``,
``global_logits``, ``bnneck_embeddings``.

**The release's exact input contract** (``mat_modality``, ``normalize=False``; what
``interop.opengait.build_model(cfg, peer="fastposegait")`` builds): FastPoseGait computes the min–max
normalisation (``Sequence_level``) and the per-frame rotation and shift matrices (``RotationMat``, see
:func:`rotation_mats`) in its data pipeline; the model reads the normalised heatmaps and the matrices
``[B, T, 2, 3, 2]`` and resamples twice, rotation then shift, in float16 as released (``affine_grid`` /
``grid_sample``, ``align_corners=False``, border padding), then casts back to float32 (the one fix the
release needs to run off CUDA autocast). This reproduces FastPoseGait's own outputs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    BasicConv2d,
    HorizontalPyramidPooling,
    PerFrame,
    SeparateBNNecks,
    SeparateFCs,
    init_peer_parameters,
    split_lengths,
    temporal_max_pool,
)
from gaitforge.models.gaitheat import decode_keypoints, heatmap_frames, spine_keypoints, warp_frames
from gaitforge.models.resnet import ResNet9

__all__ = ["GaitHeatReleased", "sequence_min_max", "rotation_mats"]

logger = logging.getLogger(__name__)


def sequence_min_max(frames: torch.Tensor, lengths: Sequence[int], eps: float = 1e-6) -> torch.Tensor:
    """``(x − min) / (max − min)`` over each sequence's frames ``[ΣT, K, h, w]`` (consecutive runs of ``lengths``)."""
    out = []
    for chunk in torch.split(frames, list(lengths), dim=0):
        lo, hi = chunk.amin(), chunk.amax()
        out.append((chunk - lo) / (hi - lo).clamp_min(eps))
    return torch.cat(out, 0)


def rotation_mats(
    keypoints: np.ndarray, size: tuple[int, int] = (64, 48), neck: tuple[float, float] = (24, 16)
) -> np.ndarray:
    """FastPoseGait's ``RotationMat``: per frame, a rotation about the spine's midpoint that makes the spine
    vertical, then a shift that puts the (rotated) neck at ``neck``, each as an ``affine_grid`` matrix.

    The neck is the shoulder midpoint (COCO 5, 6), the hip the hip midpoint (11, 12). The release keeps the
    identity, with probability 0.8, for frames leaning 5° or less; this deterministic version always
    rotates.

    Args:
        keypoints: ``[T, K, ≥2]`` in heatmap pixels (x, y).
        size: Heatmap ``(h, w)``.
        neck: Target neck position ``(x, y)`` in pixels.

    Returns:
        ``[T, 2, 3, 2]`` float32: ``[..., 0]`` the rotation, ``[..., 1]`` the shift (normalised coordinates).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1] < 13 or kp.shape[2] < 2:
        raise ValueError(f"keypoints: expected [T, 17, >=2] COCO keypoints, got shape {list(kp.shape)}")
    h, w = size
    to_grid = np.array([[2 / w, 0, -1], [0, 2 / h, -1], [0, 0, 1]])
    out = np.empty((kp.shape[0], 2, 3, 2))
    for t, frame in enumerate(kp[..., :2]):
        hip, top = (frame[11] + frame[12]) / 2, (frame[5] + frame[6]) / 2
        angle = -(90.0 - math.degrees(math.atan2(hip[1] - top[1], hip[0] - top[0])))
        a, b = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        cx, cy = (hip + top) / 2
        rot = np.array([[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy], [0, 0, 1]])  # as OpenCV's
        new_top = rot[:2] @ np.array([top[0], top[1], 1.0])
        shift = np.array([[1, 0, neck[0] - new_top[0]], [0, 1, neck[1] - new_top[1]], [0, 0, 1]])
        for i, m in enumerate((rot, shift)):
            out[t, :, :, i] = np.linalg.inv(to_grid @ m @ np.linalg.inv(to_grid))[:2]
    return out.astype(np.float32)


def released_alignment(frames: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """The release's two resamplings of ``frames [F, K, h, w]`` by ``mats [F, 2, 3, 2]`` (rotation, then shift),
    in float16 with border padding as FastPoseGait runs them; returns float32."""
    size = list(frames.shape)
    x = frames
    for i in (0, 1):
        grid = F.affine_grid(mats[..., i].float(), size, align_corners=False)
        x = F.grid_sample(x.half(), grid.half(), padding_mode="border", align_corners=False)
    return x.float()


class _Stage1(nn.Module):
    """ResNet9 stage 1 (the release's ``ResNet9_1``): 3x3 stem, BatchNorm, ReLU, ``layer1``."""

    def __init__(self, in_channels: int, channels: int, layers: int, stride: int) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(in_channels, channels, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.layer1, _ = ResNet9._make_stage(channels, channels, layers, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, 1, h, w]`` → ``[N, c, h/stride, w/stride]``."""
        return self.layer1(self.relu(self.bn1(self.conv1(x))))


class _Stage(nn.Module):
    """One later ResNet9 stage held as ``layer{index}`` (the release's ``ResNet9_2`` … ``ResNet9_4``)."""

    def __init__(self, index: int, in_channels: int, channels: int, layers: int, stride: int) -> None:
        super().__init__()
        self.name = f"layer{index}"
        stage, _ = ResNet9._make_stage(in_channels, channels, layers, stride)
        self.add_module(self.name, stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, c_in, h, w]`` → ``[N, c, h/stride, w/stride]``."""
        return getattr(self, self.name)(x)


class GaitHeatReleased(GaitModel):
    """The released GaitHeat; see the module docstring.

    Args:
        num_classes: Training identities ``N`` (CASIA-B: 74).
        in_channels: Heatmap channels ``K``.
        channels: ResNet9 stage widths (release: 64/128/256/512).
        layers: Blocks per stage (release: 1/1/1/1).
        strides: Stage strides (release: 1/2/2/1).
        embed_dim: Separate-FC output ``C`` (release: 256).
        bins: HPP strips (release: 16).
        stream_channels: The two single-joint streams (release: 0, 1).
        neck: Target neck position as fractions of the grid (release: (24, 16) of 64×48 → (0.5, 0.25)).
        align: Apply the spine alignment.
        input_pool: Average-pool the heatmaps by this factor first (2 for CPU-sized runs).
        modality: Heatmap key of ``Batch.inputs``.
        keypoint_modality: Key of keypoints ``[B, T, K, 3]`` in grid pixels; decoded from the heatmaps when
            ``None`` or absent.
        normalize: Min–max normalise each sequence in the model (``False``: the data pipeline did, as the
            peer's ``Sequence_level`` transform).
        mat_modality: Key of the release's per-frame alignment matrices ``[B, T, 2, 3, 2]``
            (:func:`rotation_mats`); when set, the release's float16 two-step alignment replaces the exact one.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: int = 17,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        embed_dim: int = 256,
        bins: Sequence[int] = (16,),
        stream_channels: Sequence[int] = (0, 1),
        neck: Sequence[float] = (0.5, 0.25),
        align: bool = True,
        input_pool: int = 1,
        modality: str = "heatmap",
        keypoint_modality: str | None = None,
        normalize: bool = True,
        mat_modality: str | None = None,
    ) -> None:
        super().__init__()
        c = [int(v) for v in channels]
        if not (len(c) == len(layers) == len(strides) == 4):
            raise ValueError(
                f"channels, layers, strides: expected 4 entries each, got {c}, {list(layers)}, {list(strides)}"
            )
        self.in_channels, self.input_pool, self.align = int(in_channels), int(input_pool), bool(align)
        self.stream_channels = tuple(int(i) for i in stream_channels)
        if len(self.stream_channels) != 2 or not all(0 <= i < self.in_channels for i in self.stream_channels):
            raise ValueError(
                f"stream_channels: expected two channels in 0..{self.in_channels - 1}, got {stream_channels}"
            )
        self.neck = (float(neck[0]), float(neck[1]))
        self.keypoint_modality, self.mat_modality, self.normalize = keypoint_modality, mat_modality, bool(normalize)
        if keypoint_modality is not None and mat_modality is not None:
            raise ValueError("keypoint_modality, mat_modality: give one (the exact alignment or the release's)")
        extra = keypoint_modality if mat_modality is None else mat_modality
        self.input_modalities = (modality,) if extra is None else (modality, extra)
        if mat_modality is not None:
            self.opengait_outputs = {
                "inference_feat/embeddings": "embeddings",
                **{f"training_feat/{b}_triplet/embeddings": f"{b}_embeddings" for b in ("part", "global", "fusion")},
                **{f"training_feat/{b}_softmax/logits": f"{b}_logits" for b in ("part", "global")},
                "training_feat/fusion_softmax/logits": "logits",
            }
        self.Backbone1 = PerFrame(_Stage1(1, c[0], int(layers[0]), int(strides[0])))
        for i in (2, 3, 4):
            args = (i, c[i - 2], c[i - 1], int(layers[i - 1]), int(strides[i - 1]))
            setattr(self, f"Backbone{i}", PerFrame(_Stage(*args)))
            setattr(self, f"Backbone{i}_fusion", PerFrame(_Stage(*args)))
        self.HPP = HorizontalPyramidPooling(bins)
        for branch in ("part", "global", "fusion"):
            setattr(self, f"FCs_{branch}", SeparateFCs(self.HPP.parts, c[3], embed_dim))
            setattr(self, f"BNNecks_{branch}", SeparateBNNecks(self.HPP.parts, embed_dim, num_classes))
        init_peer_parameters(self)

    def _align(self, frames: torch.Tensor, kp: torch.Tensor) -> torch.Tensor:
        """Rotate the spine vertical and put the neck at the target: one affine, border padding."""
        _, _, h, w = frames.shape
        neck, hip, _ = spine_keypoints(kp)
        v = hip - neck
        phi = torch.atan2(v[:, 0], v[:, 1])
        cos, sin = torch.cos(phi), torch.sin(phi)
        m = torch.zeros(frames.shape[0], 3, 3, device=frames.device)
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1], m[:, 2, 2] = cos, -sin, sin, cos, 1.0
        target = torch.tensor([self.neck[0] * w, self.neck[1] * h], device=frames.device)
        m[:, :2, 2] = target - (m[:, :2, :2] @ neck[:, :, None])[..., 0]
        return warp_frames(frames, m, padding_mode="border")

    def forward(self, batch: Batch) -> ModelOutput:
        """Reads ``batch.inputs[modality]`` ``[B, T, K, h, w]`` (or packed ``[1, ΣT, K, h, w]`` with ``seq_lens``)."""
        name = self.input_modalities[0]
        raw = batch.inputs[name]
        n, s = raw.shape[:2]
        frames = heatmap_frames(raw, self.in_channels, name)  # [n·s, K, h, w]
        if self.input_pool > 1:
            frames = F.avg_pool2d(frames, self.input_pool, ceil_mode=True)
        lengths = split_lengths(batch.seq_lens) if batch.seq_lens is not None else [s] * n
        kp = None
        if self.align and self.mat_modality is None:
            kp_name = self.keypoint_modality
            if kp_name is not None and kp_name in batch.inputs:
                kp = batch.inputs[kp_name].reshape(-1, self.in_channels, 3).float()
                kp = torch.cat([kp[..., :2] / self.input_pool, kp[..., 2:]], -1)
            else:
                kp = decode_keypoints(frames)
        if self.normalize:
            frames = sequence_min_max(frames, lengths)
        if self.mat_modality is not None:
            mats = batch.inputs[self.mat_modality]
            if mats.shape[:2] != raw.shape[:2] or tuple(mats.shape[2:]) != (2, 3, 2):
                raise ValueError(
                    f"inputs[{self.mat_modality!r}]: expected [B, T, 2, 3, 2] alignment matrices for the "
                    f"{list(raw.shape[:2])} heatmap frames, got {list(mats.shape)}"
                )
            if self.align:
                frames = released_alignment(frames, mats.reshape(-1, 2, 3, 2))
        elif kp is not None:
            frames = self._align(frames, kp)
        a, b = self.stream_channels
        streams = [frames[:, a : a + 1], frames[:, b : b + 1], frames.amax(1, keepdim=True)]  # 3 × [n·s, 1, h, w]
        x = torch.cat(streams, 0).reshape(3 * n, s, 1, *frames.shape[2:]).transpose(1, 2)  # [3n, 1, s, h, w]

        outs = self.Backbone1(x)  # [3n, c, s, h, w]
        fusion = torch.stack(outs.chunk(3, 0), -1).amax(-1)
        for i in (2, 3, 4):
            outs = getattr(self, f"Backbone{i}")(outs)
            fusion = getattr(self, f"Backbone{i}_fusion")(fusion) + torch.stack(outs.chunk(3, 0), -1).amax(-1)
        joint_1, joint_2, glob = outs.chunk(3, 0)
        branches = {"part": torch.maximum(joint_1, joint_2), "global": glob, "fusion": fusion}

        extras: dict[str, torch.Tensor] = {}
        for branch, feat in branches.items():
            pooled = temporal_max_pool(feat, batch.seq_lens)  # [B, c, h', w']
            embed_1 = getattr(self, f"FCs_{branch}")(self.HPP(pooled))  # [B, C, P]
            embed_2, logits = getattr(self, f"BNNecks_{branch}")(embed_1)  # [B, C, P], [B, N, P]
            extras[f"{branch}_embeddings"] = embed_1
            if branch == "fusion":
                return ModelOutput(embeddings=embed_2, logits=logits, extras={**extras, "bnneck_embeddings": embed_2})
            extras[f"{branch}_logits"] = logits
        raise AssertionError("unreachable: the fusion branch comes last")  # pragma: no cover
