"""MSGG: multi-scale gait graph, three spatial-temporal GCN streams over 12 body joints at three semantic scales.

The 12 body joints (no head; :data:`MSGG_JOINTS` picks them from COCO-17) form the fine graph; averaging joint
``i`` with joint ``i + 6`` gives 6 limb nodes, and again 3 body-part nodes. Each scale runs its own ST-GCN stack
(spatial graph convolution with the "gait temporal" partition — root, negative and positive neighbours — then a
9-frame temporal convolution); after every block the finer stream, pooled, is added to the coarser one. The
body-part stream, pooled over time and nodes, gives the embedding (FC → BNNeck → classifier); the joint and limb
streams give extra embeddings for their own triplet losses.

Reads the plain ``pose`` modality (``[B, T, 17, 3]`` or packed with ``seq_lens``, one sequence at a time);
:meth:`MSGG.forward_features` takes the peer's ``[N, T, 12, 3]``. State-dict keys and shapes match the peer's.

References:
    Peng et al., "Learning Rich Features for Gait Recognition by Integrating Skeletons and Silhouettes",
    Multimedia Tools and Applications 2023 (arXiv 2110.13408).
    Yan et al., "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition", AAAI 2018.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.gaitgraph import NoShortcut, pose_input, pose_sequences

__all__ = ["MSGG", "MSGG_JOINTS", "gait_temporal_adjacency"]

#: COCO-17 indices of the 12 body joints, in the graph's order: right shoulder, right elbow, right knee, right hip,
#: left elbow, left knee, left shoulder, right wrist, right ankle, left hip, left wrist, left ankle.
MSGG_JOINTS: tuple[int, ...] = (6, 8, 14, 12, 7, 13, 5, 10, 16, 11, 9, 15)

_EDGES = {
    0: ((7, 1), (1, 0), (10, 4), (4, 6), (8, 2), (2, 3), (11, 5), (5, 9), (9, 3), (3, 0), (9, 6), (6, 0)),
    1: ((1, 0), (4, 0), (0, 3), (2, 3), (5, 3)),
    2: ((1, 0), (2, 0)),
}
_POSITIVE = {0: {1, 2, 4, 5, 7, 8, 10, 11}, 1: {1, 2, 4, 5}, 2: {1, 2}}


def gait_temporal_adjacency(level: int) -> np.ndarray:
    """``[3, V, V]`` adjacency of semantic ``level`` (0: 12 joints, 1: 6 limbs, 2: 3 parts): self loops, then the
    1-hop neighbours split into "negative" and "positive" nodes; entries are divided by the column degree."""
    v = 12 >> level
    link = np.eye(v)
    for i, j in _EDGES[level]:
        link[i, j] = link[j, i] = 1
    norm = link / link.sum(0, keepdims=True)
    neighbour = norm * (1 - np.eye(v))
    positive = np.zeros((v, 1))
    positive[list(_POSITIVE[level])] = 1
    return np.stack([norm * np.eye(v), neighbour * (1 - positive), neighbour * positive])


class SCN(nn.Module):
    """Spatial graph convolution: a 1×1 convolution per partition, aggregated over the joints by ``A``."""

    def __init__(self, in_channels: int, out_channels: int, partitions: int) -> None:
        super().__init__()
        self.k = partitions
        self.conv = nn.Conv2d(in_channels, out_channels * partitions, 1)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        n, kc, t, v = (y := self.conv(x)).shape
        return torch.einsum("nkctv,kvw->nctw", y.view(n, self.k, kc // self.k, t, v), adj).contiguous()


class STGCNBlock(nn.Module):
    """``relu(TCN(SCN(x)) + shortcut(x))``; TCN = BN, ReLU, temporal convolution, BN."""

    def __init__(self, in_channels: int, out_channels: int, window: int, partitions: int, residual: bool) -> None:
        super().__init__()
        self.gcn = SCN(in_channels, out_channels, partitions)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, (window, 1), 1, ((window - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels),
        )
        if not residual:
            self.residual: nn.Module = NoShortcut()
        elif in_channels == out_channels:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        return F.relu(self.tcn(self.gcn(x, adj)) + self.residual(x))


def _halve(x: torch.Tensor) -> torch.Tensor:
    """Semantic pooling: node ``i`` averaged with node ``i + V/2``. ``[..., V]`` → ``[..., V/2]``."""
    a, b = torch.split(x, x.shape[-1] // 2, dim=-1)
    return (a + b) / 2


class MSGG(GaitModel):
    """MSGG (Peng et al.) on COCO-17 poses.

    Outputs: ``embeddings`` ``[B, C, 1]`` (body-part FC features), ``logits`` ``[B, N, 1]`` (after the BNNeck),
    extras ``joint_embeddings`` and ``limb_embeddings`` ``[B, c, 1]`` (pooled finer streams).

    Args:
        num_classes: Training identities.
        in_channels: Stream widths, starting with the 3 input channels (peer: 3/16/32/64/128).
        embed_dim: Embedding size (peer: 128).
        temporal_kernel_size: Temporal window of the TCNs.
        modality: ``Batch.inputs`` key of the pose.
    """

    def __init__(
        self,
        num_classes: int = 74,
        in_channels: Sequence[int] = (3, 16, 32, 64, 128),
        embed_dim: int = 128,
        temporal_kernel_size: int = 9,
        modality: str = "pose",
    ) -> None:
        super().__init__()
        if temporal_kernel_size % 2 != 1:
            raise ValueError(f"temporal_kernel_size: expected an odd size, got {temporal_kernel_size}")
        self.input_modalities = (modality,)
        c = [int(v) for v in in_channels]
        names = ("lowSemantic", "mediumSemantic", "highSemantic")
        for level, name in enumerate(names):  # registration order = the peer's state-dict order
            self.register_buffer(f"A_{name}", torch.tensor(gait_temporal_adjacency(level), dtype=torch.float32))
        for name in names:
            blocks = nn.ModuleList()
            for i in range(len(c) - 1):
                blocks.append(STGCNBlock(c[i], c[i + 1], temporal_kernel_size, 3, residual=i > 0))
                blocks.append(STGCNBlock(c[i + 1], c[i + 1], temporal_kernel_size, 3, residual=True))
            setattr(self, f"st_gcn_networks_{name}", blocks)
        for name in names:
            adj = getattr(self, f"A_{name}")
            blocks = getattr(self, f"st_gcn_networks_{name}")
            setattr(
                self, f"edge_importance_{name}", nn.ParameterList(nn.Parameter(torch.ones_like(adj)) for _ in blocks)
            )
        self.fc = nn.Linear(c[-1], embed_dim)
        self.bn_neck = nn.BatchNorm1d(embed_dim)
        self.encoder_cls = nn.Linear(embed_dim, num_classes, bias=False)
        self._names = names

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Peer layout ``[N, T, 12, C]`` → ``embeddings``, ``logits``, ``joint_embeddings``, ``limb_embeddings``."""
        joints = x.permute(0, 3, 1, 2).contiguous()  # [n, c, t, 12]
        limbs = _halve(joints)
        parts = _halve(limbs)
        streams = [getattr(self, f"st_gcn_networks_{n}") for n in self._names]
        weights = [getattr(self, f"edge_importance_{n}") for n in self._names]
        adjs = [getattr(self, f"A_{n}") for n in self._names]
        for i in range(len(streams[0])):
            joints = streams[0][i](joints, adjs[0] * weights[0][i])
            limbs = streams[1][i](limbs, adjs[1] * weights[1][i])
            parts = streams[2][i](parts, adjs[2] * weights[2][i])
            limbs = limbs + _halve(joints)  # cross-scale message passing
            parts = parts + _halve(limbs)
        embed = self.fc(parts.mean(dim=(2, 3)))  # [n, C]
        logits = self.encoder_cls(self.bn_neck(embed))
        return {
            "embeddings": embed.unsqueeze(-1),
            "logits": logits.unsqueeze(-1),
            "joint_embeddings": joints.mean(dim=(2, 3)).unsqueeze(-1),
            "limb_embeddings": limbs.mean(dim=(2, 3)).unsqueeze(-1),
        }

    def forward(self, batch: Batch) -> ModelOutput:
        """``batch.inputs[modality]``: pose ``[B, T, 17, 3]`` or packed ``[1, ΣT, 17, 3]``."""
        x = pose_input(batch, self.input_modalities[0])
        keys = ("embeddings", "logits", "joint_embeddings", "limb_embeddings")

        def run(p: torch.Tensor) -> torch.Tensor:
            out = self.forward_features(p[:, :, list(MSGG_JOINTS)])
            return torch.cat([out[k] for k in keys], dim=1)  # [n, C + N + c + c, 1]

        sizes = [self.fc.out_features, self.encoder_cls.out_features, self.fc.in_features, self.fc.in_features]
        embed, logits, joint, limb = torch.split(pose_sequences(x, batch.seq_lens, run), sizes, dim=1)
        return ModelOutput(embed, logits, {"joint_embeddings": joint, "limb_embeddings": limb})
