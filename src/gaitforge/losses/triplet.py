"""Part-wise triplet loss with a hinge margin.

Schroff et al., "FaceNet", CVPR 2015 (triplet loss); Hermans et al., "In Defense of the Triplet Loss for
Person Re-Identification", arXiv 1703.07737 (batch-all / batch-hard mining). Gait models apply it to each
horizontal part separately (Chao et al., GaitSet, AAAI 2019), as the peer does.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TripletLoss", "part_euclidean_distances"]

logger = logging.getLogger(__name__)


def part_euclidean_distances(x: torch.Tensor) -> torch.Tensor:
    """Pairwise Euclidean distances within each part.

    Args:
        x: ``[p, n, c]`` part features.

    Returns:
        ``[p, n, n]`` distances ``sqrt(relu(|a|² + |b|² − 2 a·b))``, with an exact 0 diagonal.
    """
    sq = x.pow(2).sum(-1)  # [p, n]
    d2 = sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * x.matmul(x.transpose(1, 2))
    # The self-distance is exactly 0 (the expansion leaves rounding noise whose sqrt has a huge gradient).
    d2 = d2.masked_fill(torch.eye(x.shape[1], dtype=torch.bool, device=x.device), 0.0)
    return F.relu(d2).sqrt()


class TripletLoss(nn.Module):
    """Triplet loss per part on embeddings ``[n, c, p]`` with labels ``[n]``.

    For every part, ``relu(d(a, pos) − d(a, neg) + margin)`` over the mined triplets; the part's loss is the
    mean of its non-zero terms (0 when there are none), and the result is the mean over parts.

    Args:
        margin: Hinge margin (the field's default: 0.2).
        mining: ``"all"``: every (anchor, positive, negative) triplet; ``"batch_hard"``: one triplet per
            anchor, with its farthest positive and nearest negative.
        self_positive: Count each anchor as its own positive (distance 0), as the peer does; ``False`` uses
            only other sequences of the same label.
    """

    default_input = "embeddings"

    def __init__(self, margin: float = 0.2, mining: str = "all", self_positive: bool = True) -> None:
        super().__init__()
        if mining not in ("all", "batch_hard"):
            raise ValueError(f"mining: expected 'all' or 'batch_hard', got {mining!r}")
        self.margin, self.mining, self.self_positive = float(margin), mining, bool(self_positive)

    def forward(
        self, embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss (0-dim) and stats ``loss``, ``nonzero_frac``, ``mean_dist``, ``pos_dist``, ``neg_dist``.

        Args:
            embeddings: ``[n, c, p]`` (``[n, c]`` is taken as one part).
            labels: ``[n]`` integer labels.
        """
        if embeddings.dim() == 2:
            embeddings = embeddings.unsqueeze(-1)
        if embeddings.dim() != 3 or labels.shape != (embeddings.shape[0],):
            raise ValueError(
                f"triplet: expected embeddings [n, c, p] and labels [n], got "
                f"{list(embeddings.shape)} and {list(labels.shape)}"
            )
        x = embeddings.to(torch.promote_types(embeddings.dtype, torch.float32)).permute(2, 0, 1)  # [p, n, c]
        dist = part_euclidean_distances(x)  # [p, n, n]
        same = labels.unsqueeze(1) == labels.unsqueeze(0)  # [n, n]
        pos_mask = (
            same
            if self.self_positive
            else same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        )
        neg_mask = ~same
        if self.mining == "all":
            loss_sum, nonzero, total = self._all_triplets(dist, labels)
        else:
            loss_sum, nonzero, total = self._batch_hard(dist, pos_mask, neg_mask)
        part_loss = torch.where(nonzero > 0, loss_sum / nonzero.clamp_min(1), torch.zeros_like(loss_sum))
        loss = part_loss.mean() + 0.0 * dist.sum()  # keeps the graph connected when no triplet is active
        with torch.no_grad():
            stats = {
                "loss": float(loss.detach()),
                "nonzero_frac": float(nonzero.sum() / max(total * dist.shape[0], 1)),
                "mean_dist": float(dist.mean()),
                "pos_dist": float(dist[:, pos_mask].mean()) if pos_mask.any() else 0.0,
                "neg_dist": float(dist[:, neg_mask].mean()) if neg_mask.any() else 0.0,
            }
        return loss, stats

    def _all_triplets(
        self, dist: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Per-part sum and count of non-zero hinge terms over all triplets, grouped by label."""
        p = dist.shape[0]
        loss_sum = dist.new_zeros(p)
        nonzero = dist.new_zeros(p)
        total = 0
        for label in torch.unique(labels):
            members = (labels == label).nonzero().squeeze(1)
            others = (labels != label).nonzero().squeeze(1)
            k, m = members.numel(), others.numel()
            if m == 0 or (k == 1 and not self.self_positive):
                continue
            rows = dist[:, members]  # [p, k, n]
            ap = rows[:, :, members]  # [p, k, k]
            if not self.self_positive:
                off_diagonal = ~torch.eye(k, dtype=torch.bool, device=dist.device)
                ap = ap[:, off_diagonal].reshape(p, k, k - 1)
            an = rows[:, :, others]  # [p, k, m]
            hinge = F.relu(ap.unsqueeze(3) - an.unsqueeze(2) + self.margin)  # [p, k, k(-1), m]
            loss_sum = loss_sum + hinge.sum(dim=(1, 2, 3))
            nonzero = nonzero + (hinge > 0).sum(dim=(1, 2, 3))
            total += hinge[0].numel()
        return loss_sum, nonzero, total

    def _batch_hard(
        self, dist: torch.Tensor, pos_mask: torch.Tensor, neg_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Per-part sum and count of non-zero hinge terms, one per anchor (hardest positive and negative)."""
        valid = pos_mask.any(1) & neg_mask.any(1)  # [n] anchors with a positive and a negative
        hardest_pos = dist.masked_fill(~pos_mask, float("-inf")).amax(-1)  # [p, n]
        hardest_neg = dist.masked_fill(~neg_mask, float("inf")).amin(-1)  # [p, n]
        hinge = F.relu(hardest_pos[:, valid] - hardest_neg[:, valid] + self.margin)  # [p, n_valid]
        return hinge.sum(-1), (hinge > 0).sum(-1).to(dist.dtype), int(valid.sum())
