"""SMPLGait: silhouettes and per-frame SMPL vectors, fused by a learned spatial transform of the feature maps.

Zheng et al., "Gait Recognition in the Wild with Dense 3D Representations and A Benchmark", CVPR 2022
(Gait3D). The silhouette branch is the Plain-backbone baseline (:class:`~gaitforge.models.plain.PlainBaseline`:
``BC-64, BC-64, M, BC-128, BC-128, M, BC-256, BC-256`` per frame). The SMPL branch maps each frame's 85-value
SMPL vector (Gait3D's layout: 3 camera, 72 pose and 10 shape parameters) through three fully connected layers
with BatchNorm and ReLU (dropout 0.2 before the second and third BatchNorm) to a ``16 × 16`` matrix; the
identity is added and every channel of the frame's feature map (zero-padded on the right from ``16 × 11`` to
``16 × 16``) is multiplied by it on the right. Temporal max pooling, HPP (16/8/4/2/1 → 31 parts), part-wise
FCs and a BNNeck follow. Module names equal the peer's (``Backbone``, ``FCs``, ``BNNecks``, ``fc1`` … ``fc3``,
``bn1`` … ``bn3``).

Inputs: ``Batch.inputs["sil"]`` ``[B, T, H, W]`` and ``Batch.inputs["smpl"]`` ``[B, T, 85]`` (or packed
``[1, ΣT, ...]`` with ``seq_lens``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.models.base import ModelOutput
from gaitforge.models.blocks import init_peer_parameters, to_sequence_tensor
from gaitforge.models.plain import PlainBaseline

__all__ = ["SMPLGait", "SMPL_DIM", "check_smpl"]

logger = logging.getLogger(__name__)

#: Values per frame in Gait3D's SMPL files: 3 camera (scale, tx, ty), 72 pose (24 joints × 3 axis-angle), 10 shape.
SMPL_DIM = 85


def check_smpl(smpl: torch.Tensor, frames: tuple[int, int], dim: int = SMPL_DIM, name: str = "smpl") -> None:
    """Reject SMPL vectors of the wrong length or frame count, or with NaN / inf.

    Args:
        smpl: ``[B, T, dim]``.
        frames: ``(B, T)`` of the silhouettes they go with.
        dim: Expected vector length.
        name: Field name for the message (e.g. ``inputs['smpl']``).

    Raises:
        ValueError: Naming ``name`` and what was expected.
    """
    if smpl.dim() != 3 or smpl.shape[-1] != dim:
        raise ValueError(
            f"{name}: expected [B, T, {dim}] SMPL vectors (3 camera + 72 pose + 10 shape values per frame), "
            f"got {list(smpl.shape)}"
        )
    if tuple(smpl.shape[:2]) != tuple(frames):
        raise ValueError(f"{name}: {list(smpl.shape[:2])} sequences × frames, but the silhouettes have {list(frames)}")
    bad = ~torch.isfinite(smpl).all(-1)
    if bool(bad.any()):
        b, t = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"{name}: non-finite values (NaN or inf) in sequence {b}, frame {t}")


class SMPLGait(PlainBaseline):
    """SMPLGait; see the module docstring.

    Args:
        num_classes: Training identities (Gait3D: 3000).
        smpl_dim: SMPL vector length (85).
        smpl_hidden: Widths of ``fc1`` and ``fc2`` (128, 256).
        transform_size: Side ``h`` of the per-frame transform (``fc3`` outputs ``h²``); must equal the height of
            the backbone's feature map (16 for 64-pixel-high silhouettes and two max-pools).
        dropout: Dropout before ``bn2`` and ``bn3``.
        smpl_modality: Key of the SMPL vectors in ``Batch.inputs``.
        **kwargs: :class:`~gaitforge.models.plain.PlainBaseline` arguments (``layers_cfg``, ``embed_dim``, ``bins``,
            ``modality`` of the silhouettes...).
    """

    input_modalities = ("sil", "smpl")

    def __init__(
        self,
        num_classes: int = 3000,
        smpl_dim: int = SMPL_DIM,
        smpl_hidden: Sequence[int] = (128, 256),
        transform_size: int = 16,
        dropout: float = 0.2,
        smpl_modality: str = "smpl",
        **kwargs: Any,
    ) -> None:
        super().__init__(num_classes=num_classes, **kwargs)
        self.input_modalities = (self.input_modalities[0], smpl_modality)
        self.smpl_dim, self.transform_size = int(smpl_dim), int(transform_size)
        h1, h2 = (int(v) for v in smpl_hidden)
        self.fc1 = nn.Linear(self.smpl_dim, h1)
        self.fc2 = nn.Linear(h1, h2)
        self.fc3 = nn.Linear(h2, self.transform_size**2)
        self.bn1 = nn.BatchNorm1d(h1)
        self.bn2 = nn.BatchNorm1d(h2)
        self.bn3 = nn.BatchNorm1d(self.transform_size**2)
        self.dropout2 = nn.Dropout(p=dropout)
        self.dropout3 = nn.Dropout(p=dropout)
        for layer in (self.fc1, self.fc2, self.fc3, self.bn1, self.bn2, self.bn3):
            init_peer_parameters(layer)

    def smpl_transforms(self, smpl: torch.Tensor) -> torch.Tensor:
        """SMPL vectors ``[n, s, d]`` → per-frame transforms ``[n, s, h, h]`` (identity added)."""
        n, s, _ = smpl.shape
        x = F.relu(self.bn1(self.fc1(smpl.reshape(n * s, -1))))
        x = F.relu(self.bn2(self.dropout2(self.fc2(x))))
        x = F.relu(self.bn3(self.dropout3(self.fc3(x))))
        h = self.transform_size
        return x.reshape(n, s, h, h) + torch.eye(h, dtype=x.dtype, device=x.device)

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, P]``, logits ``[B, N, P]``, extras ``bnneck_embeddings`` ``[B, C, P]``."""
        sil_name, smpl_name = self.input_modalities
        for key in (sil_name, smpl_name):
            if key not in batch.inputs:
                raise KeyError(f"inputs[{key!r}]: missing; SMPLGait reads {list(self.input_modalities)}")
        x = to_sequence_tensor(batch.inputs[sil_name], self.in_channels, sil_name)  # [n, 1, s, H, W]
        smpl = batch.inputs[smpl_name].float()
        check_smpl(smpl, (x.shape[0], x.shape[2]), self.smpl_dim, f"inputs[{smpl_name!r}]")
        feat = self.Backbone(x)  # [n, c, s, h, w]
        n, c, s, h, w = feat.shape
        if h != self.transform_size or w > h:
            raise ValueError(
                f"inputs[{sil_name!r}]: the feature map is {h}×{w}; SMPLGait's transform needs height "
                f"{self.transform_size} and width <= height (e.g. 64×44 silhouettes)"
            )
        feat = F.pad(feat, (0, h - w))  # [n, c, s, h, h]
        feat = feat.matmul(self.smpl_transforms(smpl)[:, None])  # [n, c, s, h, h]
        feat = self.TP(feat, batch.seq_lens)  # [B, c, h, h]
        embed_1 = self.FCs(self.HPP(feat))  # [B, C, P]
        embed_2, logits = self.BNNecks(embed_1)  # [B, C, P], [B, N, P]
        return ModelOutput(embeddings=embed_1, logits=logits, extras={"bnneck_embeddings": embed_2})
