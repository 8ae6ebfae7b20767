"""ParsingGait: GaitBase on human-parsing label maps, plus a graph over the body parts the labels mark.

Zheng et al., "Parsing is All You Need for Accurate Gait Recognition in the Wild", ACM MM 2023
(Gait3D-Parsing). The label map (0 background, 1 head, 2 torso, 3/4 left/right arm, 5/6 hands, 7/8 legs,
9/10 feet, 11 dress) is the input of a per-frame ResNet9, as a one-channel image of label ids. It is also resized
(nearest) to the feature map and used to weight the features per body part: for part ``k`` the features inside
the part are scaled by a learned ``γ_k`` and those outside by ``1 − γ_k``; each weighted map is pooled (mean +
max over the map) into a node. The nodes are the 11 fine parts or 5 coarse ones (head/torso/dress, left arm +
hand, right arm + hand, left leg + foot, right leg + foot), connected by fixed adjacencies (symmetric
normalisation ``D^-½ A D^-½``), and go through two graph convolutions (Kipf & Welling, ICLR 2017; linear, adjacency,
bias, BatchNorm over all nodes, ReLU, dropout 0.5 before each). The nodes are max-pooled over each sequence's
frames and appended to GaitBase's 16 HPP strips (16 + 5 = 21 parts), then part-wise FCs and a BNNeck.
Module names equal the peer's (``gammas_coarse``, ``Backbone``, ``FCs``, ``BNNecks``, ``gcn_coarse.gc1`` ...).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    HorizontalPyramidPooling,
    PerFrame,
    SeparateBNNecks,
    SeparateFCs,
    init_peer_parameters,
    temporal_max_pool,
    to_sequence_tensor,
)
from gaitforge.models.resnet import ResNet9

__all__ = ["ParsingGait", "PartGCN", "PARSING_LABELS", "COARSE_PARTS", "check_parsing"]

logger = logging.getLogger(__name__)

#: Gait3D-Parsing label ids (0 is the background).
PARSING_LABELS = (
    "background", "head", "torso", "left_arm", "right_arm", "left_hand", "right_hand",
    "left_leg", "right_leg", "left_foot", "right_foot", "dress",
)  # fmt: skip
#: The coarse graph's nodes as sets of fine labels.
COARSE_PARTS: tuple[tuple[int, ...], ...] = ((1, 2, 11), (3, 5), (4, 6), (7, 9), (8, 10))

# Fine graph: parts touching each other (self-loops included), rows/columns 1..11.
_FINE_EDGES = (
    (1, 2), (1, 11), (2, 3), (2, 4), (2, 7), (2, 8), (3, 5), (3, 11), (4, 6), (4, 11),
    (7, 9), (7, 11), (8, 10), (8, 11),
)  # fmt: skip


def _normalised(adj: np.ndarray) -> torch.Tensor:
    """``D^-½ A D^-½`` with ``D`` the row degrees of the 0/1 adjacency ``A``."""
    deg = (adj == 1).sum(1).astype(np.float64)
    d = np.diag(np.where(deg > 0, deg ** -0.5, 0.0))
    return torch.from_numpy(d @ adj.astype(np.float64) @ d).float()


def fine_adjacency() -> torch.Tensor:
    """The 11 × 11 normalised adjacency of the fine parts."""
    a = np.eye(11)
    for i, j in _FINE_EDGES:
        a[i - 1, j - 1] = a[j - 1, i - 1] = 1
    return _normalised(a)


def coarse_adjacency() -> torch.Tensor:
    """The 5 × 5 normalised adjacency of the coarse parts: the trunk node joins every limb node."""
    a = np.eye(5)
    a[0, :] = a[:, 0] = 1
    return _normalised(a)


def check_parsing(labels: torch.Tensor, max_label: int, name: str = "parsing") -> None:
    """Reject label maps with ids that are not integers in ``0 … max_label``, naming the first bad value."""
    bad = (labels != labels.round()) | (labels < 0) | (labels > max_label) | ~torch.isfinite(labels)
    if bool(bad.any()):
        value = float(labels[bad][0])
        raise ValueError(
            f"{name}: unknown parsing label {value:g}; expected integer ids 0..{max_label} "
            f"({', '.join(PARSING_LABELS[: max_label + 1])})"
        )


class GraphConvolution(nn.Module):
    """``BN(A · (x W) + b)`` over ``[N, nodes, C]`` with one BatchNorm over the flattened nodes × channels.

    Args:
        in_features: Input channels.
        out_features: Output channels.
        nodes: Number of graph nodes (sizes the BatchNorm).
    """

    def __init__(self, in_features: int, out_features: int, nodes: int) -> None:
        super().__init__()
        bound = 1.0 / out_features**0.5
        self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bn = nn.BatchNorm1d(out_features * nodes)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """``x [N, nodes, C_in]``, ``adj [nodes, nodes]`` → ``[N, nodes, C_out]``."""
        out = adj.matmul(x.matmul(self.weight)) + self.bias  # [N, nodes, C_out]
        return self.bn(out.reshape(out.shape[0], -1)).reshape(out.shape)


class PartGCN(nn.Module):
    """Two graph convolutions with ReLU, dropout 0.5 before each (the peer's ``GCN``).

    Args:
        nodes: Graph nodes.
        channels: Feature channels (in = hidden = out).
    """

    def __init__(self, nodes: int, channels: int) -> None:
        super().__init__()
        self.gc1 = GraphConvolution(channels, channels, nodes)
        self.gc2 = GraphConvolution(channels, channels, nodes)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """``[N, nodes, C]`` → ``[N, nodes, C]``."""
        x = F.relu(self.gc1(F.dropout(x, 0.5, self.training), adj))
        return F.relu(self.gc2(F.dropout(x, 0.5, self.training), adj))


class ParsingGait(GaitModel):
    """ParsingGait; see the module docstring.

    Args:
        num_classes: Training identities (Gait3D: 3000).
        channels, layers, strides, maxpool: ResNet9 settings (GaitBase's: 64/128/256/512, 1/1/1/1, 1/2/2/1, no
            max-pool).
        embed_dim: Separate-FC output ``C`` (256).
        bins: HPP strips (16).
        graph: ``"coarse"`` (5 nodes, the shipped config), ``"fine"`` (11) or ``"both"`` (16 nodes).
        fine_parts: Labels ``1 … fine_parts`` are body parts (11).
        gamma: Initial in-part weight of every node (0.75).
        modality: Key of the label maps ``[B, T, H, W]`` in ``Batch.inputs``.
    """

    def __init__(
        self,
        num_classes: int = 3000,
        channels: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (1, 1, 1, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        maxpool: bool = False,
        embed_dim: int = 256,
        bins: Sequence[int] = (16,),
        graph: str = "coarse",
        fine_parts: int = 11,
        gamma: float = 0.75,
        modality: str = "parsing",
    ) -> None:
        super().__init__()
        if graph not in ("coarse", "fine", "both"):
            raise ValueError(f"graph: expected 'coarse', 'fine' or 'both', got {graph!r}")
        if fine_parts != 11:
            raise ValueError(f"fine_parts: the part graphs are defined for Gait3D-Parsing's 11 parts, got {fine_parts}")
        self.input_modalities = (modality,)
        self.graph, self.fine_parts = graph, int(fine_parts)
        self.graphs = ("fine", "coarse") if graph == "both" else (graph,)
        if "fine" in self.graphs:
            self.gammas_fine = nn.Parameter(torch.full((self.fine_parts,), float(gamma)))
        if "coarse" in self.graphs:
            self.gammas_coarse = nn.Parameter(torch.full((len(COARSE_PARTS),), float(gamma)))
        backbone = ResNet9(1, channels, layers, strides, maxpool)
        self.Backbone = PerFrame(backbone)
        self.HPP = HorizontalPyramidPooling(bins)
        c = backbone.out_channels
        nodes = sum(self.fine_parts if g == "fine" else len(COARSE_PARTS) for g in self.graphs)
        self.FCs = SeparateFCs(self.HPP.parts + nodes, c, embed_dim)
        self.BNNecks = SeparateBNNecks(self.HPP.parts + nodes, embed_dim, num_classes)
        if "fine" in self.graphs:
            self.gcn_fine = PartGCN(self.fine_parts, c)
            self.register_buffer("fine_adj", fine_adjacency(), persistent=False)
            self.register_buffer("fine_node_of", torch.arange(-1, self.fine_parts), persistent=False)
        if "coarse" in self.graphs:
            self.gcn_coarse = PartGCN(len(COARSE_PARTS), c)
            self.register_buffer("coarse_adj", coarse_adjacency(), persistent=False)
            node_of = torch.full((self.fine_parts + 1,), -1, dtype=torch.long)
            for node, part in enumerate(COARSE_PARTS):
                node_of[list(part)] = node
            self.register_buffer("coarse_node_of", node_of, persistent=False)
        init_peer_parameters(self)

    def _part_masks(self, labels: torch.Tensor, graph: str) -> torch.Tensor:
        """Label maps ``[F, h, w]`` → part masks ``[F, nodes, h, w]`` (bool)."""
        node_of = getattr(self, f"{graph}_node_of")  # label id → node index (-1: background)
        nodes = self.fine_parts if graph == "fine" else len(COARSE_PARTS)
        return node_of[labels][:, None] == torch.arange(nodes, device=labels.device)[None, :, None, None]

    def _graph_nodes(self, feat: torch.Tensor, labels: torch.Tensor, graph: str) -> torch.Tensor:
        """Frame features ``[F, c, h, w]`` → graph outputs ``[F, nodes, c]``."""
        masks = self._part_masks(labels, graph)[:, :, None]  # [F, nodes, 1, h, w]
        gammas = getattr(self, f"gammas_{graph}")[None, :, None, None, None]
        z = feat[:, None]  # [F, 1, c, h, w]
        weighted = torch.where(masks, z * gammas, z * (1.0 - gammas)).flatten(3)  # [F, nodes, c, h·w]
        nodes = weighted.mean(-1) + weighted.amax(-1)  # [F, nodes, c]
        return getattr(self, f"gcn_{graph}")(nodes, getattr(self, f"{graph}_adj"))

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P + nodes]``, logits ``[B, N, P + nodes]``, extras ``bnneck_embeddings``.

        Reads ``batch.inputs[modality]``: label ids ``[B, T, H, W]`` (float or integer), stacked or packed
        ``[1, ΣT, H, W]`` with ``batch.seq_lens``.
        """
        name = self.input_modalities[0]
        raw = batch.inputs[name]
        check_parsing(raw, self.fine_parts, f"inputs[{name!r}]")
        x = to_sequence_tensor(raw, 1, name)  # [n, 1, s, H, W]
        feat = self.Backbone(x)  # [n, c, s, h, w]
        n, c, s, h, w = feat.shape
        labels = F.interpolate(x[:, 0], size=(h, w), mode="nearest").reshape(n * s, h, w).long()
        frames = feat.transpose(1, 2).reshape(n * s, c, h, w)
        parts = []
        for graph in self.graphs:
            nodes = self._graph_nodes(frames, labels, graph).reshape(n, s, -1, c)  # [n, s, nodes, c]
            parts.append(temporal_max_pool(nodes, batch.seq_lens, dim=1))  # [B, nodes, c]
        strips = self.HPP(temporal_max_pool(feat, batch.seq_lens, dim=2))  # [B, c, P]
        feat_all = torch.cat([strips, torch.cat(parts, 1).transpose(1, 2)], -1)  # [B, c, P + nodes]
        embed_1 = self.FCs(feat_all)
        embed_2, logits = self.BNNecks(embed_1)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
