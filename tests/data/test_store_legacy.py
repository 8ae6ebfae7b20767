"""Schema-1 stores (one JSON index): still read, validated field by field, upgraded in place by an append."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreFormatError, StoreWriter
from gaitforge.data.store_format import checksum
from gaitforge.data.store_legacy import upgrade_store
from gaitforge.data.store_merge import merge_stores


def _write_v1(root: Path, seqs: list[Sequence]) -> Path:
    """A schema-1 store as the previous writer made it: shards of 64-byte aligned arrays plus index.json."""
    root.mkdir(parents=True)
    blobs: dict[str, bytearray] = {}
    records = []
    for seq in seqs:
        entries = {}
        for m, arr in seq.modalities.items():
            fname = f"{m}.00000.bin"
            blob = blobs.setdefault(fname, bytearray())
            blob += b"\0" * (-len(blob) % 64)
            entries[m] = {
                "file": fname,
                "offset": len(blob),
                "nbytes": arr.nbytes,
                "dtype": arr.dtype.str,
                "shape": list(arr.shape),
                "checksum": checksum(np.ascontiguousarray(arr)),
            }
            blob += arr.tobytes()
        records.append(
            {
                "subject": seq.subject,
                "condition": seq.condition,
                "view": seq.view,
                "length": seq.length,
                "meta": seq.meta,
                "modalities": entries,
            }
        )
    for fname, blob in blobs.items():
        (root / fname).write_bytes(bytes(blob))
    index = {
        "format": "gaitforge-sequence-store",
        "schema_version": 1,
        "modalities": sorted({m for s in seqs for m in s.modalities}),
        "files": {f: len(b) for f, b in blobs.items()},
        "sequences": records,
    }
    (root / "index.json").write_text(json.dumps(index))
    return root


def _seqs() -> list[Sequence]:
    rng = np.random.default_rng(0)
    return [
        Sequence(
            "001",
            "nm-01",
            "090",
            {"sil": rng.integers(0, 256, (7, 8, 6), dtype=np.uint8), "pose": rng.random((7, 17, 3), dtype=np.float32)},
            {"k": [1, 2]},
        ),
        Sequence("002", "bg-01", "000", {"sil": np.full((3, 8, 6), 9, np.uint8)}, {}),
    ]


@pytest.fixture
def v1_store(tmp_path: Path) -> Path:
    return _write_v1(tmp_path / "old", _seqs())


def _check_content(store: SequenceStore) -> None:
    for i, seq in enumerate(_seqs()):
        rec = store.record(i)
        assert (rec.key, rec.length, rec.meta) == (seq.key, seq.length, seq.meta)
        for m, arr in seq.modalities.items():
            np.testing.assert_array_equal(store.array(i, m), arr)
            np.testing.assert_array_equal(store.frames(i, m, [2, 0]), arr[[2, 0]])


def test_schema_1_is_read(v1_store: Path) -> None:
    store = SequenceStore(v1_store, verify=True)
    _check_content(store)
    assert store.select(modalities="pose") == [0] and store.index_of("002/bg-01/000") == 1


def test_append_upgrades_to_schema_2_keeping_data_files(v1_store: Path) -> None:
    data = {p.name: p.read_bytes() for p in v1_store.glob("*.bin")}
    with StoreWriter(v1_store, append=True) as w:
        assert "001/nm-01/090" in w
        w.add(Sequence("003", "cl-01", "180", {"sil": np.ones((2, 8, 6), np.uint8)}, {"new": True}))
    assert json.loads((v1_store / "index.json").read_text())["schema_version"] == 2
    assert {p.name: p.read_bytes() for p in v1_store.glob("*.00000.bin")} == data
    store = SequenceStore(v1_store, verify=True)
    _check_content(store)
    assert store.record(2).meta == {"new": True}


def test_upgrade_store_and_merge_from_schema_1(v1_store: Path, tmp_path: Path) -> None:
    merged = SequenceStore(merge_stores([v1_store], tmp_path / "m"), verify=True)
    _check_content(merged)
    upgrade_store(v1_store)
    _check_content(SequenceStore(v1_store, verify=True))
    with pytest.raises(FileNotFoundError, match="no store index"):
        upgrade_store(tmp_path / "nothing")


def _edit(root: Path, fn) -> None:
    index = json.loads((root / "index.json").read_text())
    fn(index)
    (root / "index.json").write_text(json.dumps(index))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda ix: ix["sequences"][0]["modalities"]["sil"].update(shape=[7, 8, 7]),
            r"field 'sequences\[0\]\.modalities\.sil\.nbytes' is 336; expected 392",
        ),
        (
            lambda ix: ix["sequences"][1]["modalities"]["sil"].update(offset=64 * 10**6),
            r"field 'sequences\[1\]\.modalities\.sil\.offset' \+ nbytes = .* exceeds the size of 'sil\.00000\.bin'",
        ),
        (
            lambda ix: ix["sequences"][0]["modalities"]["pose"].update(offset=3),
            r"field 'sequences\[0\]\.modalities\.pose\.offset' is 3; expected a non-negative multiple of 64",
        ),
        (
            lambda ix: ix["sequences"][0].update(length=8),
            r"field 'sequences\[0\]\.modalities\.\w+\.shape' has 7 frames; expected 'length' = 8",
        ),
        (lambda ix: ix["sequences"][1].pop("view"), r"field 'sequences\[1\]\.view' is missing"),
        (
            lambda ix: ix["sequences"][0]["modalities"]["sil"].update(file="sil.00007.bin"),
            r"field 'sequences\[0\]\.modalities\.sil\.file' names 'sil\.00007\.bin', which is not listed",
        ),
        (
            lambda ix: ix["sequences"].append(ix["sequences"][0]),
            r"field 'sequences\[2\]\.' repeats the key '001/nm-01/090'",
        ),
        (lambda ix: ix["sequences"][0].update(length="7"), r"field 'sequences\[0\]\.length' is '7'; expected int"),
        (
            lambda ix: ix["sequences"][0]["modalities"]["sil"].update(checksum="md5:00"),
            r"field 'sequences\[0\]\.modalities\.sil\.checksum' is 'md5:00'",
        ),
    ],
)
def test_edited_schema_1_index(v1_store: Path, edit, message: str) -> None:
    _edit(v1_store, edit)
    with pytest.raises(StoreFormatError, match=message) as exc:
        SequenceStore(v1_store)
    assert "index.json" in str(exc.value)


def test_schema_1_missing_data_file(v1_store: Path) -> None:
    (v1_store / "pose.00000.bin").unlink()
    with pytest.raises(FileNotFoundError, match=r"pose\.00000\.bin: data file is missing; expected by field"):
        SequenceStore(v1_store)
