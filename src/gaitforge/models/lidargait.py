"""LiDAR gait models: LidarGait on range-view depth projections and LidarGait++ on the points themselves.

* **LidarGait** (Shen et al., "LidarGait: Benchmarking 3D Gait Recognition with Point Clouds", CVPR 2023,
  SUSTech1K): the LiDAR points of each frame are projected to a range-view depth image (colour-mapped to three
  channels) and fed to GaitBase's network with a 3-channel ResNet9. The peer ships it as ``Baseline`` with
  ``in_channel: 3``; here it is :class:`LidarGait`, a :class:`~gaitforge.models.gaitbase.GaitBase` reading the
  ``depth`` modality ``[B, T, 3, H, W]``.
* **LidarGait++** (the peer's ``lidargaitv2``): PointNet++ set abstraction (Qi et al., "PointNet++: Deep
  Hierarchical Feature Learning on Point Sets in a Metric Space", NeurIPS 2017) on every frame's points
  ``[N, 4]`` (x, y, z normalised to the unit ball, plus the height above the frame's lowest point in metres):
  three levels of farthest-point sampling (512 / 256 / 128 centres) with k-nearest-neighbour groups (k = 32) and
  a shared per-point MLP, a fourth level over all remaining points, then **height-aware pyramid pooling**
  (points binned by their height over 0–2 m into 1, 2, 4, 8 and 16 bins, max + mean per bin: 31 parts), max over
  frames, part-wise FCs and a BNNeck. Module names equal the peer's (``sa1`` … ``sa4`` with ``mlp_convs`` /
  ``mlp_bns``, ``BNNecks``, ``FCs``).

Farthest-point sampling needs a first point. The peer draws it with ``torch.randint`` in training and in eval
alike (``fps_start="random"``, with the global generator: seed it for repeatable embeddings); gaitforge's default
``"train_random"`` draws it in training only and starts from point 0 in eval, so that embeddings are
deterministic. The peer pools over all frames of a batch row and ignores ``seqL``; here packed input is pooled
per sequence (the same result for one sequence per row).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import SeparateBNNecks, SeparateFCs, init_peer_parameters, temporal_max_pool
from gaitforge.models.gaitbase import GaitBase

__all__ = [
    "LidarGait",
    "LidarGaitPlusPlus",
    "SetAbstraction",
    "HeightPyramidPooling",
    "farthest_point_sample",
    "knn_indices",
    "check_points",
]

logger = logging.getLogger(__name__)

FPS_STARTS = ("train_random", "random", "first")


class LidarGait(GaitBase):
    """LidarGait: GaitBase's network on 3-channel LiDAR depth projections ``[B, T, 3, H, W]``.

    Args:
        num_classes: Training identities (SUSTech1K: 250).
        in_channels: Channels of the depth images (3: the colour-mapped range view).
        modality: Key of ``Batch.inputs`` to read.
        **kwargs: Other :class:`~gaitforge.models.gaitbase.GaitBase` arguments.
    """

    def __init__(self, num_classes: int = 250, in_channels: int = 3, modality: str = "depth", **kwargs: Any) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, modality=modality, **kwargs)


def check_points(points: torch.Tensor, channels: int, name: str = "points") -> None:
    """Reject point clouds the network cannot use: wrong layout, non-finite values or too few points.

    Args:
        points: ``[B, T, N, channels]``.
        channels: Expected last dimension.
        name: Field name for the error message (e.g. ``inputs['points']``).

    Raises:
        ValueError: Naming ``name``, the expected layout and, for NaN/inf, the first bad ``[sequence, frame]``.
    """
    if points.dim() != 4 or points.shape[-1] != channels:
        raise ValueError(f"{name}: expected [B, T, N, {channels}] points, got {list(points.shape)}")
    if points.shape[2] == 0 or points.shape[1] == 0:
        raise ValueError(f"{name}: empty point clouds ({list(points.shape)}); every frame needs points")
    bad = ~torch.isfinite(points).all(-1).all(-1)  # [B, T]
    if bool(bad.any()):
        b, t = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"{name}: non-finite coordinates (NaN or inf) in sequence {b}, frame {t}")


def farthest_point_sample(xyz: torch.Tensor, count: int, start: torch.Tensor) -> torch.Tensor:
    """Farthest-point sampling: ``count`` indices per cloud, each the point farthest from those already chosen.

    Args:
        xyz: ``[B, N, 3]`` coordinates.
        count: Points to pick (``<= N``).
        start: ``[B]`` index of the first point of each cloud.

    Returns:
        ``[B, count]`` int64 indices.
    """
    b, n, _ = xyz.shape
    rows = torch.arange(b, device=xyz.device)
    chosen = torch.zeros(b, count, dtype=torch.long, device=xyz.device)
    nearest = torch.full((b, n), 1e10, dtype=xyz.dtype, device=xyz.device)
    current = start.to(device=xyz.device, dtype=torch.long)
    for i in range(count):
        chosen[:, i] = current
        d = ((xyz - xyz[rows, current][:, None, :]) ** 2).sum(-1)  # [B, N]
        nearest = torch.minimum(nearest, d)
        current = nearest.max(-1).indices
    return chosen


def knn_indices(k: int, xyz: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Indices ``[B, S, k]`` of the ``k`` points of ``xyz [B, N, 3]`` nearest to each centre ``[B, S, 3]``.

    The neighbour *set* is that of a stable sort by squared distance (equal distances at the k-th place go to
    the lower indices), returned in ascending index order: callers max-pool over the neighbours, so their order
    does not matter. Squared distances are computed coordinate by coordinate, not through
    ``|c|² + |p|² − 2 c·p`` as the peer does: that expansion's rounding depends on the BLAS code path, and with
    exact ties at the k-th neighbour (frequent in LiDAR frames) the chosen set flipped with it; the direct form
    reproduces the peer's reference run exactly.
    """
    d = (centres[:, :, None, 0] - xyz[:, None, :, 0]) ** 2  # [B, S, N]
    for axis in (1, 2):
        d = d + (centres[:, :, None, axis] - xyz[:, None, :, axis]) ** 2
    kth = d.topk(k, dim=-1, largest=False).values[..., -1:]  # [B, S, 1]
    closer = d < kth
    tied = d == kth
    room = k - closer.sum(-1, keepdim=True)  # ties to take, lowest indices first
    chosen = closer | (tied & (tied.long().cumsum(-1) <= room))
    b, s_count = d.shape[:2]
    return chosen.nonzero()[:, 2].reshape(b, s_count, k)


def _gather(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``points [B, N, C]`` at ``idx [B, ...]`` → ``[B, ..., C]``."""
    b = points.shape[0]
    rows = torch.arange(b, device=points.device).view(b, *([1] * (idx.dim() - 1)))
    return points[rows, idx]


class SetAbstraction(nn.Module):
    """One PointNet++ set-abstraction level: sample centres, group neighbours, shared MLP (1x1 convolutions).

    Args:
        in_channels: Channels of a grouped point (relative position channels + carried features).
        mlp: Output widths of the MLP layers (each 1x1 convolution with bias, BatchNorm, ReLU).
        npoint: Centres to sample; ``None`` groups all points around one centre (the last level).
        radius: Neighbourhood scale; relative positions are divided by it when ``normalize_dp``.
        nsample: Neighbours per centre (k of the kNN).
        scale_aware: Keep the height channel among the relative positions.
        normalize_dp: Divide relative positions by ``radius``.
    """

    def __init__(
        self,
        in_channels: int,
        mlp: Sequence[int],
        npoint: int | None = None,
        radius: float | None = None,
        nsample: int | None = None,
        scale_aware: bool = True,
        normalize_dp: bool = True,
    ) -> None:
        super().__init__()
        self.npoint, self.radius, self.nsample = npoint, radius, nsample
        self.scale_aware, self.normalize_dp = bool(scale_aware), bool(normalize_dp)
        self.mlp_convs = nn.ModuleList()
        self.mlp_bns = nn.ModuleList()
        last = int(in_channels)
        for width in mlp:
            self.mlp_convs.append(nn.Conv2d(last, int(width), 1))
            self.mlp_bns.append(nn.BatchNorm2d(int(width)))
            last = int(width)
        self.out_channels = last

    def forward(
        self, xyz: torch.Tensor, feats: torch.Tensor | None, start: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions ``xyz [B, N, P]`` (P = 4 with the height) and features ``[B, N, D]`` (or ``None``) →
        (centres ``[B, S, P]``, features ``[B, C, k, S]`` before the max over neighbours; ``[B, C, N, 1]`` for
        the group-all level). ``start``: ``[B]`` first FPS index."""
        pos_channels = xyz.shape[-1] if self.scale_aware else 3
        if self.npoint is None:
            centres = xyz.new_zeros(xyz.shape[0], 1, xyz.shape[-1])
            grouped = xyz[:, None, :, :pos_channels]  # [B, 1, N, P]
            if feats is not None:
                grouped = torch.cat([grouped, feats[:, None]], -1)
        else:
            assert start is not None and self.nsample is not None and self.radius is not None
            if xyz.shape[1] < max(self.npoint, self.nsample):
                raise ValueError(
                    f"points: a frame has {xyz.shape[1]} points; this level samples {self.npoint} centres with "
                    f"{self.nsample} neighbours each"
                )
            centres = _gather(xyz, farthest_point_sample(xyz[..., :3], self.npoint, start))  # [B, S, P]
            idx = knn_indices(self.nsample, xyz[..., :3], centres[..., :3])  # [B, S, k]
            rel = _gather(xyz, idx) - centres[:, :, None, :]  # [B, S, k, P]
            if self.normalize_dp:
                rel = rel / self.radius
            grouped = rel[..., :pos_channels]
            if feats is not None:
                grouped = torch.cat([grouped, _gather(feats, idx)], -1)
        x = grouped.permute(0, 3, 2, 1)  # [B, C, k, S]
        for conv, bn in zip(self.mlp_convs, self.mlp_bns, strict=True):
            x = F.relu(bn(conv(x)))
        return centres, x


class HeightPyramidPooling(nn.Module):
    """Height-aware point pyramid pooling (the peer's ``PPPooling_HAP``): for each bin count ``M``, points are
    assigned to ``M`` equal height bins over ``[low, high]`` metres (heights outside fall in the end bins) and
    each bin is pooled by max + mean; empty bins give 0.

    Args:
        bins: Bin counts, e.g. ``(1, 2, 4, 8, 16)``: ``P = sum(bins)`` parts.
        height_range: ``(low, high)`` in metres.
    """

    def __init__(self, bins: Sequence[int] = (1, 2, 4, 8, 16), height_range: tuple[float, float] = (0.0, 2.0)):
        super().__init__()
        self.bins = tuple(int(b) for b in bins)
        if not self.bins or any(b <= 0 for b in self.bins):
            raise ValueError(f"bins: expected positive integers, got {list(bins)}")
        self.height_range = (float(height_range[0]), float(height_range[1]))

    @property
    def parts(self) -> int:
        """Number of output parts ``P``."""
        return sum(self.bins)

    def forward(self, feats: torch.Tensor, height: torch.Tensor) -> torch.Tensor:
        """Point features ``[B, C, N]`` and heights ``[B, N]`` → ``[B, C, P]``."""
        b, c, n = feats.shape
        x = feats.transpose(1, 2)  # [B, N, C]
        out = []
        for m in self.bins:
            edges = torch.linspace(*self.height_range, steps=m + 1, device=feats.device)
            idx = torch.bucketize(height.contiguous(), edges[1:-1], right=False)  # [B, N] in [0, m)
            idx_c = idx[:, :, None].expand(-1, -1, c)
            top = x.new_full((b, m, c), float("-inf")).scatter_reduce(1, idx_c, x, reduce="amax", include_self=True)
            total = x.new_zeros(b, m, c).scatter_add(1, idx_c, x)
            count = x.new_zeros(b, m, 1).scatter_add(1, idx[:, :, None], x.new_ones(b, n, 1))
            pooled = top + total / count.clamp(min=1)
            out.append(torch.where(count > 0, pooled, torch.zeros_like(pooled)))
        return torch.cat(out, 1).transpose(1, 2)  # [B, C, P]


class LidarGaitPlusPlus(GaitModel):
    """LidarGait++: PointNet++ on every frame's points, height-aware pyramid pooling, FCs, BNNeck.

    Args:
        num_classes: Training identities (SUSTech1K: 250).
        channel: Base width ``C``: the levels' MLPs are ``2C-2C-4C``, ``4C-4C-8C``, ``8C-8C-16C``,
            ``16C-16C-out_channels`` (peer: 16).
        out_channels: Channels of the last level (the peer's ``SeparateFCs.in_channels``, 256).
        embed_dim: Separate-FC output ``C`` (256).
        npoints: FPS centres of the three sampling levels (512 / 256 / 128).
        nsample: Neighbours per centre (32).
        radii: Neighbourhood scales of the three levels (0.1 / 0.2 / 0.4).
        scale_aware: Points carry a 4th height channel, used in grouping and pooling.
        normalize_dp: Divide relative positions by the level's radius.
        bins: Height-pyramid bin counts (1 / 2 / 4 / 8 / 16 → 31 parts).
        height_range: Height span of the bins in metres (0 to 2).
        fps_start: ``"train_random"`` (random first FPS point in training, point 0 in eval), ``"random"``
            (always random, the peer) or ``"first"`` (always point 0).
        modality: Key of ``Batch.inputs``: points ``[B, T, N, 4]`` (see :func:`gaitforge.data.points.normalize_points`).
    """

    def __init__(
        self,
        num_classes: int = 250,
        channel: int = 16,
        out_channels: int = 256,
        embed_dim: int = 256,
        npoints: Sequence[int] = (512, 256, 128),
        nsample: int = 32,
        radii: Sequence[float] = (0.1, 0.2, 0.4),
        scale_aware: bool = True,
        normalize_dp: bool = True,
        bins: Sequence[int] = (1, 2, 4, 8, 16),
        height_range: tuple[float, float] = (0.0, 2.0),
        fps_start: str = "train_random",
        modality: str = "points",
    ) -> None:
        super().__init__()
        if fps_start not in FPS_STARTS:
            raise ValueError(f"fps_start: expected one of {list(FPS_STARTS)}, got {fps_start!r}")
        if len(npoints) != 3 or len(radii) != 3:
            raise ValueError(f"npoints, radii: expected 3 entries each, got {list(npoints)}, {list(radii)}")
        if not scale_aware:
            raise ValueError("scale_aware: only the height-aware variant (True, the peer's PPP_HAP pooling) is built")
        self.input_modalities = (modality,)
        self.fps_start = fps_start
        self.point_channels = 4
        c = int(channel)
        widths = [(2 * c, 2 * c, 4 * c), (4 * c, 4 * c, 8 * c), (8 * c, 8 * c, 16 * c)]
        carried = 0
        for i, (mlp, npoint, radius) in enumerate(zip(widths, npoints, radii, strict=True), start=1):
            level = SetAbstraction(
                self.point_channels + carried, mlp, int(npoint), float(radius), int(nsample), scale_aware, normalize_dp
            )
            setattr(self, f"sa{i}", level)
            carried = level.out_channels
        self.sa4 = SetAbstraction(self.point_channels + carried, (16 * c, 16 * c, int(out_channels)))
        self.pool = HeightPyramidPooling(bins, height_range)
        self.BNNecks = SeparateBNNecks(self.pool.parts, embed_dim, num_classes)
        self.FCs = SeparateFCs(self.pool.parts, int(out_channels), embed_dim)
        init_peer_parameters(self)

    def _start(self, frames: int, points: int, device: torch.device) -> torch.Tensor:
        if self.fps_start == "random" or (self.fps_start == "train_random" and self.training):
            return torch.randint(0, points, (frames,), dtype=torch.long).to(device)
        return torch.zeros(frames, dtype=torch.long, device=device)

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P]``, logits ``[B, N, P]``, extras ``bnneck_embeddings``.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, N, 4]`` or packed ``[1, ΣT, N, 4]`` with
        ``batch.seq_lens``; every frame is encoded on its own, the max over frames is per sequence.
        """
        name = self.input_modalities[0]
        points = batch.inputs[name].float()
        check_points(points, self.point_channels, f"inputs[{name!r}]")
        n, s, count, _ = points.shape
        xyz = points.reshape(n * s, count, self.point_channels)  # [F, N, 4]
        feats = None
        for level in (self.sa1, self.sa2, self.sa3):
            xyz, grouped = level(xyz, feats, self._start(xyz.shape[0], xyz.shape[1], xyz.device))
            feats = grouped.max(dim=2).values.transpose(1, 2)  # [F, S, C]
        _, last = self.sa4(xyz, feats)  # [F, C, N3, 1]
        x = self.pool(last[..., 0], xyz[..., 3])  # [F, C, P]
        x = x.reshape(n, s, *x.shape[1:]).transpose(1, 2)  # [n, C, s, P]
        feat = temporal_max_pool(x, batch.seq_lens, dim=2)  # [B, C, P]
        embed_1 = self.FCs(feat)
        embed_2, logits = self.BNNecks(embed_1)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
