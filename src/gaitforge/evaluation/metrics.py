"""Retrieval metrics on rows of a distance matrix: rank-k / CMC, AP, INP, top-k lists.

Every function works on a *block of probe rows* ``[B, M]`` and needs no sorting of the full row: the rank of
a true match is the number of valid gallery entries that come before it, counted directly. This is exact and
is what lets the protocols stream over probe chunks without ever holding the ``N x M`` matrix.

Definitions (for one probe; ``pos_j`` = 0-based rank of its j-th true match among the valid gallery entries,
``R`` = number of true matches):

* rank-k hit: ``pos_0 < k``; CMC(k) is the fraction of probes with a rank-k hit.
* AP (average precision): ``(1/R) * sum_j (j + 1) / (pos_j + 1)``.
* INP (inverse negative penalty, Ye et al., "Deep Learning for Person Re-identification: A Survey and
  Outlook", TPAMI 2021): ``R / (pos_{R-1} + 1)``.

Ties: a gallery entry at exactly the same distance as a true match is ranked *before* it (pessimistic).
The rule depends on distances only, never on gallery order, so every figure is invariant to gallery
permutations. The peer breaks ties by ``numpy.argsort`` order instead; exact float32 ties are rare and move
mAP by ~1e-6 at most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "RankingStats",
    "first_match_positions",
    "ranking_stats",
    "smallest_k",
    "cmc_from_first_positions",
    "average_precision_from_positions",
]

_COMPARE_LIMIT = 16  # up to this many true matches per row, count by comparisons; above, by searchsorted


def _valid_masks(match: torch.Tensor, valid: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(true matches, valid non-matches) as bool ``[B, M]``."""
    if valid is None:
        return match, ~match
    return match & valid, valid & ~match


def first_match_positions(
    dist: torch.Tensor, match: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Rank of the nearest true match per row.

    Args:
        dist: float ``[B, M]`` distances (smaller = closer).
        match: bool ``[B, M]``, True where the gallery entry has the probe's identity.
        valid: optional bool ``[B, M]``, False for excluded gallery entries.

    Returns:
        int64 ``[B]``: 0-based rank of the first true match among valid entries; -1 where there is none.
    """
    pos_mask, neg_mask = _valid_masks(match, valid)
    inf = torch.tensor(float("inf"), dtype=dist.dtype)
    nearest = (
        torch.where(pos_mask, dist, inf).amin(dim=1)
        if dist.shape[1]
        else dist.new_full((dist.shape[0],), inf)
    )
    before = (neg_mask & (dist <= nearest[:, None])).sum(dim=1)
    has = pos_mask.any(dim=1) if dist.shape[1] else torch.zeros(dist.shape[0], dtype=torch.bool)
    return torch.where(has, before, torch.full_like(before, -1))


@dataclass
class RankingStats:
    """Per-row ranking figures.

    Attributes:
        first: int64 ``[B]`` rank of the first true match (-1: none).
        num_rel: int64 ``[B]`` true matches among valid entries.
        num_valid: int64 ``[B]`` valid gallery entries.
        ap: float64 ``[B]`` average precision (NaN without matches).
        inp: float64 ``[B]`` inverse negative penalty (NaN without matches).
    """

    first: np.ndarray
    num_rel: np.ndarray
    num_valid: np.ndarray
    ap: np.ndarray
    inp: np.ndarray


def ranking_stats(dist: torch.Tensor, match: torch.Tensor, valid: torch.Tensor | None = None) -> RankingStats:
    """First-match rank, AP and INP per row, exactly, without sorting the rows.

    Args:
        dist: float ``[B, M]``.
        match: bool ``[B, M]`` same identity.
        valid: optional bool ``[B, M]``, False for excluded entries.

    Returns:
        :class:`RankingStats` for the B rows.
    """
    b, m = dist.shape
    pos_mask, neg_mask = _valid_masks(match, valid)
    num_rel = pos_mask.sum(dim=1)
    num_valid = num_rel + neg_mask.sum(dim=1)
    r_max = int(num_rel.max()) if b else 0
    first = torch.full((b,), -1, dtype=torch.int64)
    ap = np.full(b, np.nan)
    inp = np.full(b, np.nan)
    if r_max == 0:
        return RankingStats(first.numpy(), num_rel.numpy(), num_valid.numpy(), ap, inp)
    inf = torch.tensor(float("inf"), dtype=dist.dtype)
    pos_d = torch.where(pos_mask, dist, inf)
    neg_d = torch.where(neg_mask, dist, inf)
    if r_max * 8 < m:
        match_d = torch.topk(pos_d, r_max, dim=1, largest=False, sorted=True).values  # [B, R]
    else:
        match_d = torch.sort(pos_d, dim=1).values[:, :r_max]
    if r_max <= _COMPARE_LIMIT:
        # before[b, j] = valid non-matches at distance <= the j-th nearest true match
        before = torch.stack([(neg_d <= match_d[:, j : j + 1]).sum(dim=1) for j in range(r_max)], dim=1)
    else:
        # bucket each non-match by the number of true matches strictly closer than it
        bucket = torch.searchsorted(match_d.contiguous(), neg_d.contiguous(), side="left")  # [B, M] in 0..R
        bucket.add_(torch.arange(b, dtype=torch.int64)[:, None] * (r_max + 1))  # row offsets, in place
        hist = torch.bincount(bucket.view(-1), minlength=b * (r_max + 1)).view(b, r_max + 1)
        before = hist.cumsum(dim=1)[:, :r_max]
    j = torch.arange(r_max, dtype=torch.int64)
    positions = (before + j[None, :]).numpy()  # [B, R], rank of the j-th true match
    n_rel = num_rel.numpy()
    rows = np.flatnonzero(n_rel)
    pos = positions[rows].astype(np.float64)
    r = n_rel[rows]
    terms = np.where(
        np.arange(r_max)[None, :] < r[:, None], np.arange(1.0, r_max + 1.0)[None, :] / (pos + 1.0), 0.0
    )
    ap[rows] = np.cumsum(terms, axis=1)[np.arange(rows.size), r - 1] / r  # sequential sum: chunk-independent
    inp[rows] = r / (pos[np.arange(rows.size), r - 1] + 1.0)
    has = num_rel > 0
    first[has] = torch.from_numpy(positions[:, 0])[has]
    return RankingStats(first.numpy(), n_rel, num_valid.numpy(), ap, inp)


def average_precision_from_positions(positions: np.ndarray) -> float:
    """AP from the sorted 0-based ranks of all true matches of one probe (``(1/R) sum_j (j+1)/(pos_j+1)``)."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.size == 0:
        return float("nan")
    hits = np.arange(1, positions.size + 1, dtype=np.float64)
    return float(np.sum(hits / (positions + 1.0)) / positions.size)


def smallest_k(dist: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest gallery entries per row, ties broken by gallery index (stable), without a full sort.

    Args:
        dist: float ``[B, M]``.
        k: Entries per row (clipped to M).

    Returns:
        ``(values [B, k], indices [B, k])`` in ascending distance.
    """
    b, m = dist.shape
    k = min(k, m)
    if k == 0:
        return dist.new_zeros((b, 0)), torch.zeros((b, 0), dtype=torch.int64)
    values, idx = torch.topk(dist, k, dim=1, largest=False, sorted=True)
    kth = values[:, -1:]
    tied = (dist <= kth).sum(dim=1) > k
    if k > 1:
        tied |= (values[:, 1:] == values[:, :-1]).any(dim=1)
    for row in torch.nonzero(tied).flatten().tolist():  # rare: exact float ties
        v, i = torch.sort(dist[row], stable=True)
        values[row], idx[row] = v[:k], i[:k]
    return values, idx


def cmc_from_first_positions(first: np.ndarray, max_rank: int) -> np.ndarray:
    """Number of probes whose first true match is within the top k, for k = 1..max_rank.

    Args:
        first: int ``[N]`` first-match ranks (-1 = no match, never counted).
        max_rank: Length of the curve.

    Returns:
        int64 ``[max_rank]`` counts (divide by the protocol's denominator).
    """
    first = np.asarray(first)
    hit = first[first >= 0]
    hist = np.bincount(np.minimum(hit, max_rank), minlength=max_rank + 1)[:max_rank]
    return np.cumsum(hist).astype(np.int64)
