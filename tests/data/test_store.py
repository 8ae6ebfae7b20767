"""Sequence store: round trip, memmap views, append/resume, crash safety and every corruption error."""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SCHEMA_VERSION, SequenceStore, StoreFormatError, StoreWriter


def _all_modalities(t: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "sil": rng.integers(0, 256, (t, 64, 64), dtype=np.uint8),
        "pose": rng.random((t, 17, 3), dtype=np.float32),
        "heatmap": rng.random((t, 17, 16, 12)).astype(np.float16),
        "skeleton_map": rng.integers(0, 256, (t, 2, 64, 64), dtype=np.uint8),
        "rgb": rng.integers(0, 256, (t, 64, 64, 3), dtype=np.uint8),  # aligned with the silhouettes
        "depth": rng.integers(0, 60000, (t, 32, 24), dtype=np.uint16),
        "joints3d": rng.random((t, 24, 3), dtype=np.float32),
        "custom_feature": rng.random((t, 5)),  # unknown modality: free dtype
    }


def _write(root: Path, seqs: list[Sequence], **kw) -> Path:
    with StoreWriter(root, **kw) as w:
        for s in seqs:
            w.add(s)
    return root


@pytest.fixture
def two_seq_store(tmp_path: Path) -> Path:
    seqs = [
        Sequence("001", "nm-01", "090", _all_modalities(7, 1), {"source": "test", "k": [1, 2]}),
        Sequence("002", "bg-01", "000", {"sil": np.full((3, 64, 64), 9, np.uint8)}, {}),
    ]
    return _write(tmp_path / "store", seqs)


def test_round_trip_all_modalities(two_seq_store: Path) -> None:
    store = SequenceStore(two_seq_store, verify=True)
    assert len(store) == 2
    assert store.subjects() == ["001", "002"]
    rec = store.records[0]
    assert (rec.subject, rec.condition, rec.view, rec.length) == ("001", "nm-01", "090", 7)
    assert rec.meta == {"source": "test", "k": [1, 2]}
    assert rec.shapes["heatmap"] == (7, 17, 16, 12)
    seq = store.get(0)
    expected = _all_modalities(7, 1)
    assert set(seq.modalities) == set(expected)
    for name, arr in expected.items():
        got = seq.modalities[name]
        assert got.dtype == arr.dtype and got.shape == arr.shape, name
        np.testing.assert_array_equal(got, arr)
    assert store.get(1).modalities["sil"].sum() == 3 * 64 * 64 * 9
    assert store.index_of("002/bg-01/000") == 1


def test_get_returns_readonly_memmap_views(two_seq_store: Path) -> None:
    store = SequenceStore(two_seq_store)
    sil = store.get(0, modalities=["sil"]).modalities["sil"]
    assert list(store.get(0, ["sil"]).modalities) == ["sil"]
    assert isinstance(sil, np.memmap) or isinstance(getattr(sil, "base", None), np.memmap)
    assert not sil.flags.writeable
    assert np.shares_memory(sil, store.array(0, "sil"))
    with pytest.raises(KeyError, match=r"'002/bg-01/000' has no modality 'pose'"):
        store.get(1, ["pose"])


def test_frames_reads_requested_frames_only(two_seq_store: Path) -> None:
    store = SequenceStore(two_seq_store)
    full = _all_modalities(7, 1)["pose"]
    idx = np.array([6, 0, 0, 3])
    out = store.frames(0, "pose", idx)
    assert type(out) is np.ndarray and out.flags.writeable
    np.testing.assert_array_equal(out, full[idx])
    with pytest.raises(IndexError, match="has 7 frames"):
        store.frames(0, "pose", [7])


def test_select(store_factory) -> None:
    store = store_factory(n_subjects=4, n_conditions=2, views=("000", "090", "180"))
    assert len(store) == 24
    sel = store.select(subjects=["001", "003"], conditions="nm-02", views={"090", "180"})
    assert [store.record(i).key for i in sel] == [
        "001/nm-02/090",
        "001/nm-02/180",
        "003/nm-02/090",
        "003/nm-02/180",
    ]
    assert store.select() == list(range(24))
    assert store.select(modalities=["pose"]) == []


def test_store_pickles_without_memmaps(two_seq_store: Path) -> None:
    store = SequenceStore(two_seq_store)
    store.get(0)  # opens the maps
    assert store._maps
    blob = pickle.dumps(store)
    assert len(blob) < 20_000
    clone = pickle.loads(blob)
    assert clone._maps == {}
    np.testing.assert_array_equal(clone.get(0).modalities["sil"], store.get(0).modalities["sil"])


def test_index_is_a_small_manifest_plus_columns(two_seq_store: Path) -> None:
    index = json.loads((two_seq_store / "index.json").read_text())
    assert index["schema_version"] == SCHEMA_VERSION == 2
    assert index["count"] == 2
    assert list(index["modalities"]) == list(_all_modalities(1))
    assert index["modalities"]["sil"] == [{"dtype": "|u1", "frame_shape": [64, 64]}]
    assert index["index"] == "index.000001.idx"
    blob = (two_seq_store / index["index"]).read_bytes()

    def member(name: str) -> bytes:
        offset, size, _ = index["columns"][name]
        return blob[offset : offset + size]

    assert np.load(io.BytesIO(member("length.npy"))).tolist() == [7, 3]
    assert np.load(io.BytesIO(member("pose.layout.npy"))).tolist() == [0, -1]
    assert json.loads(member("subjects.json")) == ["001", "002"]
    assert len(blob) == max(o + n for o, n, _ in index["columns"].values())
    assert (two_seq_store / "meta.00000.jsonl").read_text() == '{"source":"test","k":[1,2]}\n'
    assert not list(two_seq_store.rglob("*.pkl"))
    assert not list(two_seq_store.parent.glob(".store.tmp-*"))


@pytest.mark.parametrize(
    ("mods", "message"),
    [
        (
            {"sil": np.zeros((0, 64, 64), np.uint8)},
            r"'sil' has shape \(0, 64, 64\); expected at least 1 frame",
        ),
        ({}, "no modalities"),
        ({"sil": np.zeros((3, 64, 64), np.float32)}, r"'sil' has dtype float32; expected uint8"),
        ({"sil": np.zeros((3, 64), np.uint8)}, r"'sil' has shape \(3, 64\); expected \[T, H, W\]"),
        ({"pose": np.zeros((3, 18, 3), np.float32)}, r"'pose' has shape \(3, 18, 3\); expected \[T, 17, 3\]"),
        ({"pose": np.zeros((3, 17, 3), np.float64)}, r"'pose' has dtype float64; expected float32"),
        ({"skeleton_map": np.zeros((3, 3, 8, 8), np.uint8)}, r"expected \[T, 2, H, W\]"),
        ({"rgb": np.zeros((3, 8, 8), np.uint8)}, r"expected \[T, H, W, 3\]"),
        (
            {"sil": np.zeros((3, 64, 64), np.uint8), "pose": np.zeros((4, 17, 3), np.float32)},
            r"'pose' has 4 frames but 'sil' has 3",
        ),
        ({"sil": np.zeros((3, 64, 64), object)}, r"'sil' has dtype object; expected a plain numeric"),
        ({"Bad Name": np.zeros((3, 2), np.float32)}, r"modality name 'Bad Name' is invalid"),
        ({"sil": [[0]]}, r"'sil' is a list; expected a numpy array"),
    ],
)
def test_add_rejects_invalid_sequences(tmp_path: Path, mods: dict, message: str) -> None:
    with StoreWriter(tmp_path / "s") as w:
        with pytest.raises(ValueError, match=message) as exc:
            w.add(Sequence("007", "cl-02", "054", mods))
        assert "'007/cl-02/054'" in str(exc.value)
        w.add(Sequence("001", "nm-01", "000", {"sil": np.ones((1, 4, 4), np.uint8)}))  # one frame is fine
    assert len(SequenceStore(tmp_path / "s")) == 1


def test_add_rejects_bad_labels_meta_and_duplicates(tmp_path: Path) -> None:
    sil = np.ones((2, 4, 4), np.uint8)
    with StoreWriter(tmp_path / "s") as w:
        with pytest.raises(ValueError, match="field 'subject' is ''"):
            w.add(Sequence("", "nm-01", "000", {"sil": sil}))
        with pytest.raises(ValueError, match="field 'view' is 'a/b'"):
            w.add(Sequence("001", "nm-01", "a/b", {"sil": sil}))
        with pytest.raises(ValueError, match="field 'meta' is not JSON-serialisable"):
            w.add(Sequence("001", "nm-01", "000", {"sil": sil}, {"x": object()}))
        w.add(Sequence("001", "nm-01", "000", {"sil": sil}))
        with pytest.raises(ValueError, match="key added twice"):
            w.add(Sequence("001", "nm-01", "000", {"sil": sil}))
    with (
        StoreWriter(tmp_path / "t", min_length=5) as w,
        pytest.raises(ValueError, match="expected at least 5 frame"),
    ):
        w.add(Sequence("001", "nm-01", "000", {"sil": sil}))


def test_existing_store_needs_overwrite_or_append(two_seq_store: Path) -> None:
    with pytest.raises(FileExistsError, match="overwrite=True"):
        StoreWriter(two_seq_store)
    with pytest.raises(ValueError, match="exclude each other"):
        StoreWriter(two_seq_store, overwrite=True, append=True)
    _write(
        two_seq_store,
        [Sequence("009", "nm-01", "000", {"sil": np.ones((2, 4, 4), np.uint8)})],
        overwrite=True,
    )
    store = SequenceStore(two_seq_store, verify=True)
    assert [r.key for r in store.records] == ["009/nm-01/000"]
    assert not list(two_seq_store.parent.glob(".store.*"))


def test_failed_writer_leaves_existing_store_intact(two_seq_store: Path) -> None:
    before = {p: p.read_bytes() for p in two_seq_store.rglob("*") if p.is_file()}
    with pytest.raises(RuntimeError, match="boom"), StoreWriter(two_seq_store, overwrite=True) as w:
        w.add(Sequence("009", "nm-01", "000", {"sil": np.ones((2, 4, 4), np.uint8)}))
        raise RuntimeError("boom")
    assert {p: p.read_bytes() for p in two_seq_store.rglob("*") if p.is_file()} == before
    assert not list(two_seq_store.parent.glob(".store.tmp-*"))
    SequenceStore(two_seq_store, verify=True)


def test_append_skips_present_keys_and_keeps_old_files(two_seq_store: Path) -> None:
    old_files = {p.name: p.read_bytes() for p in two_seq_store.glob("*.bin")}
    with StoreWriter(two_seq_store, append=True) as w:
        assert "001/nm-01/090" in w
        assert w.add(Sequence("001", "nm-01", "090", {"sil": np.zeros((2, 4, 4), np.uint8)})) == 0
        assert w.add(Sequence("003", "cl-01", "180", {"sil": np.full((4, 64, 64), 5, np.uint8)})) == 2
        assert w.skipped == 1
    for name, data in old_files.items():
        assert (two_seq_store / name).read_bytes() == data
    store = SequenceStore(two_seq_store, verify=True)
    assert [r.key for r in store.records] == ["001/nm-01/090", "002/bg-01/000", "003/cl-01/180"]
    np.testing.assert_array_equal(store.get(2).modalities["sil"], np.full((4, 64, 64), 5, np.uint8))
    np.testing.assert_array_equal(store.get(0).modalities["pose"], _all_modalities(7, 1)["pose"])


def test_append_creates_store_and_publishes_progress_on_error(tmp_path: Path) -> None:
    root = tmp_path / "resumable"
    with pytest.raises(KeyboardInterrupt), StoreWriter(root, append=True) as w:
        w.add(Sequence("001", "nm-01", "000", {"sil": np.ones((2, 4, 4), np.uint8)}))
        raise KeyboardInterrupt
    assert [r.key for r in SequenceStore(root, verify=True).records] == ["001/nm-01/000"]


def test_killed_append_writer_leaves_last_checkpoint_readable(tmp_path: Path) -> None:
    root = tmp_path / "s"
    w = StoreWriter(root, append=True, checkpoint_seconds=1e9)
    w.add(Sequence("001", "nm-01", "000", {"sil": np.ones((2, 4, 4), np.uint8)}))
    w.checkpoint()  # published: 001
    w.add(Sequence("002", "nm-01", "000", {"sil": np.ones((3, 4, 4), np.uint8)}))  # written, not yet published
    w._shards["sil"]._f.write(b"partial garbage")  # a sequence half-written when the process dies
    w._shards["sil"]._f.flush()
    # process "killed" here: nothing else runs. The published index is still consistent.
    store = SequenceStore(root, verify=True)
    assert [r.key for r in store.records] == ["001/nm-01/000"]
    orphans = [p for p in root.glob("*.bin") if p.name not in store._files]
    assert orphans
    with StoreWriter(root, append=True) as w2:  # resume: orphans removed, new data in new files
        w2.add(Sequence("002", "nm-01", "000", {"sil": np.ones((3, 4, 4), np.uint8)}))
    store = SequenceStore(root, verify=True)
    assert [r.key for r in store.records] == ["001/nm-01/000", "002/nm-01/000"]
    assert not [p for p in root.glob("*.bin") if p.name not in store._files]
    w._shards["sil"]._f.close()


def test_sharding(tmp_path: Path) -> None:
    root = tmp_path / "s"
    seqs = [Sequence(f"{i:03d}", "nm-01", "000", {"sil": np.full((10, 32, 32), i, np.uint8)}) for i in range(5)]
    _write(root, seqs, shard_bytes=25_000)
    assert len(list(root.glob("sil.*.bin"))) == 3
    store = SequenceStore(root, verify=True)
    for i in range(5):
        assert int(store.get(i).modalities["sil"][0, 0, 0]) == i


# -- corruption: each error names the file and the field ---------------------------------------------------


def _edit_manifest(root: Path, fn) -> None:
    index = json.loads((root / "index.json").read_text())
    fn(index)
    (root / "index.json").write_text(json.dumps(index))


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"index\.json: no store index"):
        SequenceStore(tmp_path)


def test_truncated_data_file(two_seq_store: Path) -> None:
    path = two_seq_store / "pose.00000.bin"
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - 10)
    with pytest.raises(
        StoreFormatError,
        match=rf"pose\.00000\.bin: size is {size - 10} bytes; field 'files\[1\]' \(pose\.00000\.bin\) "
        r"of .*index\.json expects .*truncated",
    ):
        SequenceStore(two_seq_store)


def test_extra_bytes_in_data_file(two_seq_store: Path) -> None:
    with open(two_seq_store / "sil.00000.bin", "ab") as f:
        f.write(b"x")
    with pytest.raises(StoreFormatError, match=r"sil\.00000\.bin: size is .*extra bytes"):
        SequenceStore(two_seq_store)


def test_missing_data_file(two_seq_store: Path) -> None:
    (two_seq_store / "rgb.00000.bin").unlink()
    with pytest.raises(
        FileNotFoundError,
        match=r"rgb\.00000\.bin: data file is missing; expected by field 'files\[4\]' \(rgb\.00000\.bin\)",
    ):
        SequenceStore(two_seq_store)


def test_wrong_schema_version(two_seq_store: Path) -> None:
    _edit_manifest(two_seq_store, lambda ix: ix.update(schema_version=99))
    with pytest.raises(
        StoreFormatError, match=r"index\.json: field 'schema_version' is 99; this gaitforge reads versions 1 and 2"
    ):
        SequenceStore(two_seq_store)


def test_not_json(two_seq_store: Path) -> None:
    (two_seq_store / "index.json").write_text("{not json")
    with pytest.raises(StoreFormatError, match=r"index\.json: not valid JSON"):
        SequenceStore(two_seq_store)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda ix: ix.update(format="other"), r"field 'format' is 'other'"),
        (lambda ix: ix.pop("count"), r"field 'count' is missing"),
        (lambda ix: ix.update(count="2"), r"field 'count' is '2'; expected int"),
        (lambda ix: ix.update(index="../x"), r"field 'index' is '\.\./x'; expected 'index\.NNNNNN\.idx'"),
        (lambda ix: ix["files"].append(["evil.sh", 3]), r"field 'files\[\d+\]' is \['evil\.sh', 3\]"),
        (lambda ix: ix["files"].append(ix["files"][0]), r"field 'files' lists a file twice"),
        (lambda ix: ix["files"].append(["xyz.00000.bin", 0]), r"'xyz\.00000\.bin' of an unlisted modality"),
        (lambda ix: ix["columns"].pop("length.npy"), r"field 'columns' lacks \['length\.npy'\]"),
        (
            lambda ix: ix["modalities"]["sil"][0].update(dtype="not-a-dtype"),
            r"field 'modalities\.sil\[0\]\.dtype' is not a numpy dtype",
        ),
        (
            lambda ix: ix["modalities"]["sil"][0].update(frame_shape=[64, 0]),
            r"field 'modalities\.sil\[0\]\.frame_shape' is \[64, 0\]; expected positive integers",
        ),
        (
            lambda ix: ix["columns"]["views.json"].__setitem__(1, 10**6),
            r"index\.000001\.idx: index file has \d+ bytes; field 'columns' of .*index\.json expects \d+ bytes",
        ),
    ],
)
def test_edited_manifest(two_seq_store: Path, edit, message: str) -> None:
    _edit_manifest(two_seq_store, edit)
    with pytest.raises(StoreFormatError, match=message) as exc:
        SequenceStore(two_seq_store)
    assert "index.json" in str(exc.value)


def test_checksum_mismatch_only_with_verify(two_seq_store: Path) -> None:
    store = SequenceStore(two_seq_store)
    entry = store.records[1].arrays["sil"]
    path = two_seq_store / entry.file
    with open(path, "r+b") as f:
        f.seek(entry.offset + 100)
        f.write(b"\x01")
    SequenceStore(two_seq_store)  # sizes still agree: only verify sees it
    with pytest.raises(
        StoreFormatError,
        match=r"sil\.00000\.bin: bytes .* do not match field "
        r"'sil\.checksum' row 1 of .*index\.000001\.idx \(sequence '002/bg-01/000'",
    ):
        SequenceStore(two_seq_store, verify=True)


def test_memmaps_reopen_after_fork(two_seq_store: Path) -> None:
    store = SequenceStore(two_seq_store)
    store.get(0)
    pid = os.fork()
    if pid == 0:  # child: the inherited maps are dropped and reopened
        try:
            ok = int(store.get(1).modalities["sil"].sum()) == 3 * 64 * 64 * 9 and store._pid == os.getpid()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_open_maps_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gaitforge.data.store as store_module

    monkeypatch.setattr(store_module, "MAX_OPEN_MAPS", 2)
    seqs = [Sequence(f"{i:03d}", "nm-01", "000", {"sil": np.full((4, 8, 8), i, np.uint8)}) for i in range(5)]
    root = _write(tmp_path / "s", seqs, shard_bytes=1)  # one shard per sequence
    store = SequenceStore(root)
    views = [store.array(i, "sil") for i in range(5)]
    assert len(store._maps) == 2
    assert [int(v[0, 0, 0]) for v in views] == [0, 1, 2, 3, 4]  # dropped maps stay valid for their views
