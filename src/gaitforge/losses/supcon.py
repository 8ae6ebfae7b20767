"""Supervised contrastive (SupCon) loss, the metric loss of the GaitGraph pose models.

Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020. GaitGraph (Teepe et al., ICIP 2021) uses it with
two views per sequence and cosine similarity; GaitGraph2 (CVPRW 2022) with one view and negative Euclidean
distance between L2-normalised embeddings, both at temperature 0.01.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SupConLoss"]

logger = logging.getLogger(__name__)


class SupConLoss(nn.Module):
    """SupCon loss on embeddings ``[n, c, v]`` with labels ``[n]``.

    Embeddings are L2-normalised over ``c``. For every anchor ``i`` (each sample in each view), with logits
    ``s(i, j) / temperature`` over all other anchors ``j`` and positives ``P(i)`` (other anchors of the same
    label, the other views of the same sample included)::

        loss_i = −mean_{p ∈ P(i)} [ s(i, p)/τ − log Σ_{j ≠ i} exp(s(i, j)/τ) ]

    The result is the mean over anchors that have a positive (0 when none has), times ``τ / base_temperature``
    when ``base_temperature`` is given (GaitGraph's 0.07).

    Args:
        temperature: ``τ``.
        similarity: ``"cosine"`` (dot product of unit vectors) or ``"euclidean"`` (minus their distance).
        base_temperature: Optional rescaling of the loss, see above.
        parts: How the last axis is read: ``"views"`` (several views of each sample, all contrasted together) or
            ``"mean"`` (independent parts, one loss each, averaged).
    """

    default_input = "embeddings"

    def __init__(
        self,
        temperature: float = 0.01,
        similarity: str = "cosine",
        base_temperature: float | None = None,
        parts: str = "views",
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature: expected > 0, got {temperature}")
        if similarity not in ("cosine", "euclidean"):
            raise ValueError(f"similarity: expected 'cosine' or 'euclidean', got {similarity!r}")
        if parts not in ("views", "mean"):
            raise ValueError(f"parts: expected 'views' or 'mean', got {parts!r}")
        if base_temperature is not None and base_temperature <= 0:
            raise ValueError(f"base_temperature: expected > 0 or null, got {base_temperature}")
        self.temperature, self.similarity, self.parts = float(temperature), similarity, parts
        self.base_temperature = None if base_temperature is None else float(base_temperature)

    def _single(self, z: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss over anchors ``z [m, c]`` (unit vectors) with labels ``[m]``."""
        m = z.shape[0]
        if self.similarity == "cosine":
            sim = z @ z.T
        else:
            d2 = (2.0 - 2.0 * (z @ z.T)).clamp_min(0.0)
            eye = torch.eye(m, dtype=torch.bool, device=z.device)
            sim = -d2.masked_fill(eye, 0.0).add(1e-12).sqrt().masked_fill(eye, 0.0)
        eye = torch.eye(m, dtype=torch.bool, device=z.device)
        logits = (sim / self.temperature).masked_fill(eye, float("-inf"))
        log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        pos = (labels[:, None] == labels[None, :]) & ~eye
        counts = pos.sum(1)
        has_pos = counts > 0
        stats = {"anchors": float(has_pos.sum())}
        if not bool(has_pos.any()):
            return z.sum() * 0.0, stats | {"loss": 0.0}
        per_anchor = -(log_prob.masked_fill(~pos, 0.0).sum(1)[has_pos] / counts[has_pos])
        loss = per_anchor.mean()
        if self.base_temperature is not None:
            loss = loss * (self.temperature / self.base_temperature)
        with torch.no_grad():
            neg = ~pos & ~eye
            stats["pos_sim"] = float(sim[pos].mean()) if pos.any() else 0.0
            stats["neg_sim"] = float(sim[neg].mean()) if neg.any() else 0.0
        stats["loss"] = float(loss.detach())
        return loss, stats

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss (0-dim) and stats ``loss``, ``anchors``, ``pos_sim``, ``neg_sim``.

        Args:
            embeddings: ``[n, c, v]`` (``[n, c]`` is one view).
            labels: ``[n]`` integer labels.
        """
        if embeddings.dim() == 2:
            embeddings = embeddings.unsqueeze(-1)
        if embeddings.dim() != 3 or labels.shape != (embeddings.shape[0],):
            raise ValueError(
                f"supcon: expected embeddings [n, c, v] and labels [n], got "
                f"{list(embeddings.shape)} and {list(labels.shape)}"
            )
        x = F.normalize(embeddings.to(torch.promote_types(embeddings.dtype, torch.float32)), dim=1)
        n, _, v = x.shape
        if self.parts == "views":
            z = x.permute(2, 0, 1).reshape(v * n, -1)  # view-major: [view0 samples, view1 samples, ...]
            return self._single(z, labels.repeat(v))
        results = [self._single(x[:, :, k], labels) for k in range(v)]
        loss = torch.stack([r[0] for r in results]).mean()
        stats = {key: sum(r[1][key] for r in results) / v for key in results[0][1]}
        stats["loss"] = float(loss.detach())
        return loss, stats
