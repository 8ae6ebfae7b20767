"""The one object every protocol returns: prints as the familiar table, saves as JSON."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.utils.atomic import atomic_write_text

__all__ = ["EvaluationResult", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Plain-Python copy of ``value``: numpy scalars/arrays → floats/lists, NaN/inf → ``None`` (JSON null)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass
class EvaluationResult:
    """Everything one protocol run produced.

    Attributes:
        protocol: Registry name (``"casia-b"``).
        dataset: Dataset name (``"CASIA-B"``).
        family: Protocol family (``"single_view"``, ``"cross_view"``, ``"retrieval"``, ``"real_scene"``,
            ``"ccpg"``, ``"submission"``, ``"classification"``).
        metric: ``"euc"`` or ``"cos"``.
        figures: The peer's return value, under the peer's exact keys (``scalar/test_accuracy/NM@R1``), in
            percent. Matrices (CCPG) are nested lists. ``None`` where the figure is undefined.
        extra: Further figures the peer only logs or does not compute (rank-5 curves, re-ID numbers, ...).
        per_view: Condition → ``{"probe_views", "gallery_views", per-probe-view lists, "matrix", ...}``.
        cmc: Curve name → CMC in percent for ranks 1..K.
        counts: Probe / gallery sizes and ``skipped`` (what, count, reason).
        notes: Where and why gaitforge departs from the peer on this input.
        submission: Submission protocols: ``{"path", "header", "num_rows"}`` (rows: ``submission_rows``).
        options: The scoring options that matter for reproduction.
    """

    protocol: str
    dataset: str
    family: str
    metric: str
    figures: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    per_view: dict[str, dict[str, Any]] = field(default_factory=dict)
    cmc: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    submission: dict[str, Any] | None = None
    submission_rows: list[list[str]] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        """A figure by its peer key (``result["scalar/test_accuracy/NM@R1"]``) or an extra figure."""
        if key in self.figures:
            return self.figures[key]
        if key in self.extra:
            return self.extra[key]
        raise KeyError(f"no figure {key!r}; available: {sorted(self.figures) + sorted(self.extra)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN → null). Submission rows are not included (they go to the CSV)."""
        out = {
            "protocol": self.protocol,
            "dataset": self.dataset,
            "family": self.family,
            "metric": self.metric,
            "options": self.options,
            "figures": self.figures,
            "extra": self.extra,
            "per_view": self.per_view,
            "cmc": self.cmc,
            "counts": self.counts,
            "notes": self.notes,
        }
        if self.submission is not None:
            out["submission"] = self.submission
        return to_jsonable(out)

    def save_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` to ``path`` atomically; returns the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")

    def format_table(self) -> str:
        """The results as a plain-text table (what ``print(result)`` shows)."""
        from .tables import format_result

        return format_result(self)

    def __str__(self) -> str:
        return self.format_table()
