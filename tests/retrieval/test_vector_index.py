"""VectorIndex: every kind adds, searches, removes, saves and loads; IVF leaves its flat stage; HNSW tombstones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.retrieval.vector_index import VectorIndex, resolve_index_options
from gaitforge.retrieval.vectors import pairwise_distances
from tests.retrieval.common import INDEX_CASES, clustered


def _data(n_subjects: int = 40, per: int = 5, dim: int = 16):
    _, samples = clustered(n_subjects, per, dim)
    vectors = samples.reshape(-1, dim)
    ids = np.arange(100, 100 + len(vectors), dtype=np.int64)
    return ids, vectors


@pytest.mark.parametrize("metric", ["euc", "cos"])
@pytest.mark.parametrize(("kind", "options"), INDEX_CASES)
def test_search_remove_save_load(kind: str, options: dict, metric: str, tmp_path: Path) -> None:
    ids, vectors = _data()
    index = VectorIndex(16, metric, kind, options)
    index.add(ids[:100], vectors[:100])
    index.add(ids[100:], vectors[100:])
    assert index.ntotal == 200 and index.stage == ("flat" if kind == "exact" else kind)
    np.testing.assert_array_equal(index.ids(), ids)

    dist, found = index.search(vectors[:10], 3)
    assert found.shape == (10, 3)
    if kind == "ivfpq":  # PQ codes cannot tell a subject's near-identical samples apart: the subject must match
        np.testing.assert_array_equal((found[:, 0] - 100) // 5, (ids[:10] - 100) // 5)
    else:  # each vector finds itself first, at the exact distances
        np.testing.assert_array_equal(found[:, 0], ids[:10])
        ref = pairwise_distances(vectors[:10], vectors, metric)
        np.testing.assert_allclose(dist, np.sort(ref, axis=1)[:, :3], atol=2e-3)

    removed = ids[:5]
    assert index.remove(np.concatenate([removed, [999_999]])) == 5  # unknown ids are ignored
    assert index.remove(removed) == 0  # and removing twice removes nothing
    assert index.live_count == 195
    _, found = index.search(vectors[:5], 5)
    assert not np.isin(found, removed).any()
    np.testing.assert_array_equal(index.ids(), ids[5:])

    index.save(tmp_path / "x.faiss")
    loaded = VectorIndex.load(tmp_path / "x.faiss", 16, metric, kind, options)
    assert loaded.stage == index.stage
    if kind == "hnsw":  # tombstones live in memory; the owner re-applies them (Gallery does, from the catalog)
        loaded.remove(removed)
    np.testing.assert_array_equal(loaded.ids(), ids[5:])
    np.testing.assert_array_equal((loaded.search(vectors[5:15], 1)[1][:, 0] - 100) // 5, (ids[5:15] - 100) // 5)


def test_ivf_stays_exact_until_trained() -> None:
    ids, vectors = _data()
    index = VectorIndex(16, "euc", "ivf", {"nlist": 4, "train_min": 150})
    index.add(ids[:149], vectors[:149])
    assert index.stage == "flat"
    index.add(ids[149:150], vectors[149:150])
    assert index.stage == "ivf" and index.ntotal == 150
    np.testing.assert_array_equal(index.ids(), ids[:150])


def test_hnsw_tombstones_ask_for_a_rebuild() -> None:
    ids, vectors = _data()
    index = VectorIndex(16, "euc", "hnsw", {"M": 8, "max_dead_fraction": 0.1})
    index.add(ids, vectors)
    index.remove(ids[:20])
    assert index.dead_fraction == pytest.approx(0.1) and not index.needs_rebuild
    index.remove(ids[20:21])
    assert index.needs_rebuild
    assert index.ntotal == 200 and index.live_count == 179


def test_search_caps_k_and_handles_empty() -> None:
    index = VectorIndex(4, "cos", "exact")
    dist, found = index.search(np.ones((2, 4), np.float32), 5)
    assert dist.shape == (2, 0) and found.shape == (2, 0)
    index.add(np.array([7]), np.ones((1, 4)))
    dist, found = index.search(np.ones((1, 4), np.float32), 5)
    assert found.tolist() == [[7]] and dist[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown for index 'hnsw'"):
        resolve_index_options("hnsw", 16, {"nlist": 4})
    with pytest.raises(ValueError, match="must divide the vector dim 16"):
        resolve_index_options("ivfpq", 16, {"m": 5})
    with pytest.raises(ValueError, match="expected one of exact, ivf, ivfpq, hnsw"):
        resolve_index_options("lsh", 16)
    assert resolve_index_options("ivf", 16, {"nlist": "8"})["train_min"] == 39 * 8


def test_load_rejects_a_mismatched_index(tmp_path: Path) -> None:
    index = VectorIndex(16, "euc", "exact")
    index.save(tmp_path / "x.faiss")
    with pytest.raises(ValueError, match="does not match the gallery"):
        VectorIndex.load(tmp_path / "x.faiss", 16, "cos", "exact")
    with pytest.raises(ValueError, match="does not match the gallery"):
        VectorIndex.load(tmp_path / "x.faiss", 16, "euc", "hnsw")
    (tmp_path / "bad.faiss").write_bytes(b"not an index")
    with pytest.raises(ValueError, match="not a readable FAISS index"):
        VectorIndex.load(tmp_path / "bad.faiss", 16, "euc", "exact")
