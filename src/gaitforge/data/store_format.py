"""On-disk format of the sequence store (schema 2): the manifest, the columnar index, typed records, checksums.

A store is a folder::

    index.json               the manifest (small JSON, published last, atomically)
    index.<GGGGGG>.idx       one generation of the columnar index (immutable once published): a concatenation of
                             ``.npy`` members (64-byte aligned), located by the manifest's ``columns``:
        subject.npy condition.npy view.npy   int32 [N] codes into the string tables
        subjects.json conditions.json views.json   the string tables (JSON lists)
        length.npy                           int32 [N] frame count T
        meta_file.npy meta_offset.npy meta_nbytes.npy   where each sequence's free metadata is (file -1 = {})
        <m>.file.npy int32 [N] (-1 = absent)  <m>.offset.npy int64 [N]  <m>.layout.npy int32 [N] (-1 = absent)
        <m>.checksum.npy uint8 [N, 16]       raw blake2b-128 digest of the array bytes
    <modality>.<NNNNN>.bin   raw little-endian array bytes, arrays 64-byte aligned
    meta.<NNNNN>.jsonl       free metadata, one compact JSON object per line

``index.json``::

    {"format": "gaitforge-sequence-store", "schema_version": 2, "count": N, "index": "index.000001.idx",
     "modalities": {"sil": [{"dtype": "|u1", "frame_shape": [64, 44]}], ...},   # per modality: its layouts
     "files": [["sil.00000.bin", <bytes>], ["meta.00000.jsonl", <bytes>], ...],  # position = file code
     "columns": {"subject.npy": [<offset>, <bytes>, "blake2b128:<hex>"], ...}}

Opening a store reads only the manifest and checks that every listed file exists with the listed size; index
columns are read (and their checksums checked) on first use, so a store of millions of sequences opens in
milliseconds. Files listed in a published manifest are never written again: new data goes to new shard files and a
new index generation, so a reader is never affected by a writer that runs or dies later. Schema 1 (one JSON
index) is still read, see :mod:`gaitforge.data.store_legacy`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ALIGN",
    "BASE_COLUMNS",
    "CHECKSUM_PREFIX",
    "FRAME_CODECS",
    "FORMAT_NAME",
    "INDEX_FILE_RE",
    "INDEX_NAME",
    "LABELS",
    "META_SHARD_RE",
    "SCHEMA_VERSION",
    "SHARD_NAME_RE",
    "TABLE_FILES",
    "ArrayEntry",
    "Layout",
    "Manifest",
    "SequenceRecord",
    "StoreFormatError",
    "checksum",
    "column_dtypes",
    "digest_text",
    "manifest_to_json",
    "parse_manifest",
    "raw_digest",
    "read_manifest_json",
]

FORMAT_NAME = "gaitforge-sequence-store"
SCHEMA_VERSION = 2
INDEX_NAME = "index.json"
ALIGN = 64
SHARD_NAME_RE = re.compile(r"^([a-z][a-z0-9_]{0,63})\.(\d{5,})\.bin$")
META_SHARD_RE = re.compile(r"^meta\.(\d{5,})\.jsonl$")
INDEX_FILE_RE = re.compile(r"^index\.(\d{6,})\.idx$")
CHECKSUM_PREFIX = "blake2b128:"
#: Frame codecs a layout may name (implemented in :mod:`gaitforge.data.store_codec`).
FRAME_CODECS = ("raw", "lz4", "lz4hc")

#: The three label fields and the string-table file of each.
LABELS = ("subject", "condition", "view")
TABLE_FILES = {"subject": "subjects.json", "condition": "conditions.json", "view": "views.json"}
#: Column name → dtype of the per-sequence columns; per-modality columns are in :func:`column_dtypes`.
BASE_COLUMNS = {
    "subject": "<i4",
    "condition": "<i4",
    "view": "<i4",
    "length": "<i4",
    "meta_file": "<i4",
    "meta_offset": "<i8",
    "meta_nbytes": "<i4",
}
_MODALITY_COLUMNS = {"file": "<i4", "offset": "<i8", "layout": "<i4", "checksum": "|u1"}


class StoreFormatError(ValueError):
    """A store file is missing, truncated or inconsistent with its index. The message names file and field."""


def checksum(data: np.ndarray | bytes | memoryview) -> str:
    """``"blake2b128:<hex>"`` of the raw bytes of a C-contiguous array (or of a bytes-like object)."""
    return digest_text(raw_digest(data))


def raw_digest(data: np.ndarray | bytes | memoryview) -> bytes:
    """The raw 16-byte blake2b digest of the bytes of a C-contiguous array (or of a bytes-like object)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(memoryview(data).cast("B") if not isinstance(data, bytes) else data)
    return h.digest()


def digest_text(raw: bytes) -> str:
    """The text form ``"blake2b128:<hex>"`` of a raw 16-byte digest."""
    return CHECKSUM_PREFIX + raw.hex()


def column_dtypes(modalities: list[str] | dict[str, Any]) -> dict[str, str]:
    """Column name → dtype string of every column of an index with these modalities."""
    out = dict(BASE_COLUMNS)
    for m in modalities:
        for part, dt in _MODALITY_COLUMNS.items():
            out[f"{m}.{part}"] = dt
    return out


@dataclass(frozen=True)
class Layout:
    """The per-frame part of an array's type: dtype (explicit byte order), the shape after axis 0, and how its
    bytes are kept (``codec``, see :mod:`gaitforge.data.store_codec`; ``"raw"`` is left out of the JSON).

    A *ragged* layout (frames of varying size, e.g. point clouds) has ``frame_shape`` ``(None, *row_shape)``,
    ``[null, ...]`` in the JSON; its arrays are kept as :mod:`gaitforge.data.ragged` describes."""

    dtype: np.dtype
    frame_shape: tuple[int | None, ...]
    codec: str = "raw"

    @property
    def ragged(self) -> bool:
        """Whether frames vary in size (``frame_shape[0] is None``)."""
        return bool(self.frame_shape) and self.frame_shape[0] is None

    @property
    def row_nbytes(self) -> int:
        """Bytes per row of a ragged frame (per frame for a fixed layout)."""
        shape = self.frame_shape[1:] if self.ragged else self.frame_shape
        return math.prod(shape) * self.dtype.itemsize  # type: ignore[arg-type]

    @property
    def frame_nbytes(self) -> int:
        """Bytes per frame (a ragged layout has none: ``ValueError``)."""
        if self.ragged:
            raise ValueError(f"a ragged layout {self.to_json()} has no fixed frame size")
        return math.prod(self.frame_shape) * self.dtype.itemsize  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype.str, "frame_shape": list(self.frame_shape)}
        if self.codec != "raw":
            out["codec"] = self.codec
        return out


@dataclass(frozen=True)
class ArrayEntry:
    """Where one modality of one sequence lives.

    Attributes:
        file: Data file name inside the store folder.
        offset: Byte offset in ``file``.
        nbytes: Byte count of the array (``prod(shape) * dtype.itemsize``; decoded size when compressed).
        dtype: Array dtype (explicit byte order).
        shape: Array shape, ``shape[0] == T``.
        checksum: ``"blake2b128:<hex>"`` of the bytes as stored (compressed ones when compressed).
        codec: How the bytes are kept (:mod:`gaitforge.data.store_codec`).
    """

    file: str
    offset: int
    nbytes: int
    dtype: np.dtype
    shape: tuple[int, ...]
    checksum: str
    codec: str = "raw"


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

    @classmethod
    def with_lazy_meta(
        cls,
        subject: str,
        condition: str,
        view: str,
        length: int,
        arrays: dict[str, ArrayEntry],
        load_meta: Callable[[], dict[str, Any]],
    ) -> SequenceRecord:
        """A record whose ``meta`` is read by ``load_meta`` on first access (the store's records: metadata stays off
        the data-loading path)."""
        rec = cls.__new__(cls)
        for name, value in zip(
            ("subject", "condition", "view", "length", "arrays"), (subject, condition, view, length, arrays)
        ):
            object.__setattr__(rec, name, value)
        object.__setattr__(rec, "_load_meta", load_meta)
        return rec

    def __getattr__(self, name: str) -> Any:  # only reached when ``meta`` has not been loaded yet
        load = self.__dict__.get("_load_meta")
        if name != "meta" or load is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        meta = load()
        object.__setattr__(self, "meta", meta)
        object.__delattr__(self, "_load_meta")
        return meta

    def __getstate__(self) -> dict[str, Any]:
        self.meta  # noqa: B018 - load it: the loader stays with the store
        return dict(self.__dict__)

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


@dataclass(frozen=True)
class Manifest:
    """The parsed ``index.json`` of a schema-2 store.

    Attributes:
        path: The manifest file (for messages).
        count: Number of sequences ``N``.
        index: File name of the index generation.
        modalities: Modality name → its layouts (a column ``<m>.layout`` holds positions in this list).
        files: ``(name, size in bytes)`` of every data and metadata file; position = file code.
        columns: Index member name → ``(offset, size in bytes, checksum)`` in the ``index`` file.
    """

    path: Path
    count: int
    index: str
    modalities: dict[str, list[Layout]]
    files: list[tuple[str, int]]
    columns: dict[str, tuple[int, int, str]]

    @property
    def index_bytes(self) -> int:
        """Size of the index file."""
        return max((off + size for off, size, _ in self.columns.values()), default=0)


def manifest_to_json(m: Manifest) -> dict[str, Any]:
    """The JSON form of a manifest."""
    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "count": m.count,
        "index": m.index,
        "modalities": {name: [lay.to_json() for lay in lays] for name, lays in m.modalities.items()},
        "files": [[name, size] for name, size in m.files],
        "columns": {name: [off, size, digest] for name, (off, size, digest) in m.columns.items()},
    }


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _get(obj: Any, name: str, kind: type, where: str, path: Path) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise StoreFormatError(f"{path}: field '{where}{name}' is missing")
    value = obj[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise StoreFormatError(f"{path}: field '{where}{name}' is {value!r}; expected {kind.__name__}")
    return value


def read_manifest_json(root: Path) -> dict[str, Any]:
    """Decode ``root/index.json`` (any schema version).

    Raises:
        FileNotFoundError: no index.
        StoreFormatError: not JSON, not a store index.
    """
    path = root / INDEX_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no store index here (expected a folder written by StoreWriter)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreFormatError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise StoreFormatError(f"{path}: expected a JSON object at the top level")
    fmt = _get(raw, "format", str, "", path)
    if fmt != FORMAT_NAME:
        raise StoreFormatError(f"{path}: field 'format' is {fmt!r}; expected {FORMAT_NAME!r}")
    version = _get(raw, "schema_version", int, "", path)
    if version not in (1, SCHEMA_VERSION):
        raise StoreFormatError(
            f"{path}: field 'schema_version' is {version}; this gaitforge reads versions 1 and {SCHEMA_VERSION}"
        )
    return raw


def _parse_layout(raw: Any, where: str, path: Path) -> Layout:
    try:
        dtype = np.dtype(_get(raw, "dtype", str, where, path))
    except TypeError as exc:
        raise StoreFormatError(f"{path}: field '{where}dtype' is not a numpy dtype: {exc}") from exc
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
        raise StoreFormatError(f"{path}: field '{where}dtype' is {dtype.str!r}; expected a plain numeric dtype")
    shape = _get(raw, "frame_shape", list, where, path)
    ragged = bool(shape) and shape[0] is None and len(shape) > 1  # [null, *row_shape]: gaitforge.data.ragged
    if not all(_is_int(s) and s > 0 for s in (shape[1:] if ragged else shape)):
        raise StoreFormatError(
            f"{path}: field '{where}frame_shape' is {shape!r}; expected positive integers (a ragged layout: null "
            "then positive integers)"
        )
    codec = raw.get("codec", "raw") if isinstance(raw, dict) else "raw"
    if codec not in FRAME_CODECS:
        raise StoreFormatError(
            f"{path}: field '{where}codec' is {codec!r}; this gaitforge reads codecs {sorted(FRAME_CODECS)}"
        )
    return Layout(dtype, tuple(shape), codec)


def parse_manifest(raw: dict[str, Any], path: Path) -> Manifest:
    """Validate a decoded schema-2 ``index.json``.

    Raises:
        StoreFormatError: naming ``path`` and the offending field.
    """
    count = _get(raw, "count", int, "", path)
    if count < 0:
        raise StoreFormatError(f"{path}: field 'count' is {count}; expected a non-negative integer")
    index = _get(raw, "index", str, "", path)
    if not INDEX_FILE_RE.match(index):
        raise StoreFormatError(f"{path}: field 'index' is {index!r}; expected 'index.NNNNNN.idx'")
    mods_raw = _get(raw, "modalities", dict, "", path)
    modalities: dict[str, list[Layout]] = {}
    for m, lays in mods_raw.items():
        if not re.match(r"^[a-z][a-z0-9_]{0,63}$", m) or not isinstance(lays, list):
            raise StoreFormatError(f"{path}: field 'modalities.{m}' is invalid; expected a name and a list of layouts")
        modalities[m] = [_parse_layout(lay, f"modalities.{m}[{k}].", path) for k, lay in enumerate(lays)]
    files_raw = _get(raw, "files", list, "", path)
    files: list[tuple[str, int]] = []
    for k, item in enumerate(files_raw):
        ok = isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and _is_int(item[1])
        if not ok or item[1] < 0 or not (SHARD_NAME_RE.match(item[0]) or META_SHARD_RE.match(item[0])):
            raise StoreFormatError(
                f"{path}: field 'files[{k}]' is {item!r}; expected ['<modality>.NNNNN.bin' or 'meta.NNNNN.jsonl', size]"
            )
        m = SHARD_NAME_RE.match(item[0])
        if m and m.group(1) not in modalities:
            raise StoreFormatError(f"{path}: field 'files[{k}]' names {item[0]!r} of an unlisted modality")
        files.append((item[0], item[1]))
    if len({name for name, _ in files}) != len(files):
        raise StoreFormatError(f"{path}: field 'files' lists a file twice")
    cols_raw = _get(raw, "columns", dict, "", path)
    expected = {f"{c}.npy" for c in column_dtypes(modalities)} | set(TABLE_FILES.values())
    if set(cols_raw) != expected:
        missing, extra = sorted(expected - set(cols_raw)), sorted(set(cols_raw) - expected)
        raise StoreFormatError(f"{path}: field 'columns' lacks {missing} and has unexpected {extra}")
    columns: dict[str, tuple[int, int, str]] = {}
    for name, item in cols_raw.items():
        ok = isinstance(item, list) and len(item) == 3 and all(_is_int(x) and x >= 0 for x in item[:2])
        if not ok or not isinstance(item[2], str) or not item[2].startswith(CHECKSUM_PREFIX):
            raise StoreFormatError(
                f"{path}: field 'columns.{name}' is {item!r}; expected [offset, size, '{CHECKSUM_PREFIX}...']"
            )
        columns[name] = (item[0], item[1], item[2])
    return Manifest(path, count, index, modalities, files, columns)
