"""Reading the columnar store index: columns and string tables loaded on first use, checked when loaded.

Every index file is checked against the size and checksum the manifest records the first time it is read
(a corrupted or truncated column is an error naming the file); the columns of a modality are range-checked
(file code, layout, offset alignment, offset + bytes within the file) the first time that modality is read.
:meth:`IndexReader.check` runs every check at once.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.store_columns import KeyIndex, find_duplicates
from gaitforge.data.store_format import (
    ALIGN,
    CHECKSUM_PREFIX,
    LABELS,
    META_SHARD_RE,
    SHARD_NAME_RE,
    TABLE_FILES,
    Layout,
    Manifest,
    StoreFormatError,
    column_dtypes,
)

__all__ = ["IndexReader"]

_NPY_MAGIC = b"\x93NUMPY"


class IndexReader:
    """The index of one store generation.

    Args:
        root: Store folder.
        manifest: Its parsed manifest.
        arrays: Columns and tables already in memory (the schema-1 reader); then no index file is read.
    """

    def __init__(
        self,
        root: Path,
        manifest: Manifest,
        arrays: dict[str, np.ndarray] | None = None,
        tables: dict[str, list[str]] | None = None,
    ) -> None:
        self.root = root
        self.manifest = manifest
        self.count = manifest.count
        self.modalities = manifest.modalities
        self.file_names = [name for name, _ in manifest.files]
        self.file_sizes = np.array([size for _, size in manifest.files] + [0], np.int64)  # [-1] → 0
        self.path = root / manifest.index
        self._dtypes = column_dtypes(manifest.modalities)
        self._in_memory = arrays is not None
        self._cols: dict[str, np.ndarray] = dict(arrays or {})
        self._tables: dict[str, list[str]] = dict(tables or {})
        self._codes: dict[str, dict[str, int]] = {}
        self._checked: set[str] = set()
        self._keys: KeyIndex | None = None
        self._fd = -1
        if not self._in_memory:
            self._open()

    def _open(self) -> None:
        """Open the index file (kept open: a writer republishing the store later cannot pull it from under us)."""
        try:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise StoreFormatError(
                f"{self.path}: index file is missing (the store was republished since it was opened?); named by "
                f"field 'index' of {self.manifest.path}; reopen the store"
            ) from None
        actual = os.fstat(self._fd).st_size
        if actual != self.manifest.index_bytes:
            raise StoreFormatError(
                f"{self.path}: index file has {actual} bytes; field 'columns' of {self.manifest.path} expects "
                f"{self.manifest.index_bytes} bytes. Rebuild the store or restore the file"
            )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fd"] = -1
        if not self._in_memory:  # reloaded on first use in the receiving process
            state["_cols"], state["_tables"], state["_codes"], state["_keys"] = {}, {}, {}, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if not self._in_memory:
            self._open()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            try:
                os.close(self._fd)
            except OSError:  # pragma: no cover
                pass
            self._fd = -1

    # -- loading -------------------------------------------------------------------------------------------

    def _read(self, name: str) -> bytes:
        offset, size, digest = self.manifest.columns[name]
        data = os.pread(self._fd, size, offset)
        got = CHECKSUM_PREFIX + hashlib.blake2b(data, digest_size=16).hexdigest()
        if len(data) != size or got != digest:
            raise StoreFormatError(
                f"{self.path}: member {name!r} (bytes {offset}..{offset + size}) is corrupted ({got}); field "
                f"'columns.{name}' of {self.manifest.path} expects {digest}. Rebuild the store or restore the file"
            )
        return data

    def column(self, name: str) -> np.ndarray:
        """Column ``name`` (``"length"``, ``"sil.offset"``, ...), read-only, ``[N]`` or ``[N, 16]``."""
        arr = self._cols.get(name)
        if arr is None:
            width = 16 if name.endswith(".checksum") else 0
            where = f"{self.path} member '{name}.npy'"
            arr = self._cols[name] = _parse_npy(self._read(f"{name}.npy"), where, self._dtypes[name], self.count, width)
        return arr

    def columns(self) -> dict[str, np.ndarray]:
        """Every column, by name."""
        return {name: self.column(name) for name in self._dtypes}

    def tables(self) -> dict[str, list[str]]:
        """Every string table, by label."""
        return {lab: self.table(lab) for lab in LABELS}

    def table(self, label: str) -> list[str]:
        """String table of ``subject``, ``condition`` or ``view`` (codes index it)."""
        tab = self._tables.get(label)
        if tab is None:
            fname = TABLE_FILES[label]
            try:
                tab = json.loads(self._read(fname).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise StoreFormatError(f"{self.path} member {fname!r}: not a JSON list of strings: {exc}") from exc
            if not isinstance(tab, list) or not all(isinstance(x, str) for x in tab) or len(set(tab)) != len(tab):
                raise StoreFormatError(f"{self.path} member {fname!r}: expected a JSON list of distinct strings")
            self._tables[label] = tab
        if label not in self._checked:
            codes = self.column(label)
            if self.count and (int(codes.min()) < 0 or int(codes.max()) >= len(tab)):
                bad = int(np.flatnonzero((codes < 0) | (codes >= len(tab)))[0])
                raise StoreFormatError(
                    f"{self.path} member '{label}.npy': row {bad} has code {int(codes[bad])}; expected 0.."
                    f"{len(tab) - 1} (entries of member {TABLE_FILES[label]!r})"
                )
            self._checked.add(label)
        return tab

    def codes(self, label: str) -> dict[str, int]:
        """String → code of one label field."""
        c = self._codes.get(label)
        if c is None:
            c = self._codes[label] = {x: k for k, x in enumerate(self.table(label))}
        return c

    def label(self, label: str, i: int) -> str:
        return self.table(label)[int(self.column(label)[i])]

    def key(self, i: int) -> str:
        """``subject/condition/view`` of row ``i``."""
        return "/".join(self.label(lab, i) for lab in LABELS)

    def lookup(self, key: str) -> int:
        """Row of ``"subject/condition/view"``, or -1."""
        parts = key.split("/")
        if len(parts) != 3:
            return -1
        codes = [self.codes(lab).get(p) for lab, p in zip(LABELS, parts)]
        if any(c is None for c in codes):
            return -1
        if self._keys is None:
            self._keys = KeyIndex(*(self.column(lab) for lab in LABELS))
        return self._keys.lookup(*codes)  # type: ignore[arg-type]

    # -- checks --------------------------------------------------------------------------------------------

    def _where(self, name: str, rows: np.ndarray) -> str:
        i = int(rows[0])
        try:
            key = repr(self.key(i))
        except StoreFormatError:
            key = "?"
        return f"{self.path} member '{name}.npy': row {i} (sequence {key}, {len(rows)} row(s) in all)"

    def _check_lengths(self) -> np.ndarray:
        length = self.column("length")
        if "length" not in self._checked:
            bad = np.flatnonzero(length < 1)
            if bad.size:
                raise StoreFormatError(f"{self._where('length', bad)}: length is {int(length[bad[0]])}; expected >= 1")
            self._checked.add("length")
        return length

    def _check_refs(self, prefix: str, files: np.ndarray, ends: np.ndarray, ok_file: np.ndarray) -> None:
        n_files = len(self.file_names)
        present = files >= 0
        in_range = (files >= -1) & (files < n_files)
        bad = np.flatnonzero(~in_range | (present & ~ok_file[np.where(in_range, files, -1)]))
        if bad.size:
            raise StoreFormatError(
                f"{self._where(prefix + 'file', bad)}: file code {int(files[bad[0]])} does not name a "
                f"{prefix.rstrip('._') or 'meta'} file listed in field 'files' of {self.manifest.path}"
            )
        over = np.flatnonzero(present & (ends > self.file_sizes[files]))  # files -1 → the trailing 0
        if over.size:
            i = int(over[0])
            raise StoreFormatError(
                f"{self._where(prefix + 'offset', over)}: offset + bytes = {int(ends[i])} exceeds the size of "
                f"{self.file_names[files[i]]!r} ({int(self.file_sizes[files[i]])} bytes)"
            )

    def group(self, m: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The checked ``(file, offset, layout)`` columns of modality ``m``."""
        file, offset, layout = (self.column(f"{m}.{part}") for part in ("file", "offset", "layout"))
        if m in self._checked:
            return file, offset, layout
        length = self._check_lengths()
        lays = self.modalities[m]
        bad = np.flatnonzero((layout < -1) | (layout >= len(lays)) | ((layout < 0) != (file < 0)))
        if bad.size:
            raise StoreFormatError(
                f"{self._where(m + '.layout', bad)}: layout {int(layout[bad[0]])} with file code "
                f"{int(file[bad[0]])}; expected -1 with -1 or 0..{len(lays) - 1} (field 'modalities.{m}' of "
                f"{self.manifest.path})"
            )
        bad = np.flatnonzero((layout >= 0) & ((offset < 0) | (offset % ALIGN != 0)))
        if bad.size:
            raise StoreFormatError(
                f"{self._where(m + '.offset', bad)}: offset is {int(offset[bad[0]])}; "
                f"expected a non-negative multiple of {ALIGN}"
            )
        # bytes per frame known from the index: a compressed array's frame table, a ragged one's two tables (their
        # frames are checked on read)
        frame_nbytes = np.array(
            [8 if lay.ragged else lay.frame_nbytes if lay.codec == "raw" else 4 for lay in lays] + [0], np.int64
        )
        ends = offset + length.astype(np.int64) * frame_nbytes[layout]
        ok = [bool((mm := SHARD_NAME_RE.match(n)) and mm.group(1) == m) for n in self.file_names] + [False]
        self._check_refs(f"{m}.", file, ends, np.array(ok))
        self._checked.add(m)
        return file, offset, layout

    def meta_group(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The checked ``(meta_file, meta_offset, meta_nbytes)`` columns."""
        file, offset, nbytes = (self.column(f"meta_{part}") for part in ("file", "offset", "nbytes"))
        if "meta" not in self._checked:
            bad = np.flatnonzero((file >= 0) & ((offset < 0) | (nbytes < 2)))
            if bad.size:
                raise StoreFormatError(
                    f"{self._where('meta_offset', bad)}: offset {int(offset[bad[0]])}, {int(nbytes[bad[0]])} "
                    "bytes; expected a non-negative offset and at least 2 bytes ('{}')"
                )
            ok = [bool(META_SHARD_RE.match(n)) for n in self.file_names] + [False]
            self._check_refs("meta_", file, offset + nbytes, np.array(ok))
            self._checked.add("meta")
        return file, offset, nbytes

    def layout(self, m: str, code: int) -> Layout:
        return self.modalities[m][code]

    def check(self) -> None:
        """Every check at once: all index files, code ranges, references, one modality per row, unique keys."""
        for lab in LABELS:
            self.table(lab)
        self.meta_group()
        has_any = np.zeros(self.count, bool)
        for m in self.modalities:
            has_any |= self.group(m)[2] >= 0
            self.column(f"{m}.checksum")
        bad = np.flatnonzero(~has_any)
        if bad.size:
            raise StoreFormatError(f"{self._where('length', bad)}: the sequence has no modality")
        dup, _ = find_duplicates(*(self.column(lab) for lab in LABELS))
        if dup.size:
            raise StoreFormatError(f"{self._where('subject', dup)}: the key repeats an earlier row's key")


def _parse_npy(data: bytes, where: str, dtype: str, count: int, width: int) -> np.ndarray:
    """A read-only array over ``data`` (an ``.npy`` file), checked against the expected dtype and shape."""
    expected_shape = (count, width) if width else (count,)
    try:
        if data[:6] != _NPY_MAGIC:
            raise ValueError("not an .npy file")
        major = data[6]
        hlen_size = 2 if major == 1 else 4
        hlen = int.from_bytes(data[8 : 8 + hlen_size], "little")
        start = 8 + hlen_size + hlen
        header = ast.literal_eval(data[8 + hlen_size : start].decode("latin1"))
        got = (np.dtype(header["descr"]), bool(header["fortran_order"]), tuple(header["shape"]))
    except (ValueError, SyntaxError, KeyError, TypeError, IndexError) as exc:
        raise StoreFormatError(f"{where}: not a valid .npy column: {exc}") from exc
    if got != (np.dtype(dtype), False, expected_shape):
        raise StoreFormatError(
            f"{where}: column is {got[0].str} {list(got[2])}{' fortran' if got[1] else ''}; "
            f"expected {dtype} {list(expected_shape)}"
        )
    arr = np.frombuffer(data, np.dtype(dtype), count=int(np.prod(expected_shape)), offset=start)
    return arr.reshape(expected_shape)
