"""TripletLoss against a naive Python-loop reference."""

from __future__ import annotations

import math

import pytest
import torch

from gaitforge.losses import TripletLoss


def _dist(e: torch.Tensor, i: int, j: int, k: int) -> float:
    return math.sqrt(sum((float(e[i, c, k]) - float(e[j, c, k])) ** 2 for c in range(e.shape[1])))


def naive(
    e: torch.Tensor, labels: list[int], margin: float, mining: str, self_positive: bool
) -> tuple[float, float]:
    """(loss, fraction of non-zero terms) by explicit loops over parts, anchors, positives and negatives."""
    n, _, p = e.shape
    part_losses, nonzero, total = [], 0, 0
    for k in range(p):
        terms = []
        for a in range(n):
            pos = [j for j in range(n) if labels[j] == labels[a] and (self_positive or j != a)]
            neg = [j for j in range(n) if labels[j] != labels[a]]
            if not pos or not neg:
                continue
            if mining == "all":
                terms += [max(0.0, _dist(e, a, q, k) - _dist(e, a, m, k) + margin) for q in pos for m in neg]
            else:
                hp = max(_dist(e, a, q, k) for q in pos)
                hn = min(_dist(e, a, m, k) for m in neg)
                terms.append(max(0.0, hp - hn + margin))
        active = [t for t in terms if t > 0]
        part_losses.append(sum(active) / len(active) if active else 0.0)
        nonzero += len(active)
        total += len(terms)
    return sum(part_losses) / p, nonzero / max(total, 1)


LABELS = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]  # unequal group sizes, one singleton


@pytest.mark.parametrize("mining", ["all", "batch_hard"])
@pytest.mark.parametrize("self_positive", [True, False])
@pytest.mark.parametrize("margin", [0.2, 3.0])
def test_matches_naive_reference(mining: str, self_positive: bool, margin: float) -> None:
    torch.manual_seed(0)
    e = torch.randn(len(LABELS), 4, 3, dtype=torch.float64)
    loss, stats = TripletLoss(margin, mining, self_positive)(e, torch.tensor(LABELS))
    ref_loss, ref_frac = naive(e, LABELS, margin, mining, self_positive)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-9, abs=1e-12)
    assert stats["nonzero_frac"] == pytest.approx(ref_frac)
    assert stats["loss"] == pytest.approx(ref_loss, rel=1e-9)
    n, p = len(LABELS), 3
    pairs = [(a, b) for a in range(n) for b in range(n)]
    assert stats["mean_dist"] == pytest.approx(
        sum(_dist(e, a, b, k) for a, b in pairs for k in range(p)) / (n * n * p)
    )
    neg = [(a, b) for a, b in pairs if LABELS[a] != LABELS[b]]
    assert stats["neg_dist"] == pytest.approx(
        sum(_dist(e, a, b, k) for a, b in neg for k in range(p)) / (len(neg) * p)
    )


@pytest.mark.parametrize("mining", ["all", "batch_hard"])
def test_single_part_and_two_dim_input(mining: str) -> None:
    torch.manual_seed(1)
    e = torch.randn(8, 5, 1, dtype=torch.float64)
    labels = [0, 0, 1, 1, 2, 2, 3, 3]
    loss3, _ = TripletLoss(0.5, mining)(e, torch.tensor(labels))
    loss2, _ = TripletLoss(0.5, mining)(e[:, :, 0], torch.tensor(labels))
    assert loss3.item() == pytest.approx(naive(e, labels, 0.5, mining, True)[0], rel=1e-9)
    assert loss2.item() == loss3.item()


@pytest.mark.parametrize("mining", ["all", "batch_hard"])
def test_all_zero_losses(mining: str) -> None:
    # Well separated identities: every hinge term is 0, so the loss is exactly 0 and backward still works.
    centres = torch.eye(4) * 100
    e = torch.cat([centres[i].repeat(2, 1) for i in range(4)]).unsqueeze(-1).repeat(1, 1, 2)  # [8, 4, 2]
    e = (e + 0.01 * torch.randn_like(e)).requires_grad_()
    loss, stats = TripletLoss(0.2, mining)(e, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    assert loss.item() == 0.0 and stats["nonzero_frac"] == 0.0
    loss.backward()
    assert torch.equal(e.grad, torch.zeros_like(e))


def test_degenerate_batches() -> None:
    e = torch.zeros(4, 3, 2, requires_grad=True)  # identical embeddings: every term equals the margin
    loss, stats = TripletLoss(0.3)(e, torch.tensor([0, 0, 1, 1]))
    assert loss.item() == pytest.approx(0.3) and stats["nonzero_frac"] == 1.0
    loss.backward()
    assert torch.isfinite(e.grad).all()
    same, _ = TripletLoss(0.3)(torch.randn(4, 3, 2), torch.tensor([5, 5, 5, 5]))  # no negatives
    assert same.item() == 0.0


def test_gradient_matches_autograd_of_naive_form() -> None:
    torch.manual_seed(2)
    e = torch.randn(6, 3, 2, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    TripletLoss(1.0, self_positive=False)(e, labels)[0].backward()
    ours = e.grad.clone()
    e.grad = None
    parts = []
    for k in range(2):
        terms = [
            torch.relu((e[a, :, k] - e[q, :, k]).norm() - (e[a, :, k] - e[m, :, k]).norm() + 1.0)
            for a in range(6)
            for q in range(6)
            for m in range(6)
            if labels[q] == labels[a] and q != a and labels[m] != labels[a]
        ]
        active = [t for t in terms if t.item() > 0]
        parts.append(sum(active) / len(active))
    (sum(parts) / 2).backward()
    torch.testing.assert_close(ours, e.grad)


def test_argument_and_shape_errors() -> None:
    with pytest.raises(ValueError, match="mining"):
        TripletLoss(mining="hard")
    with pytest.raises(ValueError, match=r"\[n, c, p\]"):
        TripletLoss()(torch.randn(4, 3, 2), torch.tensor([0, 1]))
