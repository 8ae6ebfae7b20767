"""GPGait: part-aware graph convolutions on human-oriented pose descriptors.

Built from the paper (no peer fixture): Fu et al., "GPGait: Generalized Pose-based Gait Recognition", ICCV 2023
(arXiv 2303.05234). Its three parts:

* **Human-Oriented Transformation (HOT)**: every frame rescaled to one pose height and centred on the neck, and
  (optionally) rotated so the spine is vertical. These are data transforms (``pose_rescale_center``,
  ``pose_spine_vertical`` in :mod:`gaitforge.data.pose_transforms`), applied before the model.
* **Human-Oriented Descriptors (HOD)**: joint positions, bone vectors and joint angles
  (:func:`gaitforge.data.pose_transforms.hod_features`), computed here from the ``pose`` modality. Each descriptor
  has its own branch; the angle branch uses the 12 body joints (no head).
* **Part-Aware GCN (PAGCN)**: adaptive graph convolutions whose adjacency (hop-partitioned skeleton + a learned
  offset + a data-dependent attention) is masked to stay inside body parts. Shared layers work within the limbs;
  then one global stack and one stack per body partition (upper/lower halves, arms vs. the rest, arms/legs/head),
  each followed by temporal max pooling and semantic pyramid pooling (mean + max over the joints of each part).

The part features of the three branches (19 for COCO-17) go through part-wise FCs and a BNNeck, as silhouette
models do: triplet loss on ``embeddings`` (FC features), cross-entropy on ``logits``; with ``inference_bnneck``
(default, as the authors evaluate) ``embeddings`` are the BNNeck features and ``pre_bnneck_embeddings`` the FC
ones. Packed sequences run one at a time (the attention pools over the frames of a sequence).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.data.pose_transforms import COCO_EDGES, hod_features
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import SeparateBNNecks, SeparateFCs
from gaitforge.models.gaitgraph import hop_adjacency, pose_input, pose_sequences
from gaitforge.models.gaittr import Mish

__all__ = ["GPGait", "PAGCN", "PoseBranch", "BODY_PARTITIONS", "COCO_PARTITIONS"]

_L_ARM, _R_ARM, _L_LEG, _R_LEG, _HEAD = (5, 7, 9), (6, 8, 10), (11, 13, 15), (12, 14, 16), (0, 1, 2, 3, 4)
#: COCO-17 partitions by name: limbs (used by the shared layers), then the three part-branch partitions.
COCO_PARTITIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "limbs": (_L_ARM, _R_ARM, _L_LEG, _R_LEG, _HEAD),
    "halves": (_L_ARM + _R_ARM + _HEAD, _L_LEG + _R_LEG),
    "arms_rest": (_L_ARM + _R_ARM, _L_LEG + _R_LEG + _HEAD),
    "arms_legs_head": (_L_ARM + _R_ARM, _L_LEG + _R_LEG, _HEAD),
}
#: The same for the 12 body joints (COCO 5..16 renumbered 0..11) of the angle branch.
BODY_PARTITIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "limbs": tuple(tuple(j - 5 for j in p) for p in (_L_ARM, _R_ARM, _L_LEG, _R_LEG)),
    "halves": (tuple(j - 5 for j in _L_ARM + _R_ARM), tuple(j - 5 for j in _L_LEG + _R_LEG)),
}
_BODY_EDGES = tuple((i - 5, j - 5) for i, j in COCO_EDGES if i >= 5 and j >= 5)


def _part_mask(parts: Sequence[Sequence[int]], v: int) -> torch.Tensor:
    """``[V, V]`` 1 where both joints lie in the same part."""
    mask = torch.zeros(v, v)
    for p in parts:
        idx = torch.tensor(p)
        mask[idx[:, None], idx[None, :]] = 1.0
    return mask


class PAGCN(nn.Module):
    """Part-aware adaptive graph convolution, ``[N, C, T, V]`` → ``[N, C', T, V]``.

    For each hop subset ``k``: ``A_k + B_k + softmax(θ(x)ᵀ φ(x))`` (skeleton, learned offset initialised near 0,
    attention pooled over the sequence's frames), multiplied by the part mask, aggregates the joints; a 1×1
    convolution maps the channels; subsets are summed, then BN and Mish.

    Args:
        in_channels, out_channels: Widths.
        adjacency: ``[K, V, V]`` hop-partitioned skeleton.
        mask: ``[V, V]`` part mask or ``None`` (whole body).
        embed_factor: Attention channels are ``out_channels // embed_factor``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, adjacency: torch.Tensor, mask: torch.Tensor | None,
        embed_factor: int = 4,
    ) -> None:  # fmt: skip
        super().__init__()
        k = adjacency.shape[0]
        inner = max(1, out_channels // embed_factor)
        self.register_buffer("A", adjacency.clone(), persistent=False)
        self.register_buffer("mask", torch.ones_like(adjacency[0]) if mask is None else mask.clone(), persistent=False)
        self.offset = nn.Parameter(torch.full_like(adjacency, 1e-6))
        self.theta = nn.ModuleList(nn.Conv2d(in_channels, inner, 1) for _ in range(k))
        self.phi = nn.ModuleList(nn.Conv2d(in_channels, inner, 1) for _ in range(k))
        self.out = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(k))
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = Mish()
        self.residual = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        adj = self.A + self.offset
        y = 0
        for k in range(adj.shape[0]):
            q = self.theta[k](x).permute(0, 3, 1, 2).reshape(n, v, -1)  # [n, v, c'·t]
            key = self.phi[k](x).reshape(n, -1, v)  # [n, c'·t, v]
            attention = torch.softmax(q @ key / q.shape[-1], dim=-2)  # [n, v, v]
            graph = (attention + adj[k]) * self.mask
            y = y + self.out[k]((x.reshape(n, c * t, v) @ graph).view(n, c, t, v))
        return self.act(self.bn(y)) + self.residual(x)


def _stack(widths: Sequence[int], adjacency: torch.Tensor, mask: torch.Tensor | None) -> nn.Sequential:
    return nn.Sequential(*(PAGCN(widths[i], widths[i + 1], adjacency, mask) for i in range(len(widths) - 1)))


class PoseBranch(nn.Module):
    """One descriptor's network: BN over (joint, channel), shared limb-masked layers, then a global stack and
    one stack per partition, each pooled over time and over the joints of its parts.

    Args:
        in_channels: Descriptor channels.
        widths: Block widths (the first ``share_num`` shared).
        share_num: Shared blocks.
        edges: Skeleton edges; ``num_joints`` joints.
        partitions: ``"limbs"`` plus the per-branch partitions (see :data:`COCO_PARTITIONS`).
    """

    def __init__(
        self,
        in_channels: int,
        widths: Sequence[int],
        share_num: int,
        edges: Sequence[tuple[int, int]],
        num_joints: int,
        partitions: dict[str, tuple[tuple[int, ...], ...]],
    ) -> None:
        super().__init__()
        if not 1 <= share_num < len(widths):
            raise ValueError(f"share_num: expected 1 <= share_num < {len(widths)} (len(channels)), got {share_num}")
        adj = torch.tensor(hop_adjacency(num_joints, edges, 2), dtype=torch.float32)
        w = [in_channels, *widths]
        self.data_bn = nn.BatchNorm1d(in_channels * num_joints)
        self.shared = _stack(w[: share_num + 1], adj, _part_mask(partitions["limbs"], num_joints))
        self.names = ["whole"] + [k for k in partitions if k != "limbs"]
        self.parts = {"whole": (tuple(range(num_joints)),), **{k: partitions[k] for k in self.names[1:]}}
        self.stacks = nn.ModuleDict(
            {
                name: _stack(w[share_num:], adj, None if name == "whole" else _part_mask(self.parts[name], num_joints))
                for name in self.names
            }
        )

    @property
    def num_parts(self) -> int:
        return sum(len(self.parts[n]) for n in self.names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, T, V, C]`` → ``[N, C', P]``."""
        n, t, v, c = x.shape
        x = self.data_bn(x.permute(0, 2, 3, 1).reshape(n, v * c, t)).view(n, v, c, t).permute(0, 2, 3, 1)
        shared = self.shared(x.contiguous())  # [n, c, t, v]
        feats = []
        for name in self.names:
            pooled = self.stacks[name](shared).amax(dim=2)  # temporal max → [n, c', v]
            for part in self.parts[name]:
                joints = pooled[..., list(part)]
                feats.append(joints.mean(-1) + joints.amax(-1))
        return torch.stack(feats, dim=-1)


class GPGait(GaitModel):
    """GPGait (Fu et al. ICCV 2023) on COCO-17 poses.

    Args:
        num_classes: Training identities (BNNeck classifier).
        channels: Block widths after the input (authors: 64/64/128/256).
        share_num: Blocks shared by all part stacks (authors: 3).
        embed_dim: Part-wise FC output channels.
        inference_bnneck: Infer with BNNeck features (see the module docstring).
        modality: ``Batch.inputs`` key of the pose.
    """

    def __init__(
        self,
        num_classes: int = 74,
        channels: Sequence[int] = (64, 64, 128, 256),
        share_num: int = 3,
        embed_dim: int = 256,
        inference_bnneck: bool = True,
        modality: str = "pose",
    ) -> None:
        super().__init__()
        self.input_modalities = (modality,)
        self.inference_bnneck = bool(inference_bnneck)
        widths = [int(c) for c in channels]
        self.joint_branch = PoseBranch(2, widths, share_num, COCO_EDGES, 17, COCO_PARTITIONS)
        self.bone_branch = PoseBranch(2, widths, share_num, COCO_EDGES, 17, COCO_PARTITIONS)
        self.angle_branch = PoseBranch(1, widths, share_num, _BODY_EDGES, 12, BODY_PARTITIONS)
        parts = self.joint_branch.num_parts + self.bone_branch.num_parts + self.angle_branch.num_parts
        self.FCs = SeparateFCs(parts, widths[-1], embed_dim)
        self.BNNecks = SeparateBNNecks(parts, embed_dim, num_classes)

    def forward_features(self, hod: torch.Tensor) -> torch.Tensor:
        """HOD ``[N, T, 17, 5]`` → part features ``[N, C, P]`` before the FCs."""
        return torch.cat(
            [
                self.joint_branch(hod[..., 0:2]),
                self.bone_branch(hod[..., 2:4]),
                self.angle_branch(hod[:, :, 5:, 4:5]),
            ],
            dim=-1,
        )

    def forward(self, batch: Batch) -> ModelOutput:
        """``batch.inputs[modality]``: pose ``[B, T, 17, 3]`` (after HOT) or packed ``[1, ΣT, 17, 3]``."""
        x = pose_input(batch, self.input_modalities[0])
        feat = pose_sequences(x, batch.seq_lens, lambda p: self.forward_features(hod_features(p)))
        embed_1 = self.FCs(feat)  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)
        if self.inference_bnneck:
            extras = {"pre_bnneck_embeddings": embed_1, "bnneck_embeddings": embed_2}
            return ModelOutput(embeddings=embed_2, logits=logits, extras=extras)
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
