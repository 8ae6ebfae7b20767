"""The scoring entry point: precomputed embeddings in, one :class:`EvaluationResult` out."""

from __future__ import annotations

import logging
import os
from typing import Any

from .data import EvalData, make_eval_data
from .distance import DEFAULT_MEMORY_LIMIT_MB
from .protocols import get_protocol, list_protocols
from .protocols.base import ScoreOptions
from .results import EvaluationResult

__all__ = ["score_embeddings", "score_data"]

logger = logging.getLogger(__name__)


def score_data(
    protocol: str,
    data: EvalData,
    metric: str = "euc",
    cross_view_gallery: bool = False,
    rerank: bool = False,
    partition: dict[str, Any] | None = None,
    submission_path: str | os.PathLike[str] | None = None,
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB,
    chunk_rows: int | None = None,
) -> EvaluationResult:
    """Like :func:`score_embeddings` for an already validated :class:`EvalData`."""
    try:
        proto = get_protocol(protocol)
    except KeyError:
        raise ValueError(
            f"unknown protocol {protocol!r}; expected one of: {', '.join(list_protocols())}"
        ) from None
    if cross_view_gallery:
        variant = proto.cross_view_variant()
        if variant is None:
            with_variant = [n for n in list_protocols() if get_protocol(n).cross_view_variant() is not None]
            raise ValueError(
                f"protocol {protocol!r} has no cross-view-gallery variant (available for: "
                f"{', '.join(with_variant)})"
            )
        proto = variant
    if rerank and not proto.supports_rerank:
        raise ValueError(f"re-ranking is defined for hid-submission only, not {protocol!r}")
    if partition is not None and not proto.uses_partition:
        logger.info("protocol %s does not use a partition; ignoring it", protocol)
    options = ScoreOptions(
        metric=metric,
        rerank=rerank,
        partition=partition,
        submission_path=submission_path,
        memory_limit_mb=memory_limit_mb,
        chunk_rows=chunk_rows,
    )
    logger.info("scoring %d rows of %s with protocol %s (%s)", data.num_rows, data.source, proto.name, metric)
    return proto.evaluate(data, options)


def score_embeddings(
    protocol: str,
    embeddings: Any,
    labels: Any,
    types: Any,
    views: Any,
    metric: str = "euc",
    cross_view_gallery: bool = False,
    rerank: bool = False,
    partition: dict[str, Any] | None = None,
    submission_path: str | os.PathLike[str] | None = None,
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB,
) -> EvaluationResult:
    """Evaluate precomputed embeddings under a named protocol, in bounded memory.

    Args:
        protocol: One of ``casia-b``, ``oumvlp``, ``casia-e``, ``sustech1k``, ``grew``, ``grew-submission``,
            ``hid-submission``, ``gait3d``, ``ccgr-mini``, ``ccgr``, ``ccgr-easy``, ``freegait``, ``ccpg``,
            ``scoliosis1k``.
        embeddings: ``[N, C, P]`` float32 (numpy array or tensor); class logits ``[N, K, P]`` for scoliosis1k.
        labels: ``[N]`` identity labels (strings).
        types: ``[N]`` sequence types.
        views: ``[N]`` view names (GREW/HID: video ids).
        metric: ``"euc"`` or ``"cos"``.
        cross_view_gallery: Use the cross-view-gallery variant (casia-b, oumvlp).
        rerank: k-reciprocal re-ranking (hid-submission).
        partition: Partition dict with ``PROBE_SET`` (gait3d, freegait) or ``GALLERY_SET`` (ccgr-mini).
        submission_path: Where submission protocols write their CSV (never the working directory implicitly).
        memory_limit_mb: Cap on the working memory of one distance chunk.

    Returns:
        :class:`EvaluationResult` (print it for the table, ``save_json`` for the file).

    Raises:
        ValueError: bad input (lengths, NaN/inf, rank), unknown protocol, missing partition, no probe or
            gallery rows.
    """
    data = make_eval_data(embeddings, labels, types, views)
    return score_data(
        protocol, data, metric, cross_view_gallery, rerank, partition, submission_path, memory_limit_mb
    )
