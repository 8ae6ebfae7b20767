"""On-disk format of the sequence store: the ``index.json`` schema, typed records, checksums.

A store is a folder::

    index.json              the index (published last, atomically)
    <modality>.<NNNNN>.bin  raw little-endian array bytes, records 64-byte aligned

``index.json``::

    {"format": "gaitforge-sequence-store", "schema_version": 1,
     "modalities": ["sil", ...], "files": {"sil.00000.bin": <size in bytes>, ...},
     "sequences": [{"subject": "001", "condition": "nm-01", "view": "090", "length": T, "meta": {...},
                    "modalities": {"sil": {"file": "sil.00000.bin", "offset": 0, "nbytes": ..., "dtype": "|u1",
                                           "shape": [T, 64, 64], "checksum": "blake2b128:<hex>"}}}, ...]}

Files listed in a published index are never written again (new data always goes to new shard files), so a
reader of a published index is never affected by a writer that runs or dies later.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ALIGN",
    "FORMAT_NAME",
    "INDEX_NAME",
    "SCHEMA_VERSION",
    "SHARD_NAME_RE",
    "ArrayEntry",
    "SequenceRecord",
    "StoreFormatError",
    "checksum",
    "load_index",
    "parse_index",
    "record_to_json",
]

FORMAT_NAME = "gaitforge-sequence-store"
SCHEMA_VERSION = 1
INDEX_NAME = "index.json"
ALIGN = 64
SHARD_NAME_RE = re.compile(r"^([a-z][a-z0-9_]{0,63})\.(\d{5,})\.bin$")
_CHECKSUM_PREFIX = "blake2b128:"


class StoreFormatError(ValueError):
    """A store file is missing, truncated or inconsistent with its index. The message names file and field."""


def checksum(data: np.ndarray | bytes | memoryview) -> str:
    """``"blake2b128:<hex>"`` of the raw bytes of a C-contiguous array (or of a bytes-like object)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(memoryview(data).cast("B") if not isinstance(data, bytes) else data)
    return _CHECKSUM_PREFIX + h.hexdigest()


@dataclass(frozen=True)
class ArrayEntry:
    """Where one modality of one sequence lives.

    Attributes:
        file: Data file name inside the store folder.
        offset: Byte offset in ``file``.
        nbytes: Byte count (``prod(shape) * dtype.itemsize``).
        dtype: Array dtype (explicit byte order).
        shape: Array shape, ``shape[0] == T``.
        checksum: ``"blake2b128:<hex>"`` of the bytes.
    """

    file: str
    offset: int
    nbytes: int
    dtype: np.dtype
    shape: tuple[int, ...]
    checksum: str


@dataclass(frozen=True)
class SequenceRecord:
    """Index entry of one sequence (no array data).

    Attributes:
        subject, condition, view: The sequence's labels.
        length: Frame count ``T``.
        arrays: Modality name → :class:`ArrayEntry`.
        meta: Free metadata written with the sequence.
    """

    subject: str
    condition: str
    view: str
    length: int
    arrays: dict[str, ArrayEntry]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``subject/condition/view``."""
        return f"{self.subject}/{self.condition}/{self.view}"

    @property
    def modalities(self) -> list[str]:
        """Modality names stored for this sequence."""
        return list(self.arrays)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Modality name → array shape."""
        return {m: e.shape for m, e in self.arrays.items()}


def record_to_json(rec: SequenceRecord) -> dict[str, Any]:
    """The JSON form of a record, as stored in ``index.json``."""
    return {
        "subject": rec.subject,
        "condition": rec.condition,
        "view": rec.view,
        "length": rec.length,
        "meta": rec.meta,
        "modalities": {
            m: {
                "file": e.file,
                "offset": e.offset,
                "nbytes": e.nbytes,
                "dtype": e.dtype.str,
                "shape": list(e.shape),
                "checksum": e.checksum,
            }
            for m, e in rec.arrays.items()
        },
    }


def _get(obj: Any, name: str, kind: type | tuple[type, ...], where: str, index_path: Path) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise StoreFormatError(f"{index_path}: field '{where}{name}' is missing")
    value = obj[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise StoreFormatError(
            f"{index_path}: field '{where}{name}' is {value!r}; expected {_kind_text(kind)}"
        )
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_text(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def _parse_entry(raw: Any, where: str, index_path: Path, files: dict[str, int]) -> ArrayEntry:
    fname = _get(raw, "file", str, where, index_path)
    if fname not in files:
        raise StoreFormatError(
            f"{index_path}: field '{where}file' names {fname!r}, which is not listed in 'files'"
        )
    offset = _get(raw, "offset", int, where, index_path)
    nbytes = _get(raw, "nbytes", int, where, index_path)
    try:
        dtype = np.dtype(_get(raw, "dtype", str, where, index_path))
    except TypeError as exc:
        raise StoreFormatError(f"{index_path}: field '{where}dtype' is not a numpy dtype: {exc}") from exc
    shape_raw = _get(raw, "shape", list, where, index_path)
    if not shape_raw or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape_raw):
        raise StoreFormatError(
            f"{index_path}: field '{where}shape' is {shape_raw!r}; expected positive integers"
        )
    shape = tuple(shape_raw)
    if offset < 0 or offset % ALIGN:
        raise StoreFormatError(
            f"{index_path}: field '{where}offset' is {offset}; expected a non-negative multiple of {ALIGN}"
        )
    expected = math.prod(shape) * dtype.itemsize
    if nbytes != expected:
        raise StoreFormatError(
            f"{index_path}: field '{where}nbytes' is {nbytes}; expected {expected} for shape {list(shape)} "
            f"and dtype {dtype.str}"
        )
    if offset + nbytes > files[fname]:
        raise StoreFormatError(
            f"{index_path}: field '{where}offset' + nbytes = {offset + nbytes} exceeds the size of {fname!r} "
            f"recorded in 'files' ({files[fname]})"
        )
    digest = _get(raw, "checksum", str, where, index_path)
    if not digest.startswith(_CHECKSUM_PREFIX):
        raise StoreFormatError(
            f"{index_path}: field '{where}checksum' is {digest!r}; expected '{_CHECKSUM_PREFIX}...'"
        )
    return ArrayEntry(fname, offset, nbytes, dtype, shape, digest)


def parse_index(raw: Any, index_path: Path) -> tuple[list[str], dict[str, int], list[SequenceRecord]]:
    """Validate a decoded ``index.json`` and build typed records.

    Returns:
        ``(modalities, files, records)`` with ``files`` mapping data file name → expected size in bytes.

    Raises:
        StoreFormatError: naming ``index_path`` and the offending field.
    """
    if not isinstance(raw, dict):
        raise StoreFormatError(f"{index_path}: expected a JSON object at the top level")
    fmt = _get(raw, "format", str, "", index_path)
    if fmt != FORMAT_NAME:
        raise StoreFormatError(f"{index_path}: field 'format' is {fmt!r}; expected {FORMAT_NAME!r}")
    version = _get(raw, "schema_version", int, "", index_path)
    if version != SCHEMA_VERSION:
        raise StoreFormatError(
            f"{index_path}: field 'schema_version' is {version}; this gaitforge reads version {SCHEMA_VERSION}"
        )
    modalities = _get(raw, "modalities", list, "", index_path)
    files = _get(raw, "files", dict, "", index_path)
    for fname, size in files.items():
        if not SHARD_NAME_RE.match(fname) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise StoreFormatError(
                f"{index_path}: field 'files.{fname}' = {size!r}; expected '<modality>.NNNNN.bin': size"
            )
    seqs = _get(raw, "sequences", list, "", index_path)
    records: list[SequenceRecord] = []
    seen: set[str] = set()
    for i, s in enumerate(seqs):
        where = f"sequences[{i}]."
        subject = _get(s, "subject", str, where, index_path)
        condition = _get(s, "condition", str, where, index_path)
        view = _get(s, "view", str, where, index_path)
        length = _get(s, "length", int, where, index_path)
        meta = _get(s, "meta", dict, where, index_path)
        arrays_raw = _get(s, "modalities", dict, where, index_path)
        if not arrays_raw:
            raise StoreFormatError(f"{index_path}: field '{where}modalities' is empty")
        arrays = {}
        for m, e in arrays_raw.items():
            if m not in modalities:
                raise StoreFormatError(
                    f"{index_path}: field '{where}modalities.{m}' is not listed in 'modalities'"
                )
            entry = _parse_entry(e, f"{where}modalities.{m}.", index_path, files)
            if entry.shape[0] != length:
                raise StoreFormatError(
                    f"{index_path}: field '{where}modalities.{m}.shape' has {entry.shape[0]} frames; "
                    f"expected 'length' = {length}"
                )
            arrays[m] = entry
        rec = SequenceRecord(subject, condition, view, length, arrays, meta)
        if rec.key in seen:
            raise StoreFormatError(f"{index_path}: field '{where}' repeats the key {rec.key!r}")
        seen.add(rec.key)
        records.append(rec)
    return list(modalities), dict(files), records


def load_index(root: Path) -> tuple[list[str], dict[str, int], list[SequenceRecord]]:
    """Read and validate ``root/index.json`` and check every listed data file exists with the recorded size.

    Raises:
        FileNotFoundError: no index, or a data file the index lists is missing.
        StoreFormatError: malformed index, wrong schema version, or a data file of the wrong size.
    """
    index_path = root / INDEX_NAME
    if not index_path.is_file():
        raise FileNotFoundError(
            f"{index_path}: no store index here (expected a folder written by StoreWriter)"
        )
    try:
        raw = json.loads(index_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreFormatError(f"{index_path}: not valid JSON: {exc}") from exc
    modalities, files, records = parse_index(raw, index_path)
    for fname, size in files.items():
        path = root / fname
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: data file is missing; expected by field 'files.{fname}' of {index_path}"
            )
        actual = path.stat().st_size
        if actual != size:
            raise StoreFormatError(
                f"{path}: size is {actual} bytes; field 'files.{fname}' of {index_path} expects {size} bytes "
                f"({'truncated' if actual < size else 'extra bytes'})"
            )
    return modalities, files, records
