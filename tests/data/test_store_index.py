"""The columnar store index: lazy open, select and lookups against naive loops, frame reads, corruption errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import gaitforge.data.store_columns as store_columns
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreFormatError, StoreWriter
from gaitforge.data.store_columns import KeyIndex, find_duplicates
from gaitforge.data.store_reads import SPAN_FACTOR


def _seq(n: int, t: int | None = None) -> Sequence:
    """Sequence ``n``: 40 subjects × 5 conditions × 3 views; frame ``f`` of the silhouette is filled with n + f."""
    t = t or 3 + n % 5
    s, rest = divmod(n, 15)
    sil = ((n + np.arange(t, dtype=np.int64)) % 251).astype(np.uint8)[:, None, None] * np.ones((1, 4, 3), np.uint8)
    mods = {"sil": sil}
    if n % 4 == 0:
        mods["pose"] = np.full((t, 17, 3), n, np.float32)
    meta = {"n": n, "tag": "é"} if n % 3 == 0 else {}
    return Sequence(f"s{s:03d}", f"nm-{rest // 3:02d}", f"{(rest % 3) * 90:03d}", mods, meta)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index") / "store"
    with StoreWriter(root, shard_bytes=4096) as w:  # many shards
        for n in range(600):
            w.add(_seq(n))
    return root


def test_open_reads_no_column_until_needed(big_store: Path) -> None:
    store = SequenceStore(big_store)
    assert len(store) == 600 and store.modalities == ["sil", "pose"]
    assert store._index._cols == {}
    store.select(views="090")
    assert set(store._index._cols) == {"view"}
    assert len(list(big_store.glob("sil.*.bin"))) > 10


def test_round_trip_every_sequence(big_store: Path) -> None:
    store = SequenceStore(big_store, verify=True)
    for n, rec in enumerate(store.records):
        seq = _seq(n)
        assert rec.key == seq.key and rec.length == seq.length and rec.meta == seq.meta
        assert rec.modalities == [m for m in ("sil", "pose") if m in seq.modalities]
        for m, arr in seq.modalities.items():
            np.testing.assert_array_equal(store.array(n, m), arr)
    assert store.records[-1].key == _seq(599).key
    assert [r.key for r in store.records[10:13]] == [_seq(n).key for n in (10, 11, 12)]
    with pytest.raises(IndexError, match="out of range for 600"):
        store.record(600)


@pytest.mark.parametrize(
    "query",
    [
        {"subjects": ["s001", "s007", "nobody"]},
        {"conditions": "nm-02", "views": ["000", "180"]},
        {"subjects": "s003", "modalities": "pose"},
        {"modalities": ["sil", "pose"], "views": "090"},
        {"modalities": "rgb"},
        {"subjects": []},
        {},
    ],
)
def test_select_matches_a_naive_loop(big_store: Path, query: dict) -> None:
    store = SequenceStore(big_store)

    def wanted(value: str, key: str) -> bool:
        q = query.get(key)
        return q is None or value in ({q} if isinstance(q, str) else set(q))

    naive = [
        n
        for n, r in enumerate(store.records)
        if wanted(r.subject, "subjects")
        and wanted(r.condition, "conditions")
        and wanted(r.view, "views")
        and all(
            m in r.arrays
            for m in (
                [query["modalities"]] if isinstance(query.get("modalities"), str) else query.get("modalities", [])
            )
        )
    ]
    assert store.select(**query) == naive


def test_lookups_and_label_columns(big_store: Path) -> None:
    store = SequenceStore(big_store)
    for n in range(0, 600, 7):
        assert store.index_of(_seq(n).key) == n
    for missing in ("s000/nm-00/045", "s999/nm-00/000", "a/b", "x"):
        with pytest.raises(KeyError, match="no sequence"):
            store.index_of(missing)
    assert store.subjects() == [f"s{s:03d}" for s in range(40)]
    assert store.labels("view", [0, 1, 2, 3]) == ["000", "090", "180", "000"]
    assert store.labels("subject")[-1] == "s039"
    np.testing.assert_array_equal(store.lengths([5, 6]), [3, 4])
    with pytest.raises(ValueError, match="expected one of"):
        store.labels("type")


@pytest.mark.parametrize(
    "idx",
    [
        [0, 1, 2],  # consecutive: straight into the output
        [2, 0, 0, 1],  # dense, unordered, repeats: one span read
        [0, 40, 41, 79],  # sparse, increasing: runs read in place
        [79, 3, 3, 50, 4],  # sparse, unordered, repeats
        [],
    ],
)
def test_frames_every_read_path(tmp_path: Path, idx: list[int]) -> None:
    rng = np.random.default_rng(1)
    arrays = {
        "sil": rng.integers(0, 256, (80, 5, 7), dtype=np.uint8),
        "heatmap": rng.random((80, 3, 4, 2)).astype(np.float16),
        "feat": rng.random(80),  # 1-D per sequence: scalar frames
    }
    with StoreWriter(tmp_path / "s") as w:
        w.add(Sequence("a", "b", "c", {"sil": np.zeros((2, 5, 7), np.uint8)}))  # a non-zero offset next
        w.add(Sequence("a", "b", "d", arrays))
    store = SequenceStore(tmp_path / "s")
    for m, arr in arrays.items():
        got = store.frames(1, m, np.array(idx, np.int64))
        assert got.dtype == arr.dtype and got.shape == (len(idx), *arr.shape[1:])
        np.testing.assert_array_equal(got, arr[idx])
    assert 80 > SPAN_FACTOR * 3  # the sparse cases above do take the run path
    with pytest.raises(ValueError, match="expected a 1-D array"):
        store.frames(1, "sil", [[0]])
    with pytest.raises(KeyError, match=r"'a/b/c' has no modality 'feat'; it has \['sil'\]"):
        store.frames(0, "feat", [0])


def test_pickled_store_carries_no_columns(big_store: Path) -> None:
    store = SequenceStore(big_store)
    store.select(subjects="s001")
    store.record(5)
    blob = pickle.dumps(store)
    assert len(blob) < 10_000
    clone = pickle.loads(blob)
    assert clone._index._cols == {}
    assert clone.record(5) == store.record(5)
    np.testing.assert_array_equal(clone.frames(9, "sil", [1, 0]), store.frames(9, "sil", [1, 0]))


def test_reader_survives_republish_by_a_writer(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with StoreWriter(root, append=True) as w:
        w.add(_seq(0))
    old = SequenceStore(root)
    for n in (1, 2, 3):  # three more generations: the one `old` opened is deleted
        with StoreWriter(root, append=True) as w:
            w.add(_seq(n))
    assert sorted(p.name for p in root.glob("index.*.idx")) == ["index.000003.idx", "index.000004.idx"]
    assert len(old) == 1 and old.record(0).key == _seq(0).key  # its index file is still open
    assert len(SequenceStore(root, verify=True)) == 4


# -- corruption of the index file: each error names the file and the member -----------------------------


def _manifest(root: Path) -> dict:
    return json.loads((root / "index.json").read_text())


def _poke(root: Path, member: str, at: int, value: bytes) -> None:
    """Overwrite bytes of one member of the index file."""
    offset, _, _ = _manifest(root)["columns"][member]
    with open(root / _manifest(root)["index"], "r+b") as f:
        f.seek(offset + at)
        f.write(value)


def test_corrupted_column_names_the_file_and_member(big_store: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(big_store, root)
    _poke(root, "sil.offset.npy", 200, b"\x07")
    store = SequenceStore(root)  # opening reads no column
    assert store.select(subjects="s001")  # neither does a select on labels
    with pytest.raises(StoreFormatError, match=r"index\.000001\.idx: member 'sil\.offset\.npy' .* is corrupted"):
        store.frames(3, "sil", [0])
    with pytest.raises(StoreFormatError, match=r"member 'sil\.offset\.npy' .* is corrupted"):
        SequenceStore(root, verify=True)


def _rewrite(root: Path, edit) -> None:
    """Change columns through the builder, keeping checksums valid: what a buggy writer could produce."""
    from gaitforge.data.store_open import open_index
    from gaitforge.data.store_writer import publish_index

    reader, _ = open_index(root)
    builder = store_columns.IndexBuilder()
    fmap = np.array([builder.file_code(n, s) for n, s in reader.manifest.files], np.int32)
    builder.extend({k: v.copy() for k, v in reader.columns().items()}, reader.tables(), reader.modalities, fmap)
    edit(builder)
    publish_index(root, builder, 2)


@pytest.mark.parametrize(
    ("edit", "call", "message"),
    [
        (
            lambda b: b.cols["sil.offset"].a.__setitem__(1, 3),
            "frames",
            r"member 'sil\.offset\.npy': row 1 \(sequence 'a/b/d', 1 row\(s\) in all\): offset is 3; expected a "
            r"non-negative multiple of 64",
        ),
        (
            lambda b: b.cols["sil.offset"].a.__setitem__(1, 64 * 10**6),
            "frames",
            r"member 'sil\.offset\.npy': row 1 .*offset \+ bytes = \d+ exceeds the size of 'sil\.00000\.bin'",
        ),
        (
            lambda b: b.cols["sil.file"].a.__setitem__(0, 1),
            "frames",
            r"member 'sil\.file\.npy': row 0 .*file code 1 does not name a sil file",
        ),
        (
            lambda b: b.cols["length"].a.__setitem__(0, 0),
            "frames",
            r"member 'length\.npy': row 0 .*length is 0; expected >= 1",
        ),
        (
            lambda b: b.cols["view"].a.__setitem__(1, 9),
            "select",
            r"member 'view\.npy': row 1 has code 9; expected 0\.\.2 \(entries of member 'views\.json'\)",
        ),
        (
            lambda b: b.cols["view"].a.__setitem__(1, 0),
            "verify",
            r"member 'subject\.npy': row 1 .*the key repeats an earlier row's key",
        ),
        (
            lambda b: b.cols["meta_nbytes"].a.__setitem__(0, 10**6),
            "record",
            r"member 'meta_offset\.npy': row 0 .*exceeds the size of 'meta\.00000\.jsonl'",
        ),
    ],
)
def test_inconsistent_columns_name_member_row_and_sequence(tmp_path: Path, edit, call: str, message: str) -> None:
    root = tmp_path / "s"
    with StoreWriter(root, append=True) as w:
        w.add(Sequence("a", "b", "c", {"sil": np.ones((2, 3, 3), np.uint8)}, {"m": 1}))
        w.add(Sequence("a", "b", "d", {"sil": np.ones((2, 3, 3), np.uint8)}))
        w.add(Sequence("x", "y", "z", {"pose": np.ones((1, 17, 3), np.float32)}))
    _rewrite(root, edit)
    store = SequenceStore(root)
    action = {
        "frames": lambda: store.frames(1, "sil", [0]),
        "select": lambda: store.select(views="c"),
        "verify": store.verify,
        "record": lambda: store.record(0).meta,
    }[call]
    with pytest.raises(StoreFormatError, match=message) as exc:
        action()
    assert "index.000002.idx" in str(exc.value)


def test_corrupted_metadata_line(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with StoreWriter(root) as w:
        w.add(Sequence("a", "b", "c", {"sil": np.ones((2, 3, 3), np.uint8)}, {"m": 1}))
    (root / "meta.00000.jsonl").write_bytes(b"[1,2,3]\n")
    with pytest.raises(StoreFormatError, match=r"meta\.00000\.jsonl: bytes 0\.\.7 \(metadata of sequence 'a/b/c'\)"):
        SequenceStore(root).record(0).meta  # noqa: B018 - metadata is read on first access


# -- the in-memory pieces against naive references ----------------------------------------------------------


def test_find_duplicates_against_a_loop() -> None:
    rng = np.random.default_rng(0)
    s, c, v = (rng.integers(0, k, 400).astype(np.int32) for k in (5, 4, 3))
    dup, first = find_duplicates(s, c, v)
    seen: dict[tuple, int] = {}
    exp_dup, exp_first = [], []
    for i, key in enumerate(zip(s.tolist(), c.tolist(), v.tolist())):
        if key in seen:
            exp_dup.append(i)
            exp_first.append(seen[key])
        else:
            seen[key] = i
    assert dup.tolist() == exp_dup and first.tolist() == exp_first


def test_key_index_across_batch_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_columns, "_MERGE_EVERY", 16)
    rng = np.random.default_rng(0)
    keys = list({tuple(rng.integers(0, 30, 3).tolist()) for _ in range(300)})
    base = np.array(keys[:50], np.int32)
    ki = KeyIndex(base[:, 0], base[:, 1], base[:, 2])
    for row, k in enumerate(keys[50:], start=50):
        ki.add(*k, row)
    assert len(ki) == len(keys)
    for row, k in enumerate(keys):
        assert ki.lookup(*k) == row
    assert ki.lookup(31, 0, 0) == -1 and ki.lookup(keys[0][0], 99, 0) == -1


@pytest.mark.parametrize("prefetch", [True, False])
def test_read_batch_matches_frames(big_store: Path, prefetch: bool) -> None:
    store = SequenceStore(big_store)
    rng = np.random.default_rng(3)
    rows = [int(r) for r in rng.integers(0, 600, 9)]
    picks = [rng.integers(0, _seq(r).length, 4) for r in rows]
    batch = store.read_batch(rows, "sil", picks, prefetch=prefetch)
    assert batch.shape == (9, 4, 4, 3) and batch.dtype == np.uint8
    for b, (r, k) in enumerate(zip(rows, picks)):
        np.testing.assert_array_equal(batch[b], store.frames(r, "sil", k))
        np.testing.assert_array_equal(batch[b], _seq(r).modalities["sil"][k])


def test_read_batch_errors(big_store: Path) -> None:
    store = SequenceStore(big_store)
    with pytest.raises(ValueError, match=r"item 1 \(sequence 5\) has 1 frame indices"):
        store.read_batch([4, 5], "sil", [[0, 1], [0]])
    with pytest.raises(ValueError, match="expected B > 0"):
        store.read_batch([], "sil", [])
    with pytest.raises(IndexError, match=r"'s000/nm-01/180' has 3 frames; frame indices 0\.\.3 requested"):
        store.read_batch([5], "sil", [[0, 3]])
    with pytest.raises(KeyError, match="has no modality 'pose'"):
        store.read_batch([0, 1], "pose", [[0], [0]])


def test_frames_against_numpy_indexing_many_random_picks(big_store: Path) -> None:
    store = SequenceStore(big_store)
    rng = np.random.default_rng(7)
    for _ in range(200):
        r = int(rng.integers(0, 600))
        t = _seq(r).length
        k = rng.integers(0, t, int(rng.integers(0, 12)))
        if rng.random() < 0.3:
            k = np.sort(k)
        np.testing.assert_array_equal(store.frames(r, "sil", k), store.array(r, "sil")[k])


def test_record_metadata_is_read_on_first_access(big_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SequenceStore(big_store)
    calls: list[int] = []
    real = store._meta
    monkeypatch.setattr(store, "_meta", lambda i: calls.append(i) or real(i))
    rec = store.record(3)
    assert calls == [] and rec.key == _seq(3).key and rec.length == _seq(3).length
    assert rec.meta == {"n": 3, "tag": "é"} and calls == [3]
    assert rec.meta is rec.meta and calls == [3]
    clone = pickle.loads(pickle.dumps(store.record(6)))
    assert clone.meta == {"n": 6, "tag": "é"} and clone == store.record(6)
    with pytest.raises(AttributeError, match="no attribute 'metadata'"):
        store.record(7).metadata  # noqa: B018


def test_empty_store(tmp_path: Path) -> None:
    StoreWriter(tmp_path / "e").close()
    store = SequenceStore(tmp_path / "e", verify=True)
    assert len(store) == 0 and store.modalities == [] and list(store.records) == []
    assert store.select() == [] and store.select(subjects="a", modalities="sil") == [] and store.subjects() == []
    with StoreWriter(tmp_path / "e", append=True) as w:
        assert len(w) == 0 and "a/b/c" not in w
        w.add(_seq(1))
    assert SequenceStore(tmp_path / "e").index_of(_seq(1).key) == 0
