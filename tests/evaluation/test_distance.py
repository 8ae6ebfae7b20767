from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gaitforge.evaluation.distance import (
    TILE_ROWS,
    PreparedGallery,
    _column_block,
    chunk_rows_for,
    distance_rows,
    iter_distance_chunks,
    part_distance,
)

from .reference_impl import naive_distance


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_matches_naive_float64_loops(metric: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 16, 5)).astype(np.float32)
    y = rng.normal(size=(53, 16, 5)).astype(np.float32)
    got = part_distance(x, y, metric).numpy()
    assert got.dtype == np.float32 and got.shape == (37, 53)
    np.testing.assert_allclose(got, naive_distance(x, y, metric), rtol=1e-5, atol=1e-5)


def test_identical_embeddings_get_the_peers_small_positive_euc_distance() -> None:
    x = np.random.default_rng(1).normal(size=(3, 32, 4)).astype(np.float32) * 3
    d = part_distance(x, x, "euc").numpy()
    assert np.all(np.diag(d) >= 0) and np.all(np.diag(d) < 1e-2)
    assert np.all(d[~np.eye(3, dtype=bool)] > 1)


def test_cos_distance_of_scaled_copy_is_zero_and_range() -> None:
    x = np.random.default_rng(2).normal(size=(4, 8, 2)).astype(np.float32)
    d = part_distance(x, 3 * x, "cos").numpy()
    np.testing.assert_allclose(np.diag(d), 0, atol=1e-6)
    assert d.min() >= -1e-6 and d.max() <= 2 + 1e-6


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 300),
    chunk=st.integers(1, 400),
    seed=st.integers(0, 2**16),
    metric=st.sampled_from(["euc", "cos"]),
)
def test_chunked_equals_unchunked_bit_for_bit(n: int, chunk: int, seed: int, metric: str) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 16, 3)).astype(np.float32)
    y = rng.normal(size=(29, 16, 3)).astype(np.float32)
    g = PreparedGallery.from_embeddings(y, metric)
    full = distance_rows(x, g).numpy().copy()
    blocks = [(s, e, d.numpy().copy()) for s, e, d in iter_distance_chunks(x, g, chunk_rows=chunk)]
    assert blocks[0][0] == 0 and blocks[-1][1] == n
    assert all(b[1] == c[0] for b, c in zip(blocks, blocks[1:]))
    np.testing.assert_array_equal(np.concatenate([b[2] for b in blocks]), full)


def test_wide_gallery_is_split_into_column_blocks_consistently() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4, 2)).astype(np.float32)
    width = _column_block(TILE_ROWS, 10**6)
    y = rng.normal(size=(width + 7, 4, 2)).astype(np.float32)
    got = part_distance(x, y).numpy()
    np.testing.assert_allclose(got, naive_distance(x, y, "euc"), rtol=1e-5, atol=1e-5)


def test_chunk_rows_follow_the_memory_cap() -> None:
    def used(rows: int, tile: int, m: int, bpe: int) -> int:  # block + the two [T, W] multiply buffers
        return rows * m * bpe + 2 * 4 * tile * _column_block(tile, m)

    rows, tile = chunk_rows_for(12_000, memory_limit_mb=256, bytes_per_element=28)
    assert tile == TILE_ROWS and rows % tile == 0 and used(rows, tile, 12_000, 28) <= 256 * 2**20
    rows, tile = chunk_rows_for(300_000, memory_limit_mb=64, bytes_per_element=32)
    assert 1 < tile < TILE_ROWS and rows % tile == 0 and used(rows, tile, 300_000, 32) <= 64 * 2**20
    rows, tile = chunk_rows_for(
        5_000_000, memory_limit_mb=64, bytes_per_element=32
    )  # one row is over the cap
    assert rows == tile == 1
    with pytest.raises(ValueError, match="memory_limit_mb"):
        chunk_rows_for(10, 0)


def test_bad_inputs_raise() -> None:
    x = np.zeros((2, 4, 3), np.float32)
    with pytest.raises(ValueError, match="metric"):
        part_distance(x, x, "l1")
    with pytest.raises(ValueError, match=r"\[N, C, P\]"):
        part_distance(x[:, :, 0], x)
    with pytest.raises(ValueError, match="gallery is"):
        distance_rows(torch.zeros(2, 5, 3), PreparedGallery.from_embeddings(x, "euc"))


def test_empty_gallery_yields_empty_rows() -> None:
    x = np.ones((3, 4, 2), np.float32)
    assert part_distance(x, np.zeros((0, 4, 2), np.float32)).shape == (3, 0)


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_row_subsets_equal_copied_subsets(metric: str) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 8, 3)).astype(np.float32)
    p_rows, g_rows = rng.permutation(300)[:140], rng.permutation(300)[:90]
    g = PreparedGallery.from_embeddings(x, metric, rows=g_rows, block_rows=32)
    g_copy = PreparedGallery.from_embeddings(x[g_rows], metric)
    assert torch.equal(g.parts, g_copy.parts)
    got = np.concatenate(
        [d.numpy().copy() for *_, d in iter_distance_chunks(x, g, probe_rows=p_rows, chunk_rows=50)]
    )
    np.testing.assert_array_equal(got, distance_rows(x[p_rows], g_copy).numpy())
