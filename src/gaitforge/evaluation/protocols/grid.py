"""Shared arithmetic of the view-grid protocols: view lists, per-view-group scans, rounding, averaging.

The peer's rules reproduced here (``../shared/fixtures/opengait/evaluation/README.md``):

* a cell ``acc[v1, v2]`` = ``round(100 * hits / probes, 2)`` with numpy's half-to-even rounding;
* per probe view, the identical-view cell is excluded: ``(sum_v2 acc[v1, v2] - acc[v1, v1]) / (V - 1)``;
* the condition's figure is the unrounded mean of those over probe views.

Where the peer produces NaN or crashes (a probe view without probes, a gallery view without rows), the cell is
undefined (NaN, JSON null) and the averages run over the defined cells only; the protocol notes and counts it.
"""

from __future__ import annotations

import numpy as np

from ..streaming import FirstMatchReducer, encode_jointly, scan

__all__ = ["sorted_views", "grouped_gallery", "first_match_grid", "cell_accuracy", "de_diag", "nan_mean"]


def sorted_views(views: np.ndarray, drop: tuple[str, ...] = ()) -> list[str]:
    """Distinct view names in lexicographic order (the peer's ``sorted(np.unique(view))``), minus ``drop``."""
    return [v for v in sorted(set(np.asarray(views).tolist())) if v not in drop]


def grouped_gallery(
    gallery_rows: np.ndarray, views: np.ndarray, view_list: list[str]
) -> tuple[np.ndarray, list]:
    """Gallery rows sorted by view (stable) and the ``(start, stop)`` range of each view of ``view_list``."""
    rank = {v: i for i, v in enumerate(view_list)}
    codes = np.array([rank[v] for v in views[gallery_rows]], dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    rows = gallery_rows[order]
    bounds = np.searchsorted(codes[order], np.arange(len(view_list) + 1))
    return rows, [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(view_list))]


def first_match_grid(
    embeddings: np.ndarray,
    labels: np.ndarray,
    probe_rows: np.ndarray,
    gallery_rows: np.ndarray,
    groups: list,
    metric: str,
    memory_limit_mb: float,
    chunk_rows: int | None,
) -> np.ndarray:
    """int64 ``[Np, V]``: rank of each probe's first true match within each gallery view group (-1: none)."""
    q_lab, g_lab = encode_jointly(labels[probe_rows], labels[gallery_rows])
    reducer = FirstMatchReducer(q_lab, g_lab, groups)
    scan(embeddings, embeddings, metric, [reducer], memory_limit_mb, chunk_rows, probe_rows, gallery_rows)
    return reducer.first


def cell_accuracy(first: np.ndarray, rank: int, gallery_sizes: np.ndarray) -> np.ndarray:
    """Percent (2 decimals) of probes hit within ``rank`` per gallery group; NaN for empty probe/gallery sets.

    Args:
        first: int ``[n, V]`` first-match ranks of the probes of one probe view (-1 = no match).
        rank: k of rank-k.
        gallery_sizes: int ``[V]`` rows per gallery group.
    """
    n = first.shape[0]
    if n == 0:
        return np.full(first.shape[1], np.nan)
    hits = ((first >= 0) & (first < rank)).sum(axis=0)
    acc = np.round(hits * 100 / n, 2)
    return np.where(np.asarray(gallery_sizes) > 0, acc, np.nan)


def de_diag(acc: np.ndarray) -> np.ndarray:
    """Per-probe-view mean over gallery views without the identical view (``[V, V]`` → ``[V]``).

    Rows without NaN use exactly the peer's ``np.sum(acc - diag, 1) / (V - 1)``; rows with undefined cells
    average their defined off-diagonal cells (NaN if none).
    """
    v = acc.shape[0]
    if v < 2:
        return np.full(v, np.nan)
    exact = np.sum(acc - np.diag(np.diag(acc)), 1) / (v - 1.0)
    off = acc.copy()
    np.fill_diagonal(off, np.nan)
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(off).sum(axis=1)
        partial = np.where(counts > 0, np.nansum(off, axis=1) / np.maximum(counts, 1), np.nan)
    return np.where(np.isfinite(acc).all(axis=1), exact, partial)


def nan_mean(values: np.ndarray) -> float:
    """``np.mean`` if all values are finite (bit-identical to the peer), else the mean of the finite ones."""
    values = np.asarray(values, dtype=np.float64)
    if values.size and np.isfinite(values).all():
        return float(np.mean(values))
    finite = values[np.isfinite(values)]
    return float(np.mean(finite)) if finite.size else float("nan")
