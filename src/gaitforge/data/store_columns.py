"""Building the columnar store index in memory (writer, merge, legacy upgrade) and writing one index generation.

Memory is a few dozen bytes per sequence (the columns themselves) plus the string tables: no Python object per
sequence, so a writer can hold millions of sequences.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.store_format import (
    ALIGN,
    BASE_COLUMNS,
    CHECKSUM_PREFIX,
    LABELS,
    TABLE_FILES,
    Layout,
    Manifest,
    column_dtypes,
)

__all__ = ["IndexBuilder", "KeyIndex", "find_duplicates", "fsync_dir"]

_MERGE_EVERY = 1 << 16
_INT32_MAX = 2**31 - 1


def fsync_dir(folder: Path) -> None:
    """fsync a folder so that renames and new files in it are durable (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def find_duplicates(s: np.ndarray, c: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose ``(s, c, v)`` code triple occurs at an earlier row, ascending, and for each the first row with
    that triple (vectorised, ``O(N log N)``)."""
    if len(s) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((np.arange(len(s)), v, c, s))  # stable: the first occurrence comes first
    ss, cc, vv = s[order], c[order], v[order]
    same = np.concatenate([[False], (ss[1:] == ss[:-1]) & (cc[1:] == cc[:-1]) & (vv[1:] == vv[:-1])])
    group_start = np.maximum.accumulate(np.where(same, 0, np.arange(len(s))))
    dup, first = order[same], order[group_start[same]]
    keep = np.argsort(dup, kind="stable")
    return dup[keep].astype(np.int64), first[keep].astype(np.int64)


class KeyIndex:
    """``(subject, condition, view)`` code triple → row: lexicographically sorted arrays plus a small dict of recent
    additions merged in batches (about 16 bytes per row)."""

    def __init__(self, s: np.ndarray, c: np.ndarray, v: np.ndarray) -> None:
        self._pending: dict[tuple[int, int, int], int] = {}
        self._set(np.asarray(s, np.int32), np.asarray(c, np.int32), np.asarray(v, np.int32), np.arange(len(s)))

    def _set(self, s: np.ndarray, c: np.ndarray, v: np.ndarray, rows: np.ndarray) -> None:
        order = np.lexsort((v, c, s))
        self._s, self._c, self._v, self._rows = s[order], c[order], v[order], rows[order].astype(np.int64)

    def __len__(self) -> int:
        return len(self._rows) + len(self._pending)

    def lookup(self, s: int, c: int, v: int) -> int:
        """Row of the triple, or -1."""
        row = self._pending.get((s, c, v))
        if row is not None:
            return row
        if max(s, c, v) > _INT32_MAX or min(s, c, v) < 0:
            return -1
        s, c, v = np.int32(s), np.int32(c), np.int32(v)  # a Python int needle would upcast the whole column
        lo, hi = np.searchsorted(self._s, s, "left"), np.searchsorted(self._s, s, "right")
        if lo == hi:
            return -1
        cs = self._c[lo:hi]
        lo2, hi2 = lo + np.searchsorted(cs, c, "left"), lo + np.searchsorted(cs, c, "right")
        if lo2 == hi2:
            return -1
        k = lo2 + int(np.searchsorted(self._v[lo2:hi2], v, "left"))
        return int(self._rows[k]) if k < hi2 and self._v[k] == v else -1

    def add(self, s: int, c: int, v: int, row: int) -> None:
        """Add a triple known to be absent."""
        self._pending[(s, c, v)] = row
        if len(self._pending) >= _MERGE_EVERY:
            p = np.array([(*k, r) for k, r in self._pending.items()], np.int64).reshape(-1, 4)
            self._pending = {}
            self._set(
                np.concatenate([self._s, p[:, 0].astype(np.int32)]),
                np.concatenate([self._c, p[:, 1].astype(np.int32)]),
                np.concatenate([self._v, p[:, 2].astype(np.int32)]),
                np.concatenate([self._rows, p[:, 3]]),
            )


class _Grow:
    """A growable numpy column (amortised doubling)."""

    def __init__(self, dtype: str, width: int = 0, fill: int = 0, n: int = 0) -> None:
        self._shape = (width,) if width else ()
        self.a = np.full((max(1024, n), *self._shape), fill, np.dtype(dtype))
        self.n = n

    def _reserve(self, extra: int) -> None:
        if self.n + extra > len(self.a):
            new = np.empty((max(2 * len(self.a), self.n + extra), *self._shape), self.a.dtype)
            new[: self.n] = self.a[: self.n]
            self.a = new

    def append(self, value: Any) -> None:
        self._reserve(1)
        self.a[self.n] = value
        self.n += 1

    def extend(self, values: np.ndarray) -> None:
        self._reserve(len(values))
        self.a[self.n : self.n + len(values)] = values
        self.n += len(values)

    def view(self) -> np.ndarray:
        return self.a[: self.n]


class IndexBuilder:
    """The index of a store being written: string tables, layouts, the file table and the columns."""

    def __init__(self) -> None:
        self.tables: dict[str, list[str]] = {label: [] for label in LABELS}
        self._codes: dict[str, dict[str, int]] = {label: {} for label in LABELS}
        self.layouts: dict[str, list[Layout]] = {}
        self._layout_codes: dict[str, dict[Layout, int]] = {}
        self.files: list[list[Any]] = []  # [name, size]
        self.file_codes: dict[str, int] = {}
        self.cols: dict[str, _Grow] = {
            name: _Grow(dt, fill=-1 if name == "meta_file" else 0) for name, dt in BASE_COLUMNS.items()
        }
        self.keys = KeyIndex(*(np.zeros(0, np.int32),) * 3)

    def __len__(self) -> int:
        return self.cols["length"].n

    # -- tables ------------------------------------------------------------------------------------------

    def code(self, label: str, value: str) -> int:
        """Code of a subject/condition/view string (added to the table when new)."""
        codes = self._codes[label]
        c = codes.get(value)
        if c is None:
            c = codes[value] = len(self.tables[label])
            self.tables[label].append(value)
        return c

    def lookup(self, subject: str, condition: str, view: str) -> int:
        """Row of a key, or -1."""
        s, c, v = (self._codes[lab].get(x) for lab, x in zip(LABELS, (subject, condition, view)))
        if s is None or c is None or v is None:
            return -1
        return self.keys.lookup(s, c, v)

    def layout_code(self, modality: str, layout: Layout) -> int:
        """Code of a layout of ``modality`` (the modality's columns are created when new)."""
        if modality not in self.layouts:
            self.layouts[modality], self._layout_codes[modality] = [], {}
            n = len(self)
            for part, dt in column_dtypes([modality]).items():
                if part in BASE_COLUMNS:
                    continue
                fill = -1 if part.endswith((".file", ".layout")) else 0
                self.cols[part] = _Grow(dt, width=16 if part.endswith(".checksum") else 0, fill=fill, n=n)
        codes = self._layout_codes[modality]
        k = codes.get(layout)
        if k is None:
            k = codes[layout] = len(self.layouts[modality])
            self.layouts[modality].append(layout)
        return k

    def file_code(self, name: str, size: int = 0) -> int:
        """Code of a data/metadata file (added with ``size`` when new)."""
        k = self.file_codes.get(name)
        if k is None:
            k = self.file_codes[name] = len(self.files)
            self.files.append([name, size])
        return k

    # -- rows --------------------------------------------------------------------------------------------

    def append(
        self,
        labels: tuple[str, str, str],
        length: int,
        arrays: dict[str, tuple[int, int, Layout, bytes]],
        meta: tuple[int, int, int] = (-1, 0, 0),
    ) -> int:
        """Append one sequence. ``arrays``: modality → ``(file code, offset, layout, raw 16-byte digest)``;
        ``meta``: ``(file code, offset, nbytes)`` of its metadata line (file -1 = no metadata). Returns its row."""
        row = len(self)
        s, c, v = (self.code(lab, x) for lab, x in zip(LABELS, labels))
        codes = {m: self.layout_code(m, lay) for m, (_, _, lay, _) in arrays.items()}
        for m in self.layouts:
            entry = arrays.get(m)
            if entry is None:
                for part, val in (("file", -1), ("offset", 0), ("layout", -1), ("checksum", 0)):
                    self.cols[f"{m}.{part}"].append(val)
                continue
            self.cols[f"{m}.file"].append(entry[0])
            self.cols[f"{m}.offset"].append(entry[1])
            self.cols[f"{m}.layout"].append(codes[m])
            self.cols[f"{m}.checksum"].append(np.frombuffer(entry[3], np.uint8))
        for name, val in zip(BASE_COLUMNS, (s, c, v, length, *meta)):
            self.cols[name].append(val)
        self.keys.add(s, c, v, row)
        return row

    def extend(
        self,
        cols: dict[str, np.ndarray],
        tables: dict[str, list[str]],
        layouts: dict[str, list[Layout]],
        file_map: np.ndarray,
    ) -> None:
        """Append the rows of another index whose codes refer to ``tables`` and ``layouts``; ``file_map`` maps its
        file codes to this builder's (int32, -1 where unused). Keys must be new (see :func:`find_duplicates`)."""
        n_new = len(cols["length"])
        if n_new == 0:
            return
        fmap = np.append(np.asarray(file_map, np.int32), np.int32(-1))  # code -1 → -1
        remapped: dict[str, np.ndarray] = {}
        for lab in LABELS:
            lut = np.array([self.code(lab, x) for x in tables[lab]], np.int32)
            remapped[lab] = lut[cols[lab]] if len(lut) else cols[lab]
        remapped["length"] = cols["length"]
        remapped["meta_file"] = fmap[cols["meta_file"]]
        remapped["meta_offset"], remapped["meta_nbytes"] = cols["meta_offset"], cols["meta_nbytes"]
        for m, lays in layouts.items():
            lut = np.array([self.layout_code(m, lay) for lay in lays] + [-1], np.int32)
            remapped[f"{m}.layout"] = lut[cols[f"{m}.layout"]]
            remapped[f"{m}.file"] = fmap[cols[f"{m}.file"]]
            remapped[f"{m}.offset"], remapped[f"{m}.checksum"] = cols[f"{m}.offset"], cols[f"{m}.checksum"]
        for name, g in self.cols.items():
            if name in remapped:
                g.extend(remapped[name])
            else:  # a modality the other index lacks
                absent = name.endswith((".file", ".layout"))
                fill = np.full((n_new, *g.a.shape[1:]), -1 if absent else 0, g.a.dtype)
                g.extend(fill)
        self.keys = KeyIndex(*(self.cols[lab].view() for lab in LABELS))  # rebuilt after a bulk addition

    def arrays(self) -> dict[str, np.ndarray]:
        """Column name → the filled part of the column (a view)."""
        return {name: g.view() for name, g in self.cols.items()}

    # -- writing -----------------------------------------------------------------------------------------

    def write(self, path: Path) -> dict[str, tuple[int, int, str]]:
        """Write every column (``.npy``) and string table (JSON) into one index file at ``path`` (fsynced), each
        member 64-byte aligned. Returns member name → (offset, size, checksum)."""
        out = {}
        with open(path, "wb") as f:
            pos = 0
            members: list[tuple[str, np.ndarray | bytes]] = [(f"{n}.npy", a) for n, a in self.arrays().items()]
            members += [
                (fn, json.dumps(self.tables[lab], ensure_ascii=False).encode()) for lab, fn in TABLE_FILES.items()
            ]
            for name, payload in members:
                pad = -pos % ALIGN
                f.write(b"\0" * pad)
                hf = _HashingFile(f)
                if isinstance(payload, np.ndarray):
                    np.lib.format.write_array(hf, np.ascontiguousarray(payload), allow_pickle=False)
                else:
                    hf.write(payload)
                out[name] = (pos + pad, hf.size, CHECKSUM_PREFIX + hf.h.hexdigest())
                pos += pad + hf.size
            f.flush()
            os.fsync(f.fileno())
        return out

    def manifest(self, path: Path, index: str, columns: dict[str, tuple[int, int, str]]) -> Manifest:
        """The manifest of this index, once written as ``index`` with these ``columns``."""
        return Manifest(
            path,
            len(self),
            index,
            {m: list(v) for m, v in self.layouts.items()},
            [(n, s) for n, s in self.files],
            columns,
        )


class _HashingFile:
    def __init__(self, f: Any) -> None:
        self.f, self.h, self.size = f, hashlib.blake2b(digest_size=16), 0

    def write(self, data: bytes | memoryview) -> int:
        self.h.update(data)
        self.size += len(memoryview(data).cast("B"))
        return self.f.write(data)
