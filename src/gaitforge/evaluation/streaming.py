"""One pass over probe chunks of the distance matrix, feeding several reducers.

Each reducer keeps O(N) per-probe results (ranks, AP, INP, top-k ids) and sees one ``[B, M]`` distance block
at a time; the block size follows the memory cap (see :mod:`gaitforge.evaluation.distance`). Peak memory is
the embeddings plus one block, whatever N and M are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .distance import DEFAULT_MEMORY_LIMIT_MB, PreparedGallery, common_scale, iter_distance_chunks
from .metrics import first_match_positions, ranking_stats, smallest_k

__all__ = ["encode_jointly", "FirstMatchReducer", "RankingReducer", "TopKReducer", "scan"]

logger = logging.getLogger(__name__)


def encode_jointly(*arrays: np.ndarray) -> list[np.ndarray]:
    """Map string arrays to int64 codes that agree across the arrays (equal strings ↔ equal codes)."""
    sizes = [len(a) for a in arrays]
    joined = np.concatenate([np.asarray(a, dtype=str) for a in arrays]) if arrays else np.zeros(0, dtype=str)
    _, codes = np.unique(joined, return_inverse=True)
    out, start = [], 0
    for n in sizes:
        out.append(codes[start : start + n].astype(np.int64))
        start += n
    return out


class _PairMasks:
    """Builds the match / validity masks of a chunk from integer codes."""

    def __init__(
        self,
        probe_labels: np.ndarray,
        gallery_labels: np.ndarray,
        probe_views: np.ndarray | None,
        gallery_views: np.ndarray | None,
    ) -> None:
        self.q_lab = torch.from_numpy(np.asarray(probe_labels, dtype=np.int64))
        self.g_lab = torch.from_numpy(np.asarray(gallery_labels, dtype=np.int64))
        self.exclude_same_view = probe_views is not None and gallery_views is not None
        if self.exclude_same_view:
            self.q_view = torch.from_numpy(np.asarray(probe_views, dtype=np.int64))
            self.g_view = torch.from_numpy(np.asarray(gallery_views, dtype=np.int64))

    def masks(
        self, start: int, stop: int, cols: slice = slice(None)
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        match = self.q_lab[start:stop, None] == self.g_lab[None, cols]
        if not self.exclude_same_view:
            return match, None
        same_view = self.q_view[start:stop, None] == self.g_view[None, cols]
        return match, ~(match & same_view)


class FirstMatchReducer:
    """Rank of the first true match per probe, within each gallery column group.

    Args:
        probe_labels: int64 ``[N]`` identity codes.
        gallery_labels: int64 ``[M]`` identity codes.
        groups: ``(start, stop)`` column ranges (e.g. one per gallery view, gallery sorted by view);
            ``None`` = the whole gallery as one group.
        probe_views / gallery_views: view codes; when both are given, gallery entries with the probe's
            identity AND view are excluded.

    Attributes:
        first: int64 ``[N, G]``; -1 where the group holds no true match.
    """

    bytes_per_element = 8

    def __init__(
        self,
        probe_labels: np.ndarray,
        gallery_labels: np.ndarray,
        groups: Sequence[tuple[int, int]] | None = None,
        probe_views: np.ndarray | None = None,
        gallery_views: np.ndarray | None = None,
    ) -> None:
        self._masks = _PairMasks(probe_labels, gallery_labels, probe_views, gallery_views)
        self.groups = list(groups) if groups is not None else [(0, len(gallery_labels))]
        self.first = np.full((len(probe_labels), len(self.groups)), -1, dtype=np.int64)

    def update(self, start: int, stop: int, dist: torch.Tensor) -> None:
        for g, (c0, c1) in enumerate(self.groups):
            if c1 <= c0:
                continue
            match, valid = self._masks.masks(start, stop, slice(c0, c1))
            self.first[start:stop, g] = first_match_positions(dist[:, c0:c1], match, valid).numpy()


class RankingReducer:
    """First-match rank, AP and INP per probe over the whole gallery (optionally excluding same id + view).

    Attributes:
        first, num_rel, num_valid: int64 ``[N]``.
        ap, inp: float64 ``[N]`` (NaN without a true match).
    """

    bytes_per_element = 24

    def __init__(
        self,
        probe_labels: np.ndarray,
        gallery_labels: np.ndarray,
        probe_views: np.ndarray | None = None,
        gallery_views: np.ndarray | None = None,
    ) -> None:
        self._masks = _PairMasks(probe_labels, gallery_labels, probe_views, gallery_views)
        n = len(probe_labels)
        self.first = np.full(n, -1, dtype=np.int64)
        self.num_rel = np.zeros(n, dtype=np.int64)
        self.num_valid = np.zeros(n, dtype=np.int64)
        self.ap = np.full(n, np.nan)
        self.inp = np.full(n, np.nan)

    def update(self, start: int, stop: int, dist: torch.Tensor) -> None:
        match, valid = self._masks.masks(start, stop)
        stats = ranking_stats(dist, match, valid)
        self.first[start:stop] = stats.first
        self.num_rel[start:stop] = stats.num_rel
        self.num_valid[start:stop] = stats.num_valid
        self.ap[start:stop] = stats.ap
        self.inp[start:stop] = stats.inp


class TopKReducer:
    """The k nearest gallery rows per probe (ties by gallery index).

    Attributes:
        indices: int64 ``[N, k]`` gallery row indices, nearest first.
        values: float32 ``[N, k]`` their distances.
    """

    bytes_per_element = 4

    def __init__(self, num_probes: int, k: int, num_gallery: int) -> None:
        self.k = min(k, num_gallery)
        self.indices = np.zeros((num_probes, self.k), dtype=np.int64)
        self.values = np.zeros((num_probes, self.k), dtype=np.float32)

    def update(self, start: int, stop: int, dist: torch.Tensor) -> None:
        values, idx = smallest_k(dist, self.k)
        self.indices[start:stop] = idx.numpy()
        self.values[start:stop] = values.numpy()


def scan(
    probe: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor | PreparedGallery,
    metric: str,
    reducers: Sequence[FirstMatchReducer | RankingReducer | TopKReducer],
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB,
    chunk_rows: int | None = None,
    probe_rows: np.ndarray | None = None,
    gallery_rows: np.ndarray | None = None,
) -> None:
    """Stream the probe × gallery distances through ``reducers`` chunk by chunk.

    Args:
        probe: ``[N, C, P]``.
        gallery: ``[M, C, P]`` or a :class:`PreparedGallery` built for ``metric``.
        metric: ``"euc"`` or ``"cos"``.
        reducers: Objects with ``update(start, stop, dist)`` and a ``bytes_per_element`` estimate.
        memory_limit_mb: Cap on one chunk's working set.
        chunk_rows: Force the chunk size (tests); ``None`` derives it from the cap.
        probe_rows: Use only these rows of ``probe`` (reducers index probes 0..len-1 in this order); no copy.
        gallery_rows: Use only these rows of ``gallery`` (an array, not a prepared gallery).
    """
    if not isinstance(gallery, PreparedGallery):
        scale = common_scale(probe, gallery) if metric == "euc" else None  # one factor for extreme magnitudes
        gallery = PreparedGallery.from_embeddings(gallery, metric, rows=gallery_rows, scale=scale)
    elif gallery.metric != metric:
        raise ValueError(f"gallery was prepared for {gallery.metric!r}, not {metric!r}")
    elif gallery_rows is not None:
        raise ValueError("gallery_rows needs raw gallery embeddings, not a PreparedGallery")
    bpe = 4 + sum(r.bytes_per_element for r in reducers)
    n = len(probe_rows) if probe_rows is not None else len(probe)
    chunks = iter_distance_chunks(probe, gallery, memory_limit_mb, bpe, chunk_rows, probe_rows)
    # progress only for long runs on a terminal (tqdm's disable=None turns it off when not a TTY)
    big = n * gallery.num_rows * gallery.num_parts > 2e9
    with tqdm(total=n, unit="probe", desc="scoring", leave=False, disable=None if big else True) as bar:
        for start, stop, dist in chunks:
            for reducer in reducers:
                reducer.update(start, stop, dist)
            bar.update(stop - start)
