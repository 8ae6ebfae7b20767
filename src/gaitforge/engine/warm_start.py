"""Warm start: initialise a model from the weights of another run before training (``train.init_from``).

Not a resume: only weights are read (no optimiser, scheduler or iteration). The file may be a gaitforge
checkpoint or a peer OpenGait ``.pt`` (``{"model": ...}`` or a bare state dict); it is read with
``weights_only=True`` through :func:`gaitforge.interop.opengait_checkpoint.read_checkpoint`, so it can hold no
code. This is how the peer trains SwinGait from a DeepGaitV2 checkpoint (``restore_hint: PATH`` with
``restore_ckpt_strict: false``), and how a classifier for another dataset is dropped (``init_skip: ["BNNecks.*"]``).
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gaitforge.config import TrainConfig

__all__ = ["WarmStartError", "WarmStartReport", "apply_warm_start", "warm_start_from_state"]

logger = logging.getLogger(__name__)


class WarmStartError(ValueError):
    """A strict warm start found keys that do not line up; the message lists them. ``report`` has the details."""

    def __init__(self, message: str, report: WarmStartReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class WarmStartReport:
    """What a warm start loaded and what it left alone.

    Attributes:
        source: The file read (empty when no warm start was configured).
        format: ``gaitforge``, ``opengait`` or ``state_dict``.
        loaded: Model keys filled from the file.
        missing: Model keys the file lacks (they keep their initial values).
        unexpected: File keys the model lacks.
        shape_mismatched: ``key → (shape in file, shape in model)``; these keep their initial values.
        skipped: Keys matching ``init_skip`` (in the model or the file), not loaded.
        strict: Whether mismatches were errors.
    """

    source: str = ""
    format: str = ""
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape_mismatched: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    strict: bool = True

    @property
    def applied(self) -> bool:
        """Whether a warm start was configured and done."""
        return bool(self.source)

    @property
    def clean(self) -> bool:
        """No missing, unexpected or mis-shaped key."""
        return not (self.missing or self.unexpected or self.shape_mismatched)

    def summary(self) -> str:
        """One line for logs."""
        if not self.applied:
            return "no warm start"
        return (
            f"warm start from {self.source} ({self.format}): {len(self.loaded)} loaded, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.shape_mismatched)} shape-mismatched, "
            f"{len(self.skipped)} skipped"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "format": self.format,
            "strict": self.strict,
            "loaded": list(self.loaded),
            "missing": list(self.missing),
            "unexpected": list(self.unexpected),
            "shape_mismatched": {k: [list(a), list(b)] for k, (a, b) in self.shape_mismatched.items()},
            "skipped": list(self.skipped),
        }


def _listing(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", … ({len(keys)} in all)" if len(keys) > limit else "")


def warm_start_from_state(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    strict: bool = True,
    skip: list[str] | tuple[str, ...] = (),
    source: str = "<state dict>",
    format: str = "state_dict",
) -> WarmStartReport:
    """Copy matching tensors of ``state`` into ``model`` (see :func:`apply_warm_start`).

    Raises:
        WarmStartError: ``strict`` and a model key is missing from ``state``, ``state`` has a key the model lacks, or
            a shape differs (keys matching ``skip`` excepted); nothing is loaded then.
        ValueError: A ``skip`` pattern matches no key of the model or the file (a typo would otherwise go unnoticed).
    """
    own = model.state_dict()
    for pattern in skip:
        if not any(fnmatch.fnmatchcase(k, pattern) for k in (*own, *state)):
            raise ValueError(
                f"train.init_skip: pattern {pattern!r} matches no key of the model or of {source} "
                f"(model keys look like: {_listing(list(own), 4)})"
            )

    def skipped(key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, p) for p in skip)

    report = WarmStartReport(source=source, format=format, strict=strict)
    report.skipped = sorted({k for k in (*own, *state) if skipped(k)})
    report.missing = [k for k in own if k not in state and not skipped(k)]
    report.unexpected = [k for k in state if k not in own and not skipped(k)]
    usable: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key not in own or skipped(key):
            continue
        if tuple(value.shape) != tuple(own[key].shape):
            report.shape_mismatched[key] = (list(value.shape), list(own[key].shape))
            continue
        usable[key] = value
    report.loaded = [k for k in own if k in usable]
    if strict and not report.clean:
        parts = []
        if report.missing:
            parts.append(f"missing from the file: {_listing(report.missing)}")
        if report.unexpected:
            parts.append(f"not in the model: {_listing(report.unexpected)}")
        if report.shape_mismatched:
            shown = [f"{k} {a} vs {b}" for k, (a, b) in report.shape_mismatched.items()]
            parts.append(f"shape differs (file vs model): {_listing(shown)}")
        raise WarmStartError(
            f"train.init_from: {source} does not fit {type(model).__name__} ({'; '.join(parts)}). Set "
            f"train.init_strict: false to load what fits, or list keys to leave out in train.init_skip "
            f"(e.g. 'BNNecks.*' for another number of classes).",
            report,
        )
    with torch.no_grad():
        for key in report.loaded:
            own[key].copy_(usable[key].to(dtype=own[key].dtype))
    # state_dict() tensors share storage with parameters and buffers, so the copies above are in place.
    logger.info(report.summary())
    for kind in ("missing", "unexpected"):
        keys = getattr(report, kind)
        if keys:
            logger.warning("warm start: %d %s keys: %s", len(keys), kind, _listing(keys))
    if report.shape_mismatched:
        logger.warning(
            "warm start: shape-mismatched keys kept at their initial values: %s",
            _listing(list(report.shape_mismatched)),
        )
    return report


def apply_warm_start(model: nn.Module, train_cfg: TrainConfig) -> WarmStartReport:
    """Load ``train_cfg.init_from`` into ``model`` as configured by ``init_strict`` and ``init_skip``.

    Call it once after building the model and before building the optimiser, and not when resuming (a resume
    restores everything from the run's own checkpoint).

    Args:
        model: The freshly built model.
        train_cfg: The ``train`` section; ``init_from`` empty means no warm start (an empty report).

    Returns:
        The :class:`WarmStartReport`.

    Raises:
        FileNotFoundError: ``init_from`` does not exist.
        ValueError: The file is not a safe, readable checkpoint (or ``init_skip`` matches nothing).
        WarmStartError: Strict and the keys or shapes do not line up.
    """
    if not train_cfg.init_from:
        return WarmStartReport(strict=train_cfg.init_strict)
    from gaitforge.interop.opengait_checkpoint import read_checkpoint

    path = Path(train_cfg.init_from).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"train.init_from: checkpoint {path.resolve()} not found")
    try:
        contents = read_checkpoint(path)
    except ValueError as exc:  # torch's unpickler details span many lines: one line for the command line
        raise ValueError(f"train.init_from: {' '.join(str(exc).split())}") from exc
    return warm_start_from_state(
        model,
        contents.state,
        strict=train_cfg.init_strict,
        skip=list(train_cfg.init_skip),
        source=str(path),
        format=contents.format,
    )
