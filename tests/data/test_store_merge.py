"""Merging stores without copying data, and several worker processes writing one store through part stores."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter
from gaitforge.data.store_merge import add_store, merge_parts, merge_stores, part_path


def _seq(subject: str, n: int, modality: str = "sil") -> Sequence:
    arr = (
        np.full((2 + n % 3, 4, 4), n % 256, np.uint8)
        if modality == "sil"
        else np.full((2 + n % 3, 17, 3), n, np.float32)
    )
    return Sequence(subject, f"nm-{n:02d}", "090", {modality: arr}, {"n": n} if n % 2 else {})


def _write(root: Path, seqs: list[Sequence], **kw) -> Path:
    with StoreWriter(root, **kw) as w:
        for s in seqs:
            w.add(s)
    return root


def _content(store: SequenceStore) -> dict[str, tuple]:
    out = {}
    for i, rec in enumerate(store.records):
        out[rec.key] = (rec.meta, {m: store.array(i, m).tobytes() for m in rec.arrays})
    return out


def test_merge_links_files_and_remaps_codes(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", [_seq("001", n) for n in range(4)], shard_bytes=64)
    b = _write(tmp_path / "b", [_seq("002", n, "pose") for n in range(3)] + [_seq("001", 9)])
    merged = merge_stores([a, b], tmp_path / "m")
    store = SequenceStore(merged, verify=True)
    expected = _content(SequenceStore(a)) | _content(SequenceStore(b))
    assert _content(store) == expected
    assert [r.key for r in store.records][:4] == [f"001/nm-{n:02d}/090" for n in range(4)]
    assert store.select(subjects="001") == [0, 1, 2, 3, 7]
    assert store.select(modalities="pose") == [4, 5, 6]
    for f in merged.glob("*.bin"):  # the merged store's files are the sources' (hard links), not copies
        assert f.stat().st_nlink == 2
    assert sorted(p.name for p in merged.glob("sil.*.bin")) == [f"sil.{k:05d}.bin" for k in range(5)]


def test_duplicates_error_skip_identical(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", [_seq("001", n) for n in range(3)])
    same = _write(tmp_path / "same", [_seq("001", 1), _seq("003", 0)])
    other = _write(tmp_path / "other", [Sequence("001", "nm-02", "090", {"sil": np.zeros((2, 4, 4), np.uint8)})])
    with pytest.raises(ValueError, match=r"same: sequence '001/nm-01/090' is already in the store .*1 duplicate"):
        merge_stores([a, same], tmp_path / "m1")
    assert not (tmp_path / "m1").exists() and not list(tmp_path.glob(".m1.*"))
    assert len(SequenceStore(merge_stores([a, same], tmp_path / "m2", on_duplicate="identical"))) == 4
    with pytest.raises(ValueError, match=r"'001/nm-02/090' is already in the store .* with different content"):
        merge_stores([a, other], tmp_path / "m3", on_duplicate="identical")
    skipped = SequenceStore(merge_stores([a, other], tmp_path / "m4", on_duplicate="skip"))
    np.testing.assert_array_equal(skipped.array(2, "sil"), _seq("001", 2).modalities["sil"])
    with pytest.raises(ValueError, match="on_duplicate is 'keep'"):
        merge_stores([a], tmp_path / "m5", on_duplicate="keep")


def test_merge_into_existing_store_is_a_new_generation(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", [_seq("001", n) for n in range(2)])
    b = _write(tmp_path / "b", [_seq("002", n) for n in range(2)])
    reader = SequenceStore(a)
    with StoreWriter(a, append=True) as w:
        assert w.add_store(b) == 2
        w.add(_seq("003", 0))
    assert len(reader) == 2  # opened before: unchanged
    store = SequenceStore(a, verify=True)
    assert [r.subject for r in store.records] == ["001", "001", "002", "002", "003"]
    assert sorted(p.name for p in a.glob("index.*.idx")) == ["index.000001.idx", "index.000002.idx"]


def _worker(args: tuple[str, int]) -> int:
    root, k = args
    with StoreWriter(part_path(root, k), append=True) as w:
        for n in range(k, 12, 3):  # worker k writes every third sequence
            w.add(_seq(f"{n % 4:03d}", n))
    return k


def test_workers_write_parts_then_merge(tmp_path: Path) -> None:
    root = tmp_path / "world"
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert sorted(pool.map(_worker, [(str(root), k) for k in range(3)])) == [0, 1, 2]
    parts = sorted(p.name for p in part_path(root, 0).parent.iterdir())
    assert parts == ["part-00000", "part-00001", "part-00002"]
    merge_parts(root)
    assert not part_path(root, 0).parent.exists()
    store = SequenceStore(root, verify=True)
    assert sorted(r.key for r in store.records) == sorted(_seq(f"{n % 4:03d}", n).key for n in range(12))
    for i, rec in enumerate(store.records):
        n = int(rec.condition[3:])
        assert rec.meta == _seq("x", n).meta
        np.testing.assert_array_equal(store.array(i, "sil"), _seq("x", n).modalities["sil"])
    with pytest.raises(FileNotFoundError, match=r"\.world\.parts: no part store"):
        merge_parts(root)


def test_merge_parts_rerun_after_interruption(tmp_path: Path) -> None:
    root = tmp_path / "world"
    for k in range(2):
        _write(part_path(root, k), [_seq(f"{k:03d}", n) for n in range(3)], append=True)
    merge_stores([part_path(root, 0)], root, append=True)  # a first merge_parts died after merging part 0
    merge_parts(root)  # re-run: part 0's sequences are identical duplicates, skipped
    store = SequenceStore(root, verify=True)
    assert len(store) == 6 and store.subjects() == ["000", "001"]
    assert not [p for p in root.iterdir() if p.name.endswith(".bin") and p.stat().st_size == 0]


def test_killed_merge_leaves_destination_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = _write(tmp_path / "d", [_seq("001", 0)])
    src = _write(tmp_path / "s", [_seq("002", n) for n in range(3)])
    import gaitforge.data.store_merge as store_merge

    def dying_link(a: Path, b: Path) -> None:
        os.link(a, b)
        raise KeyboardInterrupt  # the process is stopped right after the first link

    monkeypatch.setattr(store_merge, "_link", dying_link)
    with pytest.raises(KeyboardInterrupt), StoreWriter(dest, append=True, checkpoint_seconds=1e9) as w:
        add_store(w, src)
    monkeypatch.undo()
    assert len(SequenceStore(dest, verify=True)) == 1  # the append writer published what it had: the old rows
    with StoreWriter(dest, append=True) as w:  # a later writer removes the unlisted linked file and merges again
        assert w.add_store(src) == 3
    store = SequenceStore(dest, verify=True)
    assert len(store) == 4
    listed = {name for name, _ in store._index.manifest.files}
    assert {p.name for p in dest.iterdir() if p.suffix in (".bin", ".jsonl")} == listed
