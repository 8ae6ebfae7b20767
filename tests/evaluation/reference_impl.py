"""Slow, obvious reference implementations the streaming code is tested against (loops, full sorts)."""

from __future__ import annotations

import numpy as np


def naive_distance(x: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    """float64 part-averaged distance by explicit loops over parts."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    out = np.zeros((x.shape[0], y.shape[0]))
    for k in range(x.shape[2]):
        a, b = x[:, :, k], y[:, :, k]
        if metric == "cos":
            a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
            b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
            out += a @ b.T
        else:
            out += np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0))
    return 1 - out / x.shape[2] if metric == "cos" else out / x.shape[2]


def ranked_matches(row: np.ndarray, match: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """0/1 match vector of the valid entries sorted by distance; at equal distance non-matches first."""
    keep = np.ones(row.size, dtype=bool) if valid is None else valid
    d, m = row[keep], match[keep]
    order = sorted(range(d.size), key=lambda i: (d[i], int(m[i])))
    return m[order].astype(np.int64)


def naive_row_stats(row, match, valid=None) -> tuple[int, float, float, int]:
    """(first-match rank or -1, AP or NaN, INP or NaN, number of true matches) by a full sort."""
    ranked = ranked_matches(np.asarray(row), np.asarray(match), valid)
    hits = np.flatnonzero(ranked)
    if hits.size == 0:
        return -1, float("nan"), float("nan"), 0
    ap = 0.0
    for j, pos in enumerate(hits):
        ap += (j + 1) / (pos + 1)
    return int(hits[0]), ap / hits.size, hits.size / (hits[-1] + 1), int(hits.size)


def naive_single_view(dist, q_lab, g_lab, q_view, g_view, views, rank=1) -> np.ndarray:
    """acc[v1, v2] in percent, rounded to 2 decimals, by loops (NaN for empty probe or gallery sets)."""
    acc = np.full((len(views), len(views)), np.nan)
    for i, v1 in enumerate(views):
        probes = np.flatnonzero(q_view == v1)
        for j, v2 in enumerate(views):
            gal = np.flatnonzero(g_view == v2)
            if probes.size == 0 or gal.size == 0:
                continue
            hits = 0
            for p in probes:
                first = naive_row_stats(dist[p, gal], g_lab[gal] == q_lab[p])[0]
                hits += 0 <= first < rank
            acc[i, j] = np.round(hits * 100 / probes.size, 2)
    return acc


def dense_rerank(original: np.ndarray, num_query: int, k1: int, k2: int, lam: float) -> np.ndarray:
    """Dense k-reciprocal re-ranking (Zhong et al. 2017), float16 encodings; returns probe x gallery."""
    n = original.shape[0]
    t = (original / original.max(axis=0)).T
    rank = np.argsort(t, axis=1, kind="stable")
    v = np.zeros((n, n), dtype=np.float16)

    def recip(i, k):
        fwd = rank[i, :k]
        return np.array([j for j in fwd if i in rank[j, :k]], dtype=np.int64)

    half = int(np.around(k1 / 2)) + 1
    for i in range(n):
        base = recip(i, k1 + 1)
        exp = list(base)
        for c in base:
            cs = recip(c, half)
            if len(set(cs) & set(base)) > 2 / 3 * len(cs):
                exp += list(cs)
        exp = np.unique(np.array(exp, dtype=np.int64))
        w = np.exp(-t[i, exp])
        v[i, exp] = w / np.sum(w)
    if k2 != 1:
        v = np.stack([np.mean(v[rank[i, :k2]], axis=0) for i in range(n)]).astype(np.float16)
    jac = np.zeros((num_query, n), dtype=np.float16)
    for i in range(num_query):
        temp = np.zeros(n, dtype=np.float16)
        for k in np.flatnonzero(v[i] != 0):
            rows = np.flatnonzero(v[:, k] != 0)
            temp[rows] = temp[rows] + np.minimum(v[i, k], v[rows, k])
        jac[i] = 1 - temp / (2 - temp)
    final = jac * (1 - lam) + t[:num_query] * lam
    return final[:, num_query:]


def synthetic_embeddings(rng, subjects, types, views, c=8, p=3, noise=0.6):
    """Embeddings [N, c, p] with identity structure: subject mean + type offset + view term + noise."""
    rows = [(s, t, v) for s in subjects for t in types for v in views]
    means = {s: rng.normal(size=(c, p)) for s in subjects}
    t_off = {t: 0.4 * rng.normal(size=(c, p)) for t in types}
    v_off = {v: 0.5 * rng.normal(size=(c, p)) for v in views}
    emb = np.stack([means[s] + t_off[t] + v_off[v] + noise * rng.normal(size=(c, p)) for s, t, v in rows])
    labels, typ, view = (np.array([r[i] for r in rows]) for i in range(3))
    return emb.astype(np.float32), labels, typ, view
