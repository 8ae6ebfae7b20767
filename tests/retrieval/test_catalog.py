"""Catalog: generations, removals and change replay, ids never reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.retrieval.catalog import Catalog


def _insert(cat: Catalog, subject: str, n: int, dim: int = 4) -> np.ndarray:
    with cat.write() as gen:
        return cat.insert(gen, [subject] * n, np.full((n, dim), float(gen), np.float32), ["{}"] * n)


def test_generations_and_replay(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "g.db", create=True)
    a = _insert(cat, "a", 2)
    b = _insert(cat, "b", 3)
    assert a.tolist() == [1, 2] and b.tolist() == [3, 4, 5] and cat.generation() == 2
    with cat.write() as gen:
        removed = cat.delete_subject(gen, "b")
    assert removed.tolist() == [3, 4, 5] and not cat.has_subject("b")
    c = _insert(cat, "c", 1)
    assert c.tolist() == [6]  # AUTOINCREMENT: removed ids are never handed out again
    assert cat.removed_since(2).tolist() == [3, 4, 5] and cat.removed_since(3).tolist() == []
    ((ids, vectors),) = list(cat.iter_vectors(4, after_gen=1))
    assert ids.tolist() == [6] and vectors.tolist() == [[4.0] * 4]
    assert cat.live_ids().tolist() == [1, 2, 6]
    assert [(s.subject, s.n_sequences) for s in cat.subjects()] == [("a", 2), ("c", 1)]
    assert set(cat.lookup(np.array([1, 3, 6, -1]))) == {1, 6}
    cat.close()


def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "g.db", create=True)
    with pytest.raises(RuntimeError, match="boom"):
        with cat.write() as gen:
            cat.insert(gen, ["a"], np.zeros((1, 4), np.float32), ["{}"])
            raise RuntimeError("boom")
    assert cat.generation() == 0 and cat.count_sequences() == 0 and not cat.has_subject("a")
    other = Catalog(tmp_path / "g.db")
    version = other.data_version()
    _insert(cat, "a", 1)
    assert other.data_version() != version and other.count_sequences() == 1
    with pytest.raises(FileNotFoundError, match="gallery database not found"):
        Catalog(tmp_path / "missing.db")
