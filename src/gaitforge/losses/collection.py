"""Weighted sum of losses, each fed the ``ModelOutput`` field it names, so recipes are written in config:

[{"name": "triplet", "weight": 1.0, "input": "embeddings", "margin": 0.2},
 {"name": "ce", "weight": 1.0, "input": "logits", "scale": 16, "label_smoothing": 0.1}]
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gaitforge.models.base import ModelOutput
from gaitforge.registry import Registry

__all__ = ["LOSSES", "LossTerm", "LossCollection", "build_losses"]

logger = logging.getLogger(__name__)

LOSSES: Registry[type[nn.Module]] = Registry("loss")
LOSSES.register("triplet", "gaitforge.losses.triplet:TripletLoss")
LOSSES.register("ce", "gaitforge.losses.cross_entropy:CrossEntropyLoss")

_ENTRY_KEYS = ("name", "weight", "input", "labels")


@dataclass
class LossTerm:
    """One weighted loss of a collection.

    Attributes:
        name: Prefix of its stats (``"<name>/loss"``).
        loss: Module called as ``loss(tensor, labels) -> (loss, stats)``.
        weight: Factor in the total.
        input: ``ModelOutput`` field it reads (``embeddings``, ``logits`` or an extras key); ``None``
            takes the loss's ``default_input``.
        labels: ``ModelOutput`` extras key holding this loss's ``[B]`` labels when they are not the identities
            (e.g. ScoNet's ``diagnosis_labels``, read from each sequence's metadata); ``None``: the batch labels.
    """

    name: str
    loss: nn.Module
    weight: float = 1.0
    input: str | None = None
    labels: str | None = None


class LossCollection(nn.Module):
    """Sum of weighted losses over named model outputs.

    Args:
        terms: The losses; names must be unique.
    """

    def __init__(self, terms: Sequence[LossTerm]) -> None:
        super().__init__()
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"loss names must be unique, got {names}")
        if not terms:
            raise ValueError("a loss collection needs at least one loss")
        self.terms = list(terms)
        self.losses = nn.ModuleList(
            t.loss for t in terms
        )  # registered so .to(device) and state_dict see them

    @classmethod
    def from_config(cls, config: Sequence[Mapping[str, Any]]) -> LossCollection:
        """Build from a list of entries ``{"name", "weight"?, "input"?, **loss_kwargs}``.

        Raises:
            KeyError: Unknown loss name or argument; the message names ``losses[i].key``.
            TypeError: An entry is not a mapping, or a weight is not a number.
        """
        if isinstance(config, Mapping) or not isinstance(config, Sequence):
            raise TypeError(f"losses: expected a list of entries, got {type(config).__name__}")
        terms, seen = [], {}
        for i, entry in enumerate(config):
            if not isinstance(entry, Mapping):
                raise TypeError(f"losses[{i}]: expected a mapping with a 'name', got {type(entry).__name__}")
            if "name" not in entry:
                raise KeyError(f"losses[{i}].name: missing; expected one of: {', '.join(LOSSES.names())}")
            name = str(entry["name"])
            if name not in LOSSES:
                raise KeyError(
                    f"losses[{i}].name: unknown loss {name!r}; expected one of: {', '.join(LOSSES.names())}"
                )
            cls_ = LOSSES.get(name)
            accepted = [p for p in inspect.signature(cls_).parameters if p not in ("self", "args", "kwargs")]
            kwargs = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
            for key in kwargs:
                if key not in accepted:
                    raise KeyError(
                        f"losses[{i}].{key}: unknown argument for loss {name!r}; accepted: "
                        f"{', '.join(list(_ENTRY_KEYS) + accepted)}"
                    )
            weight = entry.get("weight", 1.0)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise TypeError(f"losses[{i}].weight: expected a number, got {weight!r}")
            try:
                loss = cls_(**kwargs)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"losses[{i}] ({name}): {exc}") from exc
            seen[name] = seen.get(name, 0) + 1
            tag = name if seen[name] == 1 else f"{name}{seen[name]}"
            labels_field = entry.get("labels")
            if labels_field is not None and not isinstance(labels_field, str):
                raise TypeError(f"losses[{i}].labels: expected the name of a model output, got {labels_field!r}")
            terms.append(LossTerm(tag, loss, float(weight), entry.get("input"), labels_field))
        return cls(terms)

    def forward(self, output: ModelOutput, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Total weighted loss and stats (``"<name>/<stat>"`` for each loss, plus ``"total"``).

        Args:
            output: The model's output; each loss reads the field it names.
            labels: ``[B]`` class indices.
        """
        total: torch.Tensor | None = None
        stats: dict[str, float] = {}
        for i, term in enumerate(self.terms):
            field = term.input or getattr(term.loss, "default_input", "embeddings")
            try:
                tensor = output.get(field)
            except KeyError as exc:
                raise KeyError(f"losses[{i}] ({term.name}).input: {exc.args[0]}") from exc
            term_labels = labels
            if term.labels is not None:
                if term.labels not in output.extras:
                    raise KeyError(
                        f"losses[{i}] ({term.name}).labels: the model output has no {term.labels!r} "
                        f"(for ScoNet's diagnosis_labels every sequence needs a status in its metadata); "
                        f"available: {sorted(output.extras)}"
                    )
                term_labels = output.extras[term.labels]
            value, term_stats = term.loss(tensor, term_labels)
            stats.update({f"{term.name}/{k}": v for k, v in term_stats.items()})
            total = term.weight * value if total is None else total + term.weight * value
        assert total is not None  # guaranteed by the constructor
        stats["total"] = float(total.detach())
        return total, stats


def build_losses(config: Sequence[Mapping[str, Any]]) -> LossCollection:
    """Alias of :meth:`LossCollection.from_config`."""
    return LossCollection.from_config(config)
