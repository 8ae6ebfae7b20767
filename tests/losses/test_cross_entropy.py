"""CrossEntropyLoss against a naive Python-loop reference."""

from __future__ import annotations

import math

import pytest
import torch

from gaitforge.losses import CrossEntropyLoss


def naive(logits: torch.Tensor, labels: list[int], scale: float, eps: float) -> tuple[float, float]:
    n, classes, p = logits.shape
    total, correct = 0.0, 0
    for i in range(n):
        for k in range(p):
            z = [scale * float(logits[i, c, k]) for c in range(classes)]
            m = max(z)
            log_norm = m + math.log(sum(math.exp(v - m) for v in z))
            logp = [v - log_norm for v in z]
            total += -(1 - eps) * logp[labels[i]] - eps / classes * sum(logp)
            correct += int(max(range(classes), key=lambda c: z[c]) == labels[i])
    return total / (n * p), correct / (n * p)


@pytest.mark.parametrize("scale,eps", [(16.0, 0.1), (1.0, 0.0), (4.0, 0.3)])
@pytest.mark.parametrize("parts", [1, 5])
def test_matches_naive_reference(scale: float, eps: float, parts: int) -> None:
    torch.manual_seed(0)
    logits = torch.rand(6, 7, parts, dtype=torch.float64) * 2 - 1
    labels = [0, 3, 6, 3, 1, 1]
    loss, stats = CrossEntropyLoss(scale, eps)(logits, torch.tensor(labels))
    ref_loss, ref_acc = naive(logits, labels, scale, eps)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-9)
    assert stats["accuracy"] == pytest.approx(ref_acc)
    assert stats["loss"] == pytest.approx(ref_loss, rel=1e-9)


def test_two_dim_logits_perfect_accuracy_and_zero_logits() -> None:
    logits = torch.eye(4) * 5
    loss2, stats = CrossEntropyLoss(1.0, 0.0)(logits, torch.arange(4))
    assert stats["accuracy"] == 1.0
    loss3, _ = CrossEntropyLoss(1.0, 0.0)(logits.unsqueeze(-1), torch.arange(4))
    assert loss2.item() == pytest.approx(loss3.item())
    zero, _ = CrossEntropyLoss()(torch.zeros(3, 5, 2, requires_grad=True), torch.tensor([0, 1, 2]))
    assert zero.item() == pytest.approx(math.log(5))  # uniform prediction, any smoothing


def test_half_precision_logits_are_upcast() -> None:
    logits = torch.randn(4, 6, 3)
    a, _ = CrossEntropyLoss()(logits, torch.tensor([0, 1, 2, 3]))
    b, _ = CrossEntropyLoss()(logits.half(), torch.tensor([0, 1, 2, 3]))
    assert b.dtype == torch.float32 and b.item() == pytest.approx(a.item(), rel=1e-2)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        CrossEntropyLoss()(torch.randn(2, 3, 1), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"\[n, N, p\]"):
        CrossEntropyLoss()(torch.randn(2, 3, 1), torch.tensor([0]))
