"""LossCollection: config → losses, routing of ModelOutput fields, weights, errors."""

from __future__ import annotations

import pytest
import torch

from gaitforge.losses import LOSSES, CrossEntropyLoss, LossCollection, LossTerm, TripletLoss, build_losses
from gaitforge.models.base import ModelOutput

CONFIG = [
    {"name": "triplet", "weight": 0.5, "input": "bnneck_embeddings", "margin": 0.3},
    {"name": "ce", "weight": 2.0, "input": "logits", "scale": 8, "label_smoothing": 0.0},
]


def _output() -> tuple[ModelOutput, torch.Tensor]:
    torch.manual_seed(0)
    out = ModelOutput(
        embeddings=torch.randn(6, 4, 3),
        logits=torch.randn(6, 5, 3),
        extras={"bnneck_embeddings": torch.randn(6, 4, 3)},
    )
    return out, torch.tensor([0, 0, 1, 1, 2, 2])


def test_registry_names() -> None:
    assert {"triplet", "ce"} <= set(LOSSES.names())


def test_routes_fields_with_weights() -> None:
    out, labels = _output()
    losses = build_losses(CONFIG)
    total, stats = losses(out, labels)
    trip, trip_stats = TripletLoss(0.3)(out.extras["bnneck_embeddings"], labels)
    ce, ce_stats = CrossEntropyLoss(8, 0.0)(out.logits, labels)
    assert total.item() == pytest.approx(0.5 * trip.item() + 2.0 * ce.item(), rel=1e-6)
    assert stats["total"] == pytest.approx(total.item())
    assert stats["triplet/loss"] == pytest.approx(trip_stats["loss"])
    assert stats["triplet/nonzero_frac"] == trip_stats["nonzero_frac"]
    assert stats["ce/accuracy"] == ce_stats["accuracy"]
    assert all(isinstance(v, float) for v in stats.values())


def test_default_inputs_weights_and_duplicate_names() -> None:
    out, labels = _output()
    losses = LossCollection.from_config(
        [{"name": "triplet"}, {"name": "ce"}, {"name": "triplet", "margin": 1.0}]
    )
    total, stats = losses(out, labels)
    expected = (
        TripletLoss()(out.embeddings, labels)[0]
        + CrossEntropyLoss()(out.logits, labels)[0]
        + TripletLoss(1.0)(out.embeddings, labels)[0]
    )
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert "triplet2/loss" in stats and "triplet/loss" in stats


def test_backward_through_collection() -> None:
    emb = torch.randn(4, 3, 2, requires_grad=True)
    logits = torch.randn(4, 5, 2, requires_grad=True)
    total, _ = build_losses(CONFIG[1:] + [{"name": "triplet"}])(
        ModelOutput(emb, logits), torch.tensor([0, 0, 1, 1])
    )
    total.backward()
    assert emb.grad is not None and logits.grad is not None and logits.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "config,error,pattern",
    [
        (
            [{"name": "triplet"}, {"name": "focal"}],
            KeyError,
            r"losses\[1\]\.name: unknown loss 'focal'.*ce, .*triplet",
        ),
        (
            [{"name": "triplet", "marign": 0.2}],
            KeyError,
            r"losses\[0\]\.marign: unknown argument for loss 'triplet'",
        ),
        ([{"name": "ce"}, {"weight": 1.0}], KeyError, r"losses\[1\]\.name: missing"),
        ([{"name": "ce", "weight": "1"}], TypeError, r"losses\[0\]\.weight: expected a number"),
        ([{"name": "triplet", "mining": "semi"}], ValueError, r"losses\[0\] \(triplet\): mining"),
        (["triplet"], TypeError, r"losses\[0\]: expected a mapping"),
        ({"name": "triplet"}, TypeError, r"losses: expected a list"),
        ([], ValueError, "at least one loss"),
    ],
)
def test_config_errors(config, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        LossCollection.from_config(config)


def test_missing_field_names_the_entry() -> None:
    losses = LossCollection.from_config([{"name": "triplet"}, {"name": "ce"}])
    with pytest.raises(KeyError, match=r"losses\[1\] \(ce\)\.input: this model returns no logits"):
        losses(ModelOutput(torch.randn(4, 3, 1)), torch.tensor([0, 0, 1, 1]))
    odd = LossCollection([LossTerm("t", TripletLoss(), input="nope")])
    with pytest.raises(KeyError, match=r"losses\[0\] \(t\)\.input: model output has no field 'nope'"):
        odd(ModelOutput(torch.randn(4, 3, 1)), torch.tensor([0, 0, 1, 1]))


def test_a_loss_can_read_labels_from_the_model_output() -> None:
    """ScoNet's cross-entropy reads the diagnosis labels (from metadata), the triplet the identities."""
    losses = LossCollection.from_config(
        [{"name": "triplet"}, {"name": "ce", "input": "logits", "labels": "diagnosis_labels"}]
    )
    logits = torch.randn(4, 3, 2)
    diagnosis = torch.tensor([2, 0, 1, 2])
    out = ModelOutput(torch.randn(4, 3, 2), logits, extras={"diagnosis_labels": diagnosis})
    total, stats = losses(out, torch.tensor([0, 0, 1, 1]))
    ce_alone, _ = LossCollection.from_config([{"name": "ce", "input": "logits"}])(out, diagnosis)
    assert stats["ce/loss"] == pytest.approx(float(ce_alone))
    with pytest.raises(KeyError, match=r"losses\[1\] \(ce\)\.labels: the model output has no 'diagnosis_labels'"):
        losses(ModelOutput(out.embeddings, logits), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(TypeError, match=r"losses\[0\]\.labels: expected the name"):
        LossCollection.from_config([{"name": "ce", "labels": 3}])
