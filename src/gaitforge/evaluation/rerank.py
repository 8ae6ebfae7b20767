"""k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with k-reciprocal Encoding",
CVPR 2017), as the HID submission uses it (k1 = 6, k2 = 6, lambda = 0.3), in bounded memory.

The textbook formulation builds dense ``[n, n]`` matrices (distances, ranks, neighbour encodings V, Jaccard
distances) over ``n = probes + gallery``. Every one of them is sparse or only needed row by row:

* ``T`` = distances divided by their column maxima, transposed (the peer's normalisation). Rows of ``T`` are
  columns of the distance matrix, recomputed in blocks whenever needed;
* the initial ranking only needs the ``k1 + 1`` nearest entries of each row;
* V has ``|R*(i, k1)|`` non-zeros per row (the k-reciprocal expansion set), kept as sparse rows;
* the Jaccard distance is needed for probe rows only, one dense row of length n at a time.

So memory is O(n * k1) plus one distance block under the cap. Precision follows the peer: V, the query
expansion and the Jaccard distance are float16 (numpy float16 arithmetic, same accumulation order), distances
float32; the result then matches the peer's matrix to ~1e-3 (the fixture's tolerance) with the same top-1 ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from .distance import DEFAULT_MEMORY_LIMIT_MB, PreparedGallery, chunk_rows_for, common_scale, distance_rows
from .metrics import smallest_k

__all__ = ["RerankResult", "k_reciprocal_rerank"]

logger = logging.getLogger(__name__)


@dataclass
class RerankResult:
    """Re-ranked neighbours of each probe among the gallery.

    Attributes:
        indices: int64 ``[Np, top_k]`` gallery row indices, best first.
        distances: float32 ``[Np, top_k]`` re-ranked distances.
        matrix: float32 ``[Np, Ng]`` full re-ranked matrix (only when requested).
    """

    indices: np.ndarray
    distances: np.ndarray
    matrix: np.ndarray | None = None


class _NormalisedRows:
    """Rows of T = (D / column max of D).T, D = dist(all, all), computed in column blocks."""

    def __init__(self, embeddings: torch.Tensor, metric: str, memory_limit_mb: float) -> None:
        self.all = embeddings
        self.metric = metric
        self.n = embeddings.shape[0]
        self.block, _ = chunk_rows_for(self.n, memory_limit_mb, bytes_per_element=12)
        self.col_max: np.ndarray | None = None
        self.scale = common_scale(embeddings) if metric == "euc" else None  # shared by every column block

    def blocks(self, rows: np.ndarray | None = None):
        """Yield ``(row_ids, T[row_ids] float32 [b, n])``."""
        ids = np.arange(self.n) if rows is None else np.asarray(rows)
        for s in range(0, ids.size, self.block):
            sel = ids[s : s + self.block]
            cols = PreparedGallery.from_embeddings(self.all[torch.from_numpy(sel)], self.metric, scale=self.scale)
            d = distance_rows(self.all, cols).numpy()  # [n, b] = D[:, sel]
            col_max = d.max(axis=0)
            yield sel, np.ascontiguousarray((d / col_max).T), col_max


def _reciprocal(rank: np.ndarray, i: int, k: int) -> np.ndarray:
    """k-reciprocal neighbours of i (in i's forward order): j in top-k(i) with i in top-k(j)."""
    forward = rank[i, :k]
    return forward[(rank[forward, :k] == i).any(axis=1)]


def _expansion_sets(rank: np.ndarray, k1: int) -> list[np.ndarray]:
    """R*(i, k1): k-reciprocal set expanded by candidates' half-size reciprocal sets that overlap by > 2/3."""
    half = int(np.around(k1 / 2.0)) + 1
    out = []
    for i in range(rank.shape[0]):
        base = _reciprocal(rank, i, k1 + 1)
        parts = [base]
        for cand in base:
            cand_set = _reciprocal(rank, int(cand), half)
            if len(np.intersect1d(cand_set, base)) > 2.0 / 3.0 * len(cand_set):
                parts.append(cand_set)
        out.append(np.unique(np.concatenate(parts)))
    return out


def k_reciprocal_rerank(
    probe: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    metric: str = "euc",
    k1: int = 6,
    k2: int = 6,
    lambda_value: float = 0.3,
    top_k: int = 1,
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB,
    return_matrix: bool = False,
) -> RerankResult:
    """Re-rank the gallery for each probe with k-reciprocal encoding.

    Args:
        probe: ``[Np, C, P]`` embeddings.
        gallery: ``[Ng, C, P]`` embeddings.
        metric: Base distance, ``"euc"`` or ``"cos"``.
        k1: Neighbourhood size of the k-reciprocal sets.
        k2: Query-expansion size (1 disables it).
        lambda_value: Weight of the original distance; ``1 - lambda`` goes to the Jaccard distance.
        top_k: Neighbours to return per probe.
        memory_limit_mb: Cap on one distance block.
        return_matrix: Also return the ``[Np, Ng]`` re-ranked matrix (small problems only).

    Returns:
        :class:`RerankResult`.
    """
    if k1 < 1 or k2 < 1:
        raise ValueError(f"k1 and k2 must be >= 1, got k1={k1}, k2={k2}")
    x = torch.cat(
        [torch.as_tensor(probe, dtype=torch.float32), torch.as_tensor(gallery, dtype=torch.float32)]
    )
    n_probe, n = int(torch.as_tensor(probe).shape[0]), int(x.shape[0])
    if n - n_probe == 0:
        raise ValueError("re-ranking needs a non-empty gallery")
    rows = _NormalisedRows(x, metric, memory_limit_mb)
    k_init = min(n, max(k1 + 1, k2))
    rank = np.zeros((n, k_init), dtype=np.int64)
    for sel, t, _ in rows.blocks():
        rank[sel] = smallest_k(torch.from_numpy(t), k_init)[1].numpy()
    expansion = _expansion_sets(rank, k1)

    # sparse V: row i has weights exp(-T[i, j]) / sum over its expansion set, stored as float16
    v_idx: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n
    v_val: list[np.ndarray] = [np.zeros(0, dtype=np.float16)] * n
    for sel, t, _ in rows.blocks():
        for r, i in enumerate(sel):
            idx = expansion[i]
            w = np.exp(-t[r, idx])
            val = (w / np.sum(w)).astype(np.float16)
            keep = val != 0
            v_idx[i], v_val[i] = idx[keep], val[keep]
    if k2 != 1:  # query expansion: mean of the V rows of the k2 nearest neighbours (float32 sum, float16 out)
        qe_idx, qe_val = [], []
        for i in range(n):
            nbrs = rank[i, :k2]
            idx = np.unique(np.concatenate([v_idx[j] for j in nbrs]))
            acc = np.zeros(idx.size, dtype=np.float32)
            for j in nbrs:
                acc[np.searchsorted(idx, v_idx[j])] += v_val[j].astype(np.float32)
            val = (acc / np.float32(k2)).astype(np.float16)
            keep = val != 0
            qe_idx.append(idx[keep])
            qe_val.append(val[keep])
        v_idx, v_val = qe_idx, qe_val

    # inverted index: for each column k, the rows j with V[j, k] != 0 (ascending j) and their values
    lengths = np.array([a.size for a in v_idx])
    all_rows = np.repeat(np.arange(n), lengths)
    all_cols = np.concatenate(v_idx) if n else np.zeros(0, dtype=np.int64)
    all_vals = np.concatenate(v_val) if n else np.zeros(0, dtype=np.float16)
    order = np.lexsort((all_rows, all_cols))
    col_rows, col_vals = all_rows[order], all_vals[order]
    col_ptr = np.concatenate([[0], np.cumsum(np.bincount(all_cols, minlength=n))])

    k_out = min(top_k, n - n_probe)
    indices = np.zeros((n_probe, k_out), dtype=np.int64)
    distances = np.zeros((n_probe, k_out), dtype=np.float32)
    matrix = np.zeros((n_probe, n - n_probe), dtype=np.float32) if return_matrix else None
    for sel, t, _ in rows.blocks(np.arange(n_probe)):
        final_rows = np.empty((sel.size, n - n_probe), dtype=np.float32)
        for r, i in enumerate(sel):
            temp = np.zeros(n, dtype=np.float16)
            for k, v in zip(v_idx[i], v_val[i]):
                js = col_rows[col_ptr[k] : col_ptr[k + 1]]
                temp[js] = temp[js] + np.minimum(v, col_vals[col_ptr[k] : col_ptr[k + 1]])
            jaccard = 1 - temp / (2 - temp)  # float16
            final_rows[r] = (jaccard * (1 - lambda_value) + t[r] * lambda_value)[n_probe:]
        vals, idx = smallest_k(torch.from_numpy(final_rows), k_out)
        indices[sel], distances[sel] = idx.numpy(), vals.numpy()
        if matrix is not None:
            matrix[sel] = final_rows
    return RerankResult(indices, distances, matrix)
