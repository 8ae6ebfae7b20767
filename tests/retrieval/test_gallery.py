"""Gallery: enroll / identify / remove / update / persistence for every index kind, open set, several processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gaitforge.retrieval import Gallery, LockTimeout
from gaitforge.retrieval.vectors import pairwise_distances
from tests.retrieval.common import INDEX_CASES, clustered

DIM = 16


def _subject(i: int) -> str:
    return f"s{i:03d}"


def _fill(gallery: Gallery, samples: np.ndarray) -> None:
    for i, s in enumerate(samples):
        gallery.enroll(
            _subject(i), s, provenance=[{"source": f"walk-{i}-{j}", "frames": 30 + j} for j in range(len(s))]
        )


@pytest.mark.parametrize("metric", ["euc", "cos"])
@pytest.mark.parametrize(("kind", "options"), INDEX_CASES)
def test_lifecycle(kind: str, options: dict, metric: str, tmp_path: Path) -> None:
    centres, samples = clustered(50, 4, DIM, seed=1)
    probes = clustered(50, 1, DIM, seed=1)[0] + 0.05 * np.random.default_rng(9).normal(size=(50, DIM))
    path = tmp_path / "g"
    with Gallery.create(path, DIM, metric, kind, **options) as g:
        _fill(g, samples)
        assert len(g) == 200 and [s.subject for s in g.subjects()] == [_subject(i) for i in range(50)]
        assert g.info()["index_stage"] == ("flat" if kind == "exact" else kind)
        results = g.identify_many(probes, k=3)
        assert [r.matches[0].subject for r in results] == [_subject(i) for i in range(50)]
        for r in results:  # one entry per subject, closest first
            assert len({m.subject for m in r.matches}) == 3
            assert [m.distance for m in r.matches] == sorted(m.distance for m in r.matches)
            assert r.known is None
        best = results[7].matches[0]
        assert best.provenance["source"].startswith("walk-7-") and best.provenance["frames"] >= 30
        if kind != "ivfpq":  # exact distances: the best sequence of the subject, as brute force finds it
            ref = pairwise_distances(probes[7:8], samples[7], metric)[0]
            assert best.distance == pytest.approx(ref.min(), abs=1e-4)

        assert g.remove(_subject(7)) == 4
        with pytest.raises(KeyError, match="s007"):
            g.remove(_subject(7))
        new_ids = g.update(_subject(8), centres[8:9] + 10.0, provenance={"source": "re-enrolled"})
        assert len(new_ids) == 1 and len(g) == 193
        assert g.identify(probes[7], k=1).matches[0].subject != _subject(7)
        g.verify()

    with Gallery.open(path) as g:  # everything persisted; the saved index plus replay match the catalog
        assert len(g) == 193 and g.verify()["sequences"] == 193
        assert {s.subject: s.n_sequences for s in g.subjects()}[_subject(8)] == 1
        hit = g.identify(centres[8] + 10.0, k=1).matches[0]
        assert hit.subject == _subject(8) and hit.sequence_id == new_ids[0]
        assert hit.provenance == {"source": "re-enrolled"}
        assert g.identify(probes[7], k=1).matches[0].subject != _subject(7)
        assert g.identify(probes[20], k=1).matches[0].subject == _subject(20)


def test_k_subjects_even_when_one_subject_has_many_sequences(tmp_path: Path) -> None:
    centres, samples = clustered(6, 2, DIM, seed=3)
    with Gallery.create(tmp_path / "g", DIM) as g:
        g.enroll("crowd", centres[0] + 0.01 * np.random.default_rng(0).normal(size=(300, DIM)))
        _fill(g, samples[1:])
        result = g.identify(centres[0], k=4)
    assert [m.subject for m in result.matches][0] == "crowd"
    assert len(result.matches) == 4 and len({m.subject for m in result.matches}) == 4


def test_open_set_threshold_persists(tmp_path: Path) -> None:
    centres, samples = clustered(10, 3, DIM, seed=4)
    with Gallery.create(tmp_path / "g", DIM) as g:
        _fill(g, samples)
        assert g.identify(centres[0]).known is None
        g.threshold = 0.5
        assert g.identify(centres[0]).known is True
        assert g.identify(centres[0] + 5.0).known is False
    with Gallery.open(tmp_path / "g") as g:
        assert g.threshold == 0.5 and g.calibration is None
        cal = g.calibrate(np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0, 4.0]), far=0.0)
        assert g.threshold == cal.threshold and cal.tar == 1.0 and cal.far == 0.0
    with Gallery.open(tmp_path / "g") as g:
        assert g.calibration == cal
        g.threshold = None
        assert g.identify(centres[0]).known is None


def test_empty_gallery_answers_no_match(tmp_path: Path) -> None:
    with Gallery.create(tmp_path / "g", DIM) as g:
        assert g.identify(np.zeros(DIM)).matches == []
        g.threshold = 1.0
        assert g.identify(np.zeros(DIM)).known is False


def test_readers_see_other_processes_commits(tmp_path: Path) -> None:
    centres, samples = clustered(8, 2, DIM, seed=5)
    writer = Gallery.create(tmp_path / "g", DIM, index="hnsw", M=8)
    reader = Gallery.open(tmp_path / "g", read_only=True)
    writer.enroll("a", samples[0])
    assert reader.identify(centres[0], k=1).matches[0].subject == "a"  # picked up on the next call
    writer.enroll("b", samples[1])
    writer.remove("a")
    writer.threshold = 0.3
    result = reader.identify(centres[0], k=2)
    assert [m.subject for m in result.matches] == ["b"] and result.known is False
    with pytest.raises(ValueError, match="read-only"):
        reader.enroll("c", samples[2])
    assert reader.verify()["sequences"] == 2
    writer.close()
    reader.close()


def test_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    _, samples = clustered(2, 2, DIM)
    with Gallery.create(tmp_path / "g", DIM) as g:
        other = Gallery.open(tmp_path / "g", lock_timeout=0.2)
        with g._lock:  # a write in progress elsewhere
            with pytest.raises(LockTimeout, match="another writer"):
                other.enroll("x", samples[0])
        assert other.enroll("x", samples[0]) and len(g) == 2
        other.close()


@pytest.mark.parametrize("damage", ["delete", "corrupt", "manifest"])
def test_missing_or_damaged_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    centres, samples = clustered(5, 2, DIM, seed=6)
    with Gallery.create(tmp_path / "g", DIM) as g:
        _fill(g, samples)
    index_file = next((tmp_path / "g").glob("index-*.faiss"))
    if damage == "delete":
        index_file.unlink()
    elif damage == "corrupt":
        index_file.write_bytes(b"\0" * 100)
    else:
        (tmp_path / "g" / "index.json").write_text("{not json")
    with Gallery.open(tmp_path / "g") as g:
        assert g.verify()["sequences"] == 10
        assert g.identify(centres[3], k=1).matches[0].subject == _subject(3)


def test_reindex_switches_kind_for_every_process(tmp_path: Path) -> None:
    centres, samples = clustered(30, 4, DIM, seed=7)
    with Gallery.create(tmp_path / "g", DIM) as g, Gallery.open(tmp_path / "g") as other:
        _fill(g, samples)
        g.reindex("ivf", nlist=4, train_min=64)
        assert g.index_kind == "ivf" and g.info()["index_stage"] == "ivf"
        assert other.identify(centres[2], k=1).matches[0].subject == _subject(2)
        assert other.info()["index_stage"] == "ivf"
        g.reindex("hnsw", M=8)
    with Gallery.open(tmp_path / "g") as g:
        assert g.index_kind == "hnsw" and g.index_options["M"] == 8 and g.verify()["sequences"] == 120


def test_hnsw_removals_trigger_a_rebuild(tmp_path: Path) -> None:
    centres, samples = clustered(10, 2, DIM, seed=8)
    with Gallery.create(tmp_path / "g", DIM, index="hnsw", M=8, max_dead_fraction=0.15) as g:
        _fill(g, samples)
        g.remove(_subject(0))
        assert g._live.index.ntotal == 20  # tombstoned
        g.remove(_subject(1))
        assert g._live.index.ntotal == 16  # 4/20 dead > 15%: rebuilt without them
        assert g.identify(centres[0], k=1).matches[0].subject not in (_subject(0), _subject(1))
    assert json.loads((tmp_path / "g" / "index.json").read_text())["ntotal"] == 16  # the rebuilt index was saved


def test_leave_one_out_distances(tmp_path: Path) -> None:
    centres, samples = clustered(12, 3, DIM, seed=10)
    with Gallery.create(tmp_path / "g", DIM) as g:
        _fill(g, samples)
        g.enroll("single", centres[0] + 20.0)
        genuine, impostor = g.leave_one_out_distances()
        vectors = samples.reshape(-1, DIM)
    assert len(genuine) == 36 and len(impostor) == 37
    labels = np.repeat(np.arange(12), 3)
    d = pairwise_distances(vectors, vectors, "euc")
    np.fill_diagonal(d, np.inf)
    same = labels[:, None] == labels[None, :]
    np.testing.assert_allclose(np.sort(genuine), np.sort(np.where(same, d, np.inf).min(1)), rtol=1e-4)
    assert impostor.max() > 15.0  # the single far-away subject's best impostor
    assert genuine.max() < np.sort(impostor)[1]


def test_errors_name_what_is_wrong(tmp_path: Path) -> None:
    with Gallery.create(tmp_path / "g", DIM) as g:
        with pytest.raises(ValueError, match=r"expected \[16\] or \[N, 16\]"):
            g.enroll("a", np.zeros(8))
        with pytest.raises(ValueError, match="NaN"):
            g.enroll("a", np.full(DIM, np.nan))
        with pytest.raises(ValueError, match="subject name . . starts with"):
            g.enroll(" ", np.zeros(DIM))
        with pytest.raises(ValueError, match="provenance has 1 entries"):
            g.enroll("a", np.zeros((2, DIM)), provenance=[{}])
        with pytest.raises(ValueError, match="JSON"):
            g.enroll("a", np.zeros(DIM), provenance={"x": object()})
        with pytest.raises(KeyError, match="'nobody' is not enrolled"):
            g.update("nobody", np.zeros(DIM))
        assert len(g) == 0 and g.subjects() == []  # failed writes left nothing behind
    with pytest.raises(ValueError, match="already exists"):
        Gallery.create(tmp_path / "g", DIM)
    with pytest.raises(FileNotFoundError, match="no gallery there"):
        Gallery.open(tmp_path / "nothing")
    with pytest.raises(ValueError, match="dim 16 / euc"):
        Gallery.open_or_create(tmp_path / "g", 32)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="not an empty folder"):
        Gallery.create(tmp_path / "full", DIM)


def test_files_on_disk(tmp_path: Path) -> None:
    with Gallery.create(tmp_path / "g", DIM) as g:
        g.enroll("a", np.ones((2, DIM)))
    names = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert names[0] == "gallery.db" and names[-2:] == ["index.json", "write.lock"]
    manifest = json.loads((tmp_path / "g" / "index.json").read_text())
    assert manifest["generation"] == 1 and manifest["live"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    for name in (manifest["file"], "index.json", "gallery.db"):  # readable by others, as plain files (umask 022)
        assert os.stat(tmp_path / "g" / name).st_mode & 0o044 == 0o044


def test_tune_changes_search_options_for_every_process(tmp_path: Path) -> None:
    centres, samples = clustered(10, 2, DIM, seed=11)
    with Gallery.create(tmp_path / "g", DIM, index="hnsw", M=8) as g, Gallery.open(tmp_path / "g") as other:
        _fill(g, samples)
        assert g.tune(ef_search=200)["ef_search"] == 200 and g._live.index.options["ef_search"] == 200
        assert other.identify(centres[1], k=1).matches[0].subject == _subject(1)
        assert other._live.index.options["ef_search"] == 200
        with pytest.raises(ValueError, match="not search options of index 'hnsw'"):
            g.tune(M=16)
    with Gallery.open(tmp_path / "g") as g:
        assert g.index_options["ef_search"] == 200 and g.index_options["M"] == 8
