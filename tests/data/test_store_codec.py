"""Compressed arrays in the store: lossless round trips through every read path, corruption caught, mixed codecs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter
from gaitforge.data.store_codec import CODECS, encode_frames
from gaitforge.data.store_format import FRAME_CODECS, StoreFormatError
from gaitforge.data.store_merge import merge_stores


def _silhouettes(rng: np.random.Generator, t: int) -> np.ndarray:
    """Blobs with grey edges, like resized silhouettes."""
    yy, xx = np.mgrid[:32, :22]
    frames = []
    for k in range(t):
        cx, cy = 11 + 4 * np.sin(k / 3), 16 + rng.normal()
        d = np.hypot((xx - cx) / 5, (yy - cy) / 12)
        frames.append(np.clip((1 - d) * 1500, 0, 255).astype(np.uint8))
    return np.stack(frames)


def _seqs(n: int = 6, seed: int = 0) -> list[Sequence]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        t = 5 + 3 * k
        mods = {"sil": _silhouettes(rng, t), "pose": rng.normal(size=(t, 17, 3)).astype(np.float32)}
        out.append(Sequence(f"{k:03d}", "nm-01", "090", mods, {"k": k}))
    return out


def _write(root: Path, seqs: list[Sequence], **kw) -> SequenceStore:
    with StoreWriter(root, **kw) as w:
        for s in seqs:
            w.add(s)
    return SequenceStore(root)


def _raw_then_lz4(root: Path, seqs: list[Sequence], raw: int) -> SequenceStore:
    """A store whose first ``raw`` sequences are raw and the others appended with lz4."""
    _write(root, seqs[:raw])
    with StoreWriter(root, append=True, codec="lz4") as w:
        for s in seqs[raw:]:
            w.add(s)
    return SequenceStore(root)


def test_codec_names_agree_with_the_format() -> None:
    assert tuple(CODECS) == FRAME_CODECS


@pytest.mark.parametrize("codec", ["lz4", "lz4hc"])
def test_every_read_path_returns_the_written_arrays(tmp_path: Path, codec: str) -> None:
    seqs = _seqs()
    store = _write(tmp_path / "s", seqs, codec=codec)
    store.verify()
    rng = np.random.default_rng(1)
    for i, seq in enumerate(seqs):
        for m, arr in seq.modalities.items():
            assert store.record(i).arrays[m].codec == codec
            got = store.array(i, m)
            assert got.dtype == arr.dtype and np.array_equal(got, arr) and not got.flags.writeable
            idx = rng.integers(0, len(arr), 7)  # any order, repeats
            assert np.array_equal(store.frames(i, m, idx), arr[idx])
            assert np.array_equal(store.frames(i, m, [len(arr) - 1]), arr[-1:])
    idx = [np.array([0, 4, 4]), np.array([2, 1, 0]), np.array([7, 3, 9])]
    batch = store.read_batch([0, 1, 3], "sil", idx)
    for b, (i, k) in enumerate(zip([0, 1, 3], idx)):
        assert np.array_equal(batch[b], seqs[i].modalities["sil"][k])


def test_silhouettes_take_less_space(tmp_path: Path) -> None:
    seqs = _seqs()
    raw = _write(tmp_path / "raw", seqs)
    lz4 = _write(tmp_path / "lz4", seqs, codec={"sil": "lz4"})
    size = {name: sum(p.stat().st_size for p in s.root.glob("sil.*.bin")) for name, s in (("raw", raw), ("lz4", lz4))}
    assert size["lz4"] * 2 < size["raw"]
    assert lz4.record(0).arrays["pose"].codec == "raw"  # only the named modality is compressed
    manifest = json.loads((lz4.root / "index.json").read_text())
    assert manifest["modalities"]["sil"] == [{"dtype": "|u1", "frame_shape": [32, 22], "codec": "lz4"}]
    assert "codec" not in manifest["modalities"]["pose"][0]  # raw stays implicit: old stores read unchanged


def test_appending_with_another_codec_and_merging_keep_both_layouts(tmp_path: Path) -> None:
    seqs = _seqs(8)
    _raw_then_lz4(tmp_path / "a", seqs, 4)
    _write(tmp_path / "b", [Sequence("900", "nm-01", "000", seqs[0].modalities)], codec="lz4hc")
    merge_stores([tmp_path / "a", tmp_path / "b"], tmp_path / "m")
    store = SequenceStore(tmp_path / "m", verify=True)
    assert [store.record(i).arrays["sil"].codec for i in range(len(store))] == ["raw"] * 4 + ["lz4"] * 4 + ["lz4hc"]
    for i, seq in enumerate(seqs + [seqs[0]]):
        assert np.array_equal(store.array(i, "sil"), seq.modalities["sil"])


def test_a_corrupt_compressed_frame_is_reported(tmp_path: Path) -> None:
    seq = _seqs(1)[0]
    store = _write(tmp_path / "s", [seq], codec="lz4")
    entry = store.record(0).arrays["sil"]
    coded = encode_frames(seq.modalities["sil"], "lz4")
    header = 4 * len(seq.modalities["sil"])
    path = store.root / entry.file
    data = bytearray(path.read_bytes())
    assert bytes(data[entry.offset : entry.offset + len(coded)]) == coded
    data[entry.offset + header : entry.offset + header + 8] = b"\xff" * 8  # the first frame's block
    path.write_bytes(bytes(data))
    store = SequenceStore(tmp_path / "s")
    with pytest.raises(StoreFormatError, match="do not match field 'sil.checksum'"):
        store.verify()
    with pytest.raises(StoreFormatError, match="do not match field 'sil.checksum'"):  # checked on read too
        store.frames(0, "sil", [3])
    store = SequenceStore(tmp_path / "s", verify_reads=False)  # the decoder's own report
    with pytest.raises(StoreFormatError, match=r"frame 0 of the lz4 array .* decode"):
        store.frames(0, "sil", [0])
    assert np.array_equal(store.frames(0, "sil", [3]), seq.modalities["sil"][[3]])  # other frames still read
    for idx in ([[3, 0], [4, 2]], [[3, 4], [2, 0]]):  # the bad frame second in the first item, or in the second
        with pytest.raises(StoreFormatError, match=r"frame 0 of the lz4 array .* decode"):
            store.read_batch([0, 0], "sil", idx)


def test_a_broken_frame_table_is_reported(tmp_path: Path) -> None:
    seq = _seqs(1)[0]
    store = _write(tmp_path / "s", [seq], codec="lz4")
    entry = store.record(0).arrays["sil"]
    path = store.root / entry.file
    data = bytearray(path.read_bytes())
    data[entry.offset : entry.offset + 4] = (1 << 30).to_bytes(4, "little")  # frame 0 ends after frame 1
    path.write_bytes(bytes(data))
    with pytest.raises(StoreFormatError, match="frame table .* not increasing"):
        SequenceStore(tmp_path / "s").frames(0, "sil", [1])


def test_unknown_codecs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="codec is 'zip'; expected one of"):
        StoreWriter(tmp_path / "x", codec="zip")
    with pytest.raises(ValueError, match="codec of modality 'sil' is 'zip'"):
        StoreWriter(tmp_path / "x", codec={"sil": "zip"})
    store = _write(tmp_path / "s", _seqs(1), codec="lz4")
    manifest = json.loads((store.root / "index.json").read_text())
    manifest["modalities"]["sil"][0]["codec"] = "zip"
    (store.root / "index.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreFormatError, match=r"field 'modalities.sil\[0\].codec' is 'zip'"):
        SequenceStore(store.root).frames(0, "sil", [0])


def test_extents_bound_each_coded_array_from_the_index_alone(tmp_path: Path) -> None:
    seqs = _seqs(8)
    store = _write(tmp_path / "s", seqs, codec={"sil": "lz4", "pose": "raw"})
    ext_sil, ext_pose = store._extents("sil"), store._extents("pose")
    entries = [store.record(i).arrays for i in range(len(store))]
    starts = sorted((e[m].file, e[m].offset) for e in entries for m in e)
    for i, seq in enumerate(seqs):
        sil, pose = entries[i]["sil"], entries[i]["pose"]
        assert ext_pose[i] == pose.nbytes  # raw: exact
        coded = len(encode_frames(seq.modalities["sil"], "lz4"))
        nxt = [o for f, o in starts if f == sil.file and o > sil.offset]
        limit = nxt[0] if nxt else (store.root / sil.file).stat().st_size
        assert coded <= ext_sil[i] <= limit - sil.offset


def test_one_read_and_two_read_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gaitforge.data.store_codec as codec_mod

    seqs = _seqs(5)
    store = SequenceStore(_write(tmp_path / "s", seqs, codec="lz4").root, verify_reads=False)  # reads counted
    reads: list[int] = []
    real = store._handles.read_into
    monkeypatch.setattr(store._handles, "read_into", lambda *a: (reads.append(1), real(*a))[1])
    idx = [3, 0, 3, 1]
    one = store.frames(4, "sil", idx)
    assert len(reads) == 1  # frame table and frames in one pread
    monkeypatch.setattr(codec_mod, "ONE_READ_MAX", 0)
    reads.clear()
    two = store.frames(4, "sil", idx)
    assert len(reads) == 2 and np.array_equal(one, two) and np.array_equal(one, seqs[4].modalities["sil"][idx])


def test_a_frame_table_beyond_the_array_extent_is_reported(tmp_path: Path) -> None:
    seqs = _seqs(2)
    store = _write(tmp_path / "s", seqs, codec="lz4")
    entry = store.record(0).arrays["sil"]
    t = len(seqs[0].modalities["sil"])
    path = store.root / entry.file
    data = bytearray(path.read_bytes())
    last = entry.offset + 4 * (t - 1)
    data[last : last + 4] = (1 << 20).to_bytes(4, "little")  # the last frame ends far past the next array
    path.write_bytes(bytes(data))
    with pytest.raises(StoreFormatError, match=r"frame table at byte .* can span at most"):
        SequenceStore(tmp_path / "s", verify_reads=False).frames(0, "sil", [0])
    with pytest.raises(StoreFormatError, match=r"sil\.00000\.bin.*sequence '.*'"):  # checked on read: named
        SequenceStore(tmp_path / "s").frames(0, "sil", [0])


def test_read_batch_over_mixed_codecs_and_into_a_given_array(tmp_path: Path) -> None:
    seqs = _seqs(6)
    store = _raw_then_lz4(tmp_path / "a", seqs, 3)
    rows, idx = [0, 4, 2, 5], [[0, 1, 4], [4, 4, 0], [2, 1, 0], [0, 3, 4]]
    out = np.full((4, 3, 32, 22), 7, np.uint8)
    got = store.read_batch(rows, "sil", idx, out=out)
    assert got is out
    for b, (r, k) in enumerate(zip(rows, idx)):
        assert np.array_equal(out[b], seqs[r].modalities["sil"][k])
    with pytest.raises(ValueError, match=r"out is \|u1 \[4, 3, 32, 21\]; expected C-contiguous \|u1 \[4, 3, 32, 22\]"):
        store.read_batch(rows, "sil", idx, out=out[..., :21].copy())
    with pytest.raises(ValueError, match="not C-contiguous"):
        store.read_batch(rows, "sil", idx, out=np.empty((4, 3, 32, 44), np.uint8)[..., ::2])


def test_will_need_announces_each_array_byte_range(tmp_path: Path) -> None:
    seqs = _seqs(6)
    store = _write(tmp_path / "s", seqs, codec={"sil": "lz4", "pose": "raw"})
    calls: list[tuple[str, int, int]] = []
    store._handles.will_need = lambda name, offset, nbytes: calls.append((name, offset, nbytes))
    store.will_need([4, 1], "pose")
    assert calls == [(store.record(i).arrays["pose"].file, store.record(i).arrays["pose"].offset,
                      store.record(i).arrays["pose"].nbytes) for i in (4, 1)]  # fmt: skip
    calls.clear()
    store.will_need([2], "sil")
    (name, offset, nbytes), entry = calls[0], store.record(2).arrays["sil"]
    assert (name, offset) == (entry.file, entry.offset)
    assert nbytes >= len(encode_frames(seqs[2].modalities["sil"], "lz4"))
    store.will_need([], "sil")
    with pytest.raises(IndexError, match="sequence index 6 out of range"):
        store.will_need([6], "sil")
    with pytest.raises(KeyError, match="no modality 'rgb'"):
        store.will_need([0], "rgb")
