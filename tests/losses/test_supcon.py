"""SupConLoss against a naive loop, against the field's SupCon formula, and through the loss collection."""

from __future__ import annotations

import math

import pytest
import torch

from gaitforge.losses import LOSSES, build_losses
from gaitforge.losses.supcon import SupConLoss
from gaitforge.models.base import ModelOutput


def naive(emb: torch.Tensor, labels: list[int], temperature: float, similarity: str) -> float:
    """Loops over views-flattened anchors: -mean over positives of log softmax over all other anchors."""
    n, _, v = emb.shape
    z = [emb[i, :, k] / emb[i, :, k].norm() for k in range(v) for i in range(n)]
    lab = [labels[i] for _ in range(v) for i in range(n)]

    def sim(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(a @ b) if similarity == "cosine" else -float((a - b).norm())

    losses = []
    for i in range(len(z)):
        others = [j for j in range(len(z)) if j != i]
        pos = [j for j in others if lab[j] == lab[i]]
        if not pos:
            continue
        log_den = math.log(sum(math.exp(sim(z[i], z[j]) / temperature) for j in others))
        losses.append(-sum(sim(z[i], z[p]) / temperature - log_den for p in pos) / len(pos))
    return sum(losses) / len(losses)


@pytest.mark.parametrize("similarity", ["cosine", "euclidean"])
@pytest.mark.parametrize("views", [1, 2])
def test_against_naive_loop(similarity: str, views: int) -> None:
    g = torch.Generator().manual_seed(views)
    emb = torch.randn(6, 5, views, generator=g, dtype=torch.float64)
    labels = [0, 0, 1, 1, 2, 3]  # label 3 has no positive with one view
    loss, stats = SupConLoss(temperature=0.5, similarity=similarity)(emb, torch.tensor(labels))
    assert float(loss) == pytest.approx(naive(emb, labels, 0.5, similarity), rel=1e-6)
    assert stats["anchors"] == (4 if views == 1 else 12)  # labels 2 and 3 have no positive with one view


def _khosla(features: torch.Tensor, labels: torch.Tensor, t: float, base_t: float) -> torch.Tensor:
    """The field's formula ("all" contrast mode) on [bsz, n_views, dim] normalised features."""
    bsz, views, _ = features.shape
    mask = (labels[:, None] == labels[None, :]).float().repeat(views, views)
    contrast = torch.cat(torch.unbind(features, dim=1))
    logits = contrast @ contrast.T / t
    logits = logits - logits.max(dim=1, keepdim=True).values
    self_mask = 1 - torch.eye(bsz * views)
    mask = mask * self_mask
    log_prob = logits - torch.log((torch.exp(logits) * self_mask).sum(1, keepdim=True))
    return (-(t / base_t) * (mask * log_prob).sum(1) / mask.sum(1)).mean()


def test_matches_the_field_formula_with_two_views() -> None:
    g = torch.Generator().manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(8, 16, 2, generator=g), dim=1)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 4])
    loss, _ = SupConLoss(temperature=0.01, base_temperature=0.07)(emb, labels)
    torch.testing.assert_close(loss, _khosla(emb.permute(0, 2, 1), labels, 0.01, 0.07), rtol=1e-5, atol=1e-5)


def test_gradient_pulls_positives_together() -> None:
    emb = torch.tensor([[[1.0], [0.0]], [[0.6], [0.8]], [[-1.0], [0.1]]], requires_grad=True)
    loss, _ = SupConLoss(temperature=0.5)(emb, torch.tensor([0, 0, 1]))
    loss.backward()
    step = emb - 0.1 * emb.grad
    cos_before = torch.nn.functional.cosine_similarity(emb[0, :, 0], emb[1, :, 0], dim=0)
    cos_after = torch.nn.functional.cosine_similarity(step[0, :, 0], step[1, :, 0], dim=0)
    assert cos_after > cos_before


def test_parts_mean_and_no_positive() -> None:
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(4, 3, 2, generator=g)
    labels = torch.tensor([0, 0, 1, 1])
    per_part = SupConLoss(parts="mean")
    loss, _ = per_part(emb, labels)
    expected = (per_part(emb[:, :, :1], labels)[0] + per_part(emb[:, :, 1:], labels)[0]) / 2
    torch.testing.assert_close(loss, expected)
    zero, stats = SupConLoss()(emb[:, :, :1], torch.tensor([0, 1, 2, 3]))
    assert float(zero) == 0.0 and stats["anchors"] == 0


def test_registered_and_configurable() -> None:
    assert "supcon" in LOSSES
    collection = build_losses([{"name": "supcon", "temperature": 0.01, "similarity": "euclidean"}])
    emb = torch.randn(4, 8, 1)
    total, stats = collection(ModelOutput(embeddings=emb), torch.tensor([0, 0, 1, 1]))
    assert torch.isfinite(total) and "supcon/loss" in stats
    with pytest.raises(ValueError, match="similarity"):
        SupConLoss(similarity="dot")
    with pytest.raises(ValueError, match=r"expected embeddings \[n, c, v\] and labels \[n\]"):
        SupConLoss()(torch.randn(4, 8, 1, 1), torch.zeros(4))
