from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import part_distance
from gaitforge.evaluation.distance import chunk_rows_for
from gaitforge.evaluation.rerank import k_reciprocal_rerank

from .reference_impl import dense_rerank, synthetic_embeddings


@pytest.mark.parametrize(("k1", "k2", "metric"), [(6, 6, "euc"), (4, 1, "euc"), (5, 3, "cos")])
def test_sparse_rerank_equals_dense_reference(k1: int, k2: int, metric: str) -> None:
    emb, labels, _, _ = synthetic_embeddings(
        np.random.default_rng(k1), [f"{i}" for i in range(8)], ["a", "b"], ["0", "1", "2"]
    )
    probe, gallery = emb[:14], emb[14:]
    res = k_reciprocal_rerank(probe, gallery, metric, k1, k2, 0.3, top_k=3, return_matrix=True)
    feat = np.concatenate([probe, gallery])
    dense = dense_rerank(part_distance(feat, feat, metric).numpy(), 14, k1, k2, 0.3)
    np.testing.assert_allclose(res.matrix, dense, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(res.indices[:, 0], dense.argmin(1))
    assert res.indices.shape == (14, 3) and np.all(np.diff(res.distances, axis=1) >= 0)


def test_memory_cap_only_changes_the_blocking() -> None:
    emb, *_ = synthetic_embeddings(
        np.random.default_rng(1), [f"{i}" for i in range(20)], ["a", "b", "c"], ["0", "1", "2", "3", "4"]
    )  # 300 rows
    assert chunk_rows_for(300, 1.0, 12) == (128, 128)  # 3 column blocks instead of 1
    a = k_reciprocal_rerank(emb[:60], emb[60:], top_k=2, return_matrix=True)
    b = k_reciprocal_rerank(emb[:60], emb[60:], top_k=2, return_matrix=True, memory_limit_mb=1.0)
    np.testing.assert_allclose(
        b.matrix, a.matrix, rtol=0, atol=1e-5
    )  # tiles differ: last-bit distance changes
    np.testing.assert_array_equal(b.indices, a.indices)


def test_errors() -> None:
    x = np.zeros((3, 4, 2), np.float32)
    with pytest.raises(ValueError, match="gallery"):
        k_reciprocal_rerank(x, x[:0])
    with pytest.raises(ValueError, match="k1"):
        k_reciprocal_rerank(x, x, k1=0)
