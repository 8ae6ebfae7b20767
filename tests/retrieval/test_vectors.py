"""Retrieval vectors: the cos layout reproduces the field's part-averaged cosine distance exactly."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation.distance import part_distance
from gaitforge.retrieval.vectors import check_vectors, flatten_embeddings, pairwise_distances


def test_cos_vectors_give_the_part_averaged_cosine_distance() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 8, 4)).astype(np.float32)  # [N, C, P]
    y = rng.normal(size=(7, 8, 4)).astype(np.float32)
    fx, fy = flatten_embeddings(x, "cos"), flatten_embeddings(y, "cos")
    assert fx.shape == (5, 32)
    np.testing.assert_allclose(np.linalg.norm(fx, axis=1), 1.0, rtol=1e-6)
    ours = 1.0 - fx.astype(np.float64) @ fy.T.astype(np.float64)
    np.testing.assert_allclose(ours, part_distance(x, y, "cos").numpy(), atol=1e-5)
    np.testing.assert_allclose(pairwise_distances(fx, fy, "cos"), ours, atol=1e-6)


def test_euc_vectors_are_the_flattened_embedding() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    flat = flatten_embeddings(x, "euc")
    np.testing.assert_array_equal(flat, x.reshape(2, 12))
    np.testing.assert_array_equal(flatten_embeddings(x[0], "euc"), x[0].reshape(12))
    d = pairwise_distances(flat, flat, "euc")
    assert d[0, 1] == pytest.approx(np.linalg.norm(x[0] - x[1]))
    assert np.allclose(np.diag(d), 0.0)


def test_check_vectors() -> None:
    assert check_vectors(np.zeros(3, np.float64), 3).dtype == np.float32
    assert check_vectors(np.zeros((2, 3)), 3).shape == (2, 3)
    with pytest.raises(ValueError, match=r"expected one vector \[3\]"):
        check_vectors(np.zeros((2, 3)), 3, single=True)
    with pytest.raises(ValueError, match="not numeric"):
        check_vectors(np.array(["a", "b", "c"]), 3)
    with pytest.raises(ValueError, match=r"metric is 'l1'"):
        flatten_embeddings(np.zeros((1, 2, 2)), "l1")
