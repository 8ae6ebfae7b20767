"""Minimum-cost assignment (the Hungarian method, Kuhn 1955 / Munkres 1957) for the tracker.

A shortest-augmenting-path implementation with row and column potentials, one row added at a time, vectorised over
columns with NumPy: ``O(n² m)`` for ``n ≤ m``, ample for the few dozen tracks and detections of a frame.
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_assignment"]


def _assign_rows(cost: np.ndarray) -> np.ndarray:
    """Optimal column for every row of a finite ``[n, m]`` cost matrix with ``n <= m``."""
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, np.int64)  # owner[j] = 1-based row holding column j (0 = free); column 0 is a sentinel
    way = np.zeros(m + 1, np.int64)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        best = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            reduced = cost[i0 - 1] - u[i0] - v[1:]  # [m]
            free = ~used[1:]
            better = free & (reduced < best[1:])
            best[1:][better] = reduced[better]
            way[1:][better] = j0
            cand = np.where(free, best[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[owner[used]] += delta
            v[used] -= delta
            best[1:][free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:  # augment along the alternating path
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    rows = np.full(n, -1, np.int64)
    for j in range(1, m + 1):
        if owner[j]:
            rows[owner[j] - 1] = j - 1
    return rows


def linear_assignment(cost: np.ndarray, max_cost: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(row, column)`` of minimum total cost, each row and column used at most once.

    Args:
        cost: float ``[N, M]``; ``inf`` (or any value above ``max_cost``) forbids a pair.
        max_cost: Pairs costing more than this are left unassigned.

    Returns:
        ``(rows, cols)``: int64 ``[K]`` each, ``K <= min(N, M)``, sorted by row.
    """
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2:
        raise ValueError(f"linear_assignment: cost has shape {cost.shape}; expected [N, M]")
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    allowed = np.isfinite(cost) & (cost <= max_cost)
    if not allowed.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    big = float(np.abs(cost[allowed]).max() + 1.0) * (cost.shape[0] + cost.shape[1] + 1)
    finite = np.where(allowed, cost, big)  # a forbidden pair costs more than any full allowed assignment
    transposed = finite.shape[0] > finite.shape[1]
    if transposed:
        finite = finite.T
    cols = _assign_rows(finite)
    rows = np.arange(finite.shape[0])
    if transposed:
        rows, cols = cols, rows
        order = np.argsort(rows)
        rows, cols = rows[order], cols[order]
    ok = (rows >= 0) & (cols >= 0)
    rows, cols = rows[ok], cols[ok]
    ok = allowed[rows, cols]
    return rows[ok], cols[ok]
