"""GaitGraph and GaitGraph2: residual graph convolutional networks (ResGCN) on COCO-17 keypoint sequences.

Both read the plain ``pose`` modality (``[B, T, 17, 3]`` or packed ``[1, ΣT, 17, 3]`` with ``seq_lens``) and build
their multi-branch inputs themselves (:mod:`gaitforge.data.pose_transforms`); :meth:`forward_features` takes the
peer's input layouts directly. Neither has a classifier: the embedding is trained with a supervised contrastive
loss (``supcon``). Packed sequences are run one at a time (temporal convolutions never see a neighbour).

State-dict keys and shapes match the peer's (``ResGCN.head.<i>...``, ``ResGCN.backbone.<j>...``, ``ResGCN.fcn``).

References:
    Teepe et al., "GaitGraph: Graph Convolutional Network for Skeleton-Based Gait Recognition", ICIP 2021.
    Teepe et al., "Towards a Deeper Understanding of Skeleton-based Gait Recognition", CVPRW 2022 (GaitGraph2).
    Song et al., "Stronger, Faster and More Explainable: A Graph Convolutional Baseline for Skeleton-based Action
    Recognition", ACM MM 2020 (ResGCN blocks).
    Yan et al., "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition", AAAI 2018.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.data.pose_transforms import COCO_EDGES, COCO_FLIP, gaitgraph1_features, gaitgraph_features
from gaitforge.models.base import GaitModel, ModelOutput

__all__ = [
    "GaitGraph1",
    "GaitGraph2",
    "NoShortcut",
    "ResGCN",
    "coco_adjacency",
    "hop_adjacency",
    "pose_input",
    "pose_sequences",
]

logger = logging.getLogger(__name__)


def hop_adjacency(num_nodes: int, edges: Sequence[tuple[int, int]], max_hop: int) -> np.ndarray:
    """Hop-partitioned, column-normalised adjacency ``[max_hop + 1, V, V]`` (ST-GCN "distance" partitioning).

    Entry ``[d, i, j]`` is ``1 / deg(j)`` when joints ``i`` and ``j`` are ``d`` hops apart (``deg`` counts every
    joint within ``max_hop`` hops, itself included), else 0.
    """
    link = np.eye(num_nodes)
    for i, j in edges:
        link[i, j] = link[j, i] = 1
    hops = np.full((num_nodes, num_nodes), np.inf)
    for d in range(max_hop, -1, -1):
        hops[np.linalg.matrix_power(link, d) > 0] = d
    reach = (hops <= max_hop).astype(np.float64)
    norm = reach / np.where(reach.sum(0) > 0, reach.sum(0), 1.0)[None, :]
    return np.stack([np.where(hops == d, norm, 0.0) for d in range(max_hop + 1)])


def coco_adjacency(max_hop: int = 3) -> torch.Tensor:
    """:func:`hop_adjacency` of the COCO-17 skeleton as float32."""
    return torch.tensor(hop_adjacency(17, COCO_EDGES, max_hop), dtype=torch.float32)


class NoShortcut(nn.Module):
    """The absent shortcut: adds 0."""

    def forward(self, x: torch.Tensor) -> int:
        return 0


def _shortcut(in_channels: int, out_channels: int, stride: int, enabled: bool) -> nn.Module:
    """No shortcut, identity, or 1×1 convolution + BN (temporal ``stride``)."""
    if not enabled:
        return NoShortcut()
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, (stride, 1)), nn.BatchNorm2d(out_channels))


class SpatialGraphConv(nn.Module):
    """Graph convolution over joints with ``K = max_graph_distance + 1`` hop kernels. ``[n, c, t, v]``."""

    def __init__(self, in_channels: int, out_channels: int, max_graph_distance: int) -> None:
        super().__init__()
        self.k = max_graph_distance + 1
        self.gcn = nn.Conv2d(in_channels, out_channels * self.k, 1)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        n, kc, t, v = (y := self.gcn(x)).shape
        y = y.view(n, self.k, kc // self.k, t, v)
        return torch.einsum("nkctv,kvw->nctw", y, adj[: self.k]).contiguous()


class SpatialBlock(nn.Module):
    """Graph convolution + BN + ReLU with a block shortcut; bottleneck (``reduction``) when ``bottleneck``."""

    def __init__(self, in_c: int, out_c: int, residual: bool, bottleneck: bool, reduction: int) -> None:
        super().__init__()
        self.bottleneck = bottleneck
        self.residual = _shortcut(in_c, out_c, 1, residual)
        inner = out_c // reduction if bottleneck else out_c
        if bottleneck:
            self.conv_down, self.bn_down = nn.Conv2d(in_c, inner, 1), nn.BatchNorm2d(inner)
        self.conv = SpatialGraphConv(inner if bottleneck else in_c, inner, 2)
        self.bn = nn.BatchNorm2d(inner)
        if bottleneck:
            self.conv_up, self.bn_up = nn.Conv2d(inner, out_c, 1), nn.BatchNorm2d(out_c)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        res = self.residual(x)
        if self.bottleneck:
            x = F.relu(self.bn_down(self.conv_down(x)))
            x = F.relu(self.bn(self.conv(x, adj)))
            return F.relu(self.bn_up(self.conv_up(x)) + res)
        return F.relu(self.bn(self.conv(x, adj)) + res)


class TemporalBlock(nn.Module):
    """Temporal convolution (window × 1) + BN + ReLU adding a block shortcut and the module shortcut.

    The bottleneck variant strides by 2 whenever it has a strided shortcut, including the first main-stream
    module (``get_res``), as the reference does.
    """

    def __init__(
        self, channels: int, window: int, stride: int, residual: bool, bottleneck: bool, reduction: int, get_res: bool
    ) -> None:
        super().__init__()
        self.bottleneck = bottleneck
        pad = ((window - 1) // 2, 0)
        if bottleneck and get_res:
            self.residual = nn.Sequential(nn.Conv2d(channels, channels, 1, (2, 1)), nn.BatchNorm2d(channels))
            conv_stride = 2
        else:
            self.residual = _shortcut(channels, channels, stride, residual)
            conv_stride = 2 if bottleneck and residual and stride != 1 else stride
        inner = channels // reduction if bottleneck else channels
        if bottleneck:
            self.conv_down, self.bn_down = nn.Conv2d(channels, inner, 1), nn.BatchNorm2d(inner)
        self.conv = nn.Conv2d(inner, inner, (window, 1), (conv_stride, 1), pad)
        self.bn = nn.BatchNorm2d(inner)
        if bottleneck:
            self.conv_up, self.bn_up = nn.Conv2d(inner, channels, 1), nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor, res_module: torch.Tensor | int) -> torch.Tensor:
        res = self.residual(x)
        if self.bottleneck:
            x = F.relu(self.bn_down(self.conv_down(x)))
            x = F.relu(self.bn(self.conv(x)))
            return F.relu(self.bn_up(self.conv_up(x)) + res + res_module)
        return F.relu(self.bn(self.conv(x)) + res + res_module)


class ResGCNModule(nn.Module):
    """Spatial block then temporal block, with a learnable edge mask on the adjacency.

    ``block`` is ``"initial"`` (no shortcuts), ``"Basic"`` (module shortcut) or ``"Bottleneck"`` (block shortcuts).
    """

    def __init__(
        self,
        in_c: int,
        out_c: int,
        block: str,
        adj: torch.Tensor,
        stride: int = 1,
        window: int = 9,
        reduction: int = 4,
        get_res: bool = False,
    ) -> None:
        super().__init__()
        if block not in ("initial", "Basic", "Bottleneck"):
            raise ValueError(f"ResGCN block: expected 'initial', 'Basic' or 'Bottleneck', got {block!r}")
        if window % 2 != 1:
            raise ValueError(f"ResGCN temporal window: expected an odd size, got {window}")
        bottleneck = block == "Bottleneck"
        self.residual = _shortcut(in_c, out_c, stride, block == "Basic")
        self.scn = SpatialBlock(in_c, out_c, bottleneck, bottleneck, reduction)
        self.tcn = TemporalBlock(out_c, window, stride, bottleneck, bottleneck, reduction, get_res)
        self.edge = nn.Parameter(torch.ones_like(adj))

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        return self.tcn(self.scn(x, adj * self.edge), self.residual(x))


class ResGCNInputBranch(nn.Module):
    """BN on the raw features, then ResGCN modules reading the adjacency buffer ``A`` (``adj`` itself, not a copy:
    see :class:`ResGCN`)."""

    def __init__(self, channels: Sequence[int], block: str, adj: torch.Tensor, reduction: int) -> None:
        super().__init__()
        self.register_buffer("A", adj)
        self.bn = nn.BatchNorm2d(channels[0])
        self.layers = nn.ModuleList(
            ResGCNModule(channels[i], channels[i + 1], "initial" if i == 0 else block, adj, reduction=reduction)
            for i in range(len(channels) - 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(x)
        for layer in self.layers:
            x = layer(x, self.A)
        return x


class ResGCN(nn.Module):
    """Input branches (one per feature group), concatenated, main stream, global average pooling, linear.

    Input ``[n, I, C, T, V]`` → ``[n, num_class]``.

    As in the peer, one adjacency tensor is shared by every input branch's ``A`` buffer and the main stream
    (``graph``, not saved). Loading a state dict copies each ``head.<i>.A`` into that one tensor, so when they
    differ the last branch's values end up used everywhere; peer checkpoints therefore give the peer's outputs.
    (The peer's fixture notes say the main stream is unaffected; its outputs show otherwise.)
    """

    def __init__(
        self,
        input_num: int,
        input_branch: Sequence[int],
        main_stream: Sequence[int],
        num_class: int,
        reduction: int,
        block: str,
        adj: torch.Tensor,
    ) -> None:
        super().__init__()
        shared = adj.clone()
        self.register_buffer("graph", shared, persistent=False)
        self.head = nn.ModuleList(ResGCNInputBranch(input_branch, block, shared, reduction) for _ in range(input_num))
        modules = []
        for i in range(len(main_stream) - 1):
            if i == 0:
                modules.append(
                    ResGCNModule(
                        main_stream[0] * input_num, main_stream[1], block, adj, 1, reduction=reduction, get_res=True
                    )  # fmt: skip
                )
            else:
                stride = 1 if main_stream[i] == main_stream[i + 1] else 2
                modules.append(
                    ResGCNModule(main_stream[i], main_stream[i + 1], block, adj, stride, reduction=reduction)
                )
        self.backbone = nn.ModuleList(modules)
        self.fcn = nn.Linear(main_stream[-1], num_class)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([branch(x[:, i]) for i, branch in enumerate(self.head)], dim=1)  # [n, c, t, v]
        for layer in self.backbone:
            x = layer(x, self.graph)
        return self.fcn(x.mean(dim=(2, 3)))  # [n, num_class]


def pose_sequences(
    x: torch.Tensor, seq_lens: torch.Tensor | None, fn: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """Apply ``fn`` to stacked ``[B, T, ...]`` input at once, or to each packed sequence of ``[1, ΣT, ...]``
    separately (results concatenated on dim 0)."""
    if seq_lens is None:
        return fn(x)
    lens = [int(v) for v in seq_lens]
    if sum(lens) != x.shape[1]:
        raise ValueError(f"packed input has {x.shape[1]} frames but seq_lens sum to {sum(lens)}")
    return torch.cat([fn(chunk) for chunk in torch.split(x, lens, dim=1)], dim=0)


def pose_input(batch: Batch, name: str, joints: int = 17) -> torch.Tensor:
    """The pose tensor ``batch.inputs[name]`` as float: ``[B, T, joints, 3]`` or packed ``[1, ΣT, joints, 3]``.

    Raises:
        ValueError: another shape (the message names the key, the shape and what was expected).
    """
    x = batch.inputs[name]
    if x.dim() != 4 or x.shape[-2] != joints or x.shape[-1] != 3:
        raise ValueError(
            f"Batch.inputs[{name!r}] has shape {tuple(x.shape)}; expected a pose [B, T, {joints}, 3] (x, y, "
            f"confidence) or packed [1, ΣT, {joints}, 3]"
        )
    return x.float()


class GaitGraph2(GaitModel):
    """GaitGraph2 (Teepe et al. CVPRW 2022): three ResGCN input branches (joints, velocities, bones).

    Training outputs ``embeddings`` ``[B, C, 1]`` for a SupCon loss; in eval with ``tta`` the embedding is the
    concatenation over the sequence, its time-reversed copy and its left/right-swapped copy (``[B, 3C, 1]``).

    Args:
        num_classes: Ignored (no classifier; accepted so every model builds from the same config).
        embed_dim: Embedding size ``C`` (the peer's ``num_class``).
        input_branch, main_stream, reduction, block: ResGCN widths (peer: 5/64/32, 32/128/256, 8, Bottleneck).
        tta: Test-time augmentation in eval mode.
        modality: ``Batch.inputs`` key of the pose.
    """

    def __init__(
        self,
        num_classes: int | None = None,
        embed_dim: int = 128,
        input_branch: Sequence[int] = (5, 64, 32),
        main_stream: Sequence[int] = (32, 128, 256),
        reduction: int = 8,
        block: str = "Bottleneck",
        tta: bool = True,
        modality: str = "pose",
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        self.tta = bool(tta)
        self.ResGCN = ResGCN(3, input_branch, main_stream, embed_dim, reduction, block, coco_adjacency(3))

    def _views(self, feats: torch.Tensor) -> torch.Tensor:
        """``[N, T, V, 3, 5]`` → ``[3N, T, V, 3, 5]`` (as is, time-reversed, sides swapped), rebuilt from branch 0."""
        pose = feats[..., 0, :3]
        return torch.cat([feats, gaitgraph_features(pose.flip(1)), gaitgraph_features(pose[:, :, list(COCO_FLIP)])])

    def forward_features(self, feats: torch.Tensor) -> torch.Tensor:
        """Peer-layout input ``[N, T, V, 3, 5]`` → ``[N, C]`` (train) or ``[N, 3C]`` (eval with ``tta``)."""
        n = feats.shape[0]
        if not self.training and self.tta:
            feats = self._views(feats)
        out = self.ResGCN(feats.permute(0, 3, 4, 1, 2).contiguous())  # [n', I, C, T, V] → [n', C]
        if not self.training and self.tta:
            out = torch.cat(torch.split(out, [n, n, n]), dim=1)
        return out

    def forward(self, batch: Batch) -> ModelOutput:
        """``batch.inputs[modality]``: pose ``[B, T, 17, 3]`` or packed ``[1, ΣT, 17, 3]``."""
        x = pose_input(batch, self.input_modalities[0])
        out = pose_sequences(x, batch.seq_lens, lambda p: self.forward_features(gaitgraph_features(p)))
        return ModelOutput(embeddings=out.unsqueeze(-1))


class GaitGraph1(GaitModel):
    """GaitGraph (Teepe et al. ICIP 2021): one ResGCN branch on (x, y, confidence), L2-normalised embedding.

    In training each sequence is split into its two halves, giving two views ``embeddings [B, C, 2]`` for the
    SupCon loss (an odd last frame is dropped). In eval with ``tta`` the embedding is the mean of the normalised
    embeddings of the sequence and its time-reversed copy, ``[B, C, 1]``.

    Args:
        num_classes: Ignored (no classifier).
        embed_dim: Embedding size (the peer's ``num_class``).
        input_branch, main_stream, reduction, block: ResGCN widths (peer: 3/64/64/32, 32/128/128/256/256, 8,
            Bottleneck).
        tta: Test-time augmentation in eval mode.
        modality: ``Batch.inputs`` key of the pose.
    """

    def __init__(
        self,
        num_classes: int | None = None,
        embed_dim: int = 128,
        input_branch: Sequence[int] = (3, 64, 64, 32),
        main_stream: Sequence[int] = (32, 128, 128, 256, 256),
        reduction: int = 8,
        block: str = "Bottleneck",
        tta: bool = True,
        modality: str = "pose",
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        self.tta = bool(tta)
        self.ResGCN = ResGCN(1, input_branch, main_stream, embed_dim, reduction, block, coco_adjacency(3))

    def forward_features(self, feats: torch.Tensor) -> torch.Tensor:
        """Peer-layout input ``[N, 3, T, V, 1]`` → ``[N, 2, C]`` (train: two halves) or ``[N, C]`` (eval)."""
        x = feats.permute(0, 2, 3, 4, 1).contiguous()  # [N, T, V, 1, 3]
        n, t = x.shape[:2]
        if self.training:
            half = t // 2
            if half == 0:
                raise ValueError(f"GaitGraph1 training needs at least 2 frames per sequence, got {t}")
            x = torch.cat([x[:, :half], x[:, half : 2 * half]])
        elif self.tta:
            x = torch.cat([x, x.flip(1)])
        out = F.normalize(self.ResGCN(x.permute(0, 3, 4, 1, 2).contiguous()), dim=1, p=2)
        if self.training:
            return torch.stack(torch.split(out, [n, n]), dim=1)
        if self.tta:
            return torch.stack(torch.split(out, [n, n])).mean(0)
        return out

    def forward(self, batch: Batch) -> ModelOutput:
        """``batch.inputs[modality]``: pose ``[B, T, 17, 3]`` or packed ``[1, ΣT, 17, 3]``."""
        x = pose_input(batch, self.input_modalities[0])
        out = pose_sequences(x, batch.seq_lens, lambda p: self.forward_features(gaitgraph1_features(p)))
        emb = out.transpose(1, 2) if out.dim() == 3 else out.unsqueeze(-1)  # [B, C, views]
        return ModelOutput(embeddings=emb)
