"""Building blocks of protocol declarations: type sets, conditions, options, the protocol base class."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..data import EvalData
from ..distance import DEFAULT_MEMORY_LIMIT_MB, METRICS
from ..results import EvaluationResult

__all__ = ["TypeSet", "Condition", "ScoreOptions", "Protocol", "SkipLog", "types_summary"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TypeSet:
    """The sequence types that make up a probe or gallery set.

    Attributes:
        types: Type names (``"nm-01"``) or, with ``match="substring"``, fragments (``"bg"``).
        match: ``"exact"``: a row belongs when its type equals one of ``types``; ``"substring"``: when one of
            ``types`` occurs inside its type (SUSTech1K: ``"bg"`` selects ``01-bg`` and ``02-bg``).
    """

    types: tuple[str, ...]
    match: str = "exact"

    def __post_init__(self) -> None:
        if self.match not in ("exact", "substring"):
            raise ValueError(f"TypeSet.match must be 'exact' or 'substring', got {self.match!r}")

    def mask(self, types: np.ndarray) -> np.ndarray:
        """bool ``[N]``: rows whose type belongs to the set."""
        if self.match == "exact":
            return np.isin(types, list(self.types))
        out = np.zeros(len(types), dtype=bool)
        for fragment in self.types:
            out |= np.char.find(types.astype(str), fragment) >= 0
        return out

    def describe(self) -> str:
        sep = "/"
        return sep.join(self.types) + (" (substring)" if self.match == "substring" else "")


@dataclass(frozen=True)
class Condition:
    """One reported condition (a row of the results table).

    Attributes:
        name: The name the peer reports it under (``"NM"``, ``"Bag"``, ``"CL"``).
        probe: Probe types.
        gallery: Gallery types when the condition has its own gallery (CCPG); else the protocol's gallery.
    """

    name: str
    probe: TypeSet
    gallery: TypeSet | None = None


@dataclass(frozen=True)
class ScoreOptions:
    """Run-time choices of one scoring call.

    Attributes:
        metric: ``"euc"`` or ``"cos"``.
        rerank: k-reciprocal re-ranking (HID submission only).
        partition: Partition dict (``PROBE_SET`` / ``GALLERY_SET``) for the partition-based protocols.
        submission_path: Where a submission protocol writes its CSV (``None``: rows stay in the result).
        memory_limit_mb: Working-memory cap of the distance chunks.
        chunk_rows: Force the probe chunk size (tests); ``None`` derives it from the cap.
    """

    metric: str = "euc"
    rerank: bool = False
    partition: dict[str, Any] | None = None
    submission_path: Path | None = None
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB
    chunk_rows: int | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.submission_path is not None:
            object.__setattr__(self, "submission_path", Path(os.fspath(self.submission_path)))


class SkipLog:
    """Collects documented, counted exclusions for ``counts["skipped"]`` and notes for the result."""

    def __init__(self) -> None:
        self.skipped: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def skip(self, what: str, count: int, reason: str, **details: Any) -> None:
        if count <= 0:
            return
        entry = {"what": what, "count": int(count), "reason": reason, **details}
        self.skipped.append(entry)
        logger.info("skipped %d %s: %s", count, what, reason)

    def note(self, text: str) -> None:
        self.notes.append(text)
        logger.info("%s", text)


def types_summary(values: np.ndarray, limit: int = 12) -> list[str]:
    """Sorted distinct values, at most ``limit`` (for error messages)."""
    uniq = sorted(set(np.asarray(values).tolist()))
    return uniq[:limit] + ([f"... ({len(uniq)} in all)"] if len(uniq) > limit else [])


@dataclass(frozen=True)
class Protocol:
    """Base of every protocol declaration: what the dataset is and how to find it by name.

    Attributes:
        name: Registry name (``"casia-b"``).
        dataset: The dataset's usual spelling (``"CASIA-B"``).
        aliases: Other dataset spellings that select this protocol.
        description: One line for listings.
    """

    name: str
    dataset: str
    aliases: tuple[str, ...] = field(default=(), kw_only=True)
    description: str = field(default="", kw_only=True)

    family: ClassVar[str] = "base"
    uses_partition: ClassVar[bool] = False
    supports_rerank: ClassVar[bool] = False

    def cross_view_variant(self) -> Protocol | None:
        """The cross-view-gallery variant of this protocol, if it has one."""
        return None

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def _scan(data: EvalData, options: ScoreOptions, reducers: list, probe_rows: np.ndarray,
              gallery_rows: np.ndarray) -> None:
        """Stream the probe × gallery distances of ``data`` through ``reducers`` in bounded memory."""
        from ..streaming import scan

        scan(data.embeddings, data.embeddings, options.metric, reducers, options.memory_limit_mb,
             options.chunk_rows, probe_rows=probe_rows, gallery_rows=gallery_rows)

    def _result(
        self, options: ScoreOptions, log: SkipLog, settings: dict[str, Any] | None = None, **kwargs: Any
    ) -> EvaluationResult:
        counts = kwargs.pop("counts", {})
        counts["skipped"] = log.skipped
        run = {"memory_limit_mb": options.memory_limit_mb, **(settings or {})}
        return EvaluationResult(
            protocol=self.name,
            dataset=self.dataset,
            family=self.family,
            metric=options.metric,
            counts=counts,
            notes=log.notes,
            options=run,
            **kwargs,
        )


def require_rows(
    mask: np.ndarray, what: str, data: EvalData, sets: Sequence[TypeSet], field_name: str = "types"
) -> None:
    """Raise a clear error when a protocol finds no rows for a required set."""
    if not mask.any():
        found = types_summary(getattr(data, field_name))
        wanted = ", ".join(s.describe() for s in sets)
        raise ValueError(
            f"{data.source}: no {what} rows for this protocol: expected {field_name} {wanted}; found {found}"
        )
