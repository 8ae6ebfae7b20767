"""Reading schema-1 stores (one ``index.json`` holding every record), still supported.

Schema 1 is read fully into memory at open (fine for the sizes it was used for); the columns built from it are
the same as schema 2's, so the rest of the store code does not know the difference. Appending to a schema-1
store (``StoreWriter(root, append=True)``), or :func:`upgrade_store`, rewrites its index as schema 2 without
touching its data files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.store_columns import IndexBuilder
from gaitforge.data.store_format import (
    ALIGN,
    CHECKSUM_PREFIX,
    INDEX_NAME,
    LABELS,
    SHARD_NAME_RE,
    Layout,
    StoreFormatError,
)

__all__ = ["parse_v1", "upgrade_store"]


def _get(obj: Any, name: str, kind: type | tuple[type, ...], where: str, path: Path) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise StoreFormatError(f"{path}: field '{where}{name}' is missing")
    value = obj[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise StoreFormatError(f"{path}: field '{where}{name}' is {value!r}; expected {names}")
    return value


def _entry(raw: Any, where: str, path: Path, files: dict[str, int], length: int) -> tuple[str, int, Layout, bytes]:
    fname = _get(raw, "file", str, where, path)
    if fname not in files:
        raise StoreFormatError(f"{path}: field '{where}file' names {fname!r}, which is not listed in 'files'")
    offset = _get(raw, "offset", int, where, path)
    nbytes = _get(raw, "nbytes", int, where, path)
    try:
        dtype = np.dtype(_get(raw, "dtype", str, where, path))
    except TypeError as exc:
        raise StoreFormatError(f"{path}: field '{where}dtype' is not a numpy dtype: {exc}") from exc
    shape = _get(raw, "shape", list, where, path)
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise StoreFormatError(f"{path}: field '{where}shape' is {shape!r}; expected positive integers")
    if shape[0] != length:
        raise StoreFormatError(f"{path}: field '{where}shape' has {shape[0]} frames; expected 'length' = {length}")
    if offset < 0 or offset % ALIGN:
        raise StoreFormatError(
            f"{path}: field '{where}offset' is {offset}; expected a non-negative multiple of {ALIGN}"
        )
    expected = math.prod(shape) * dtype.itemsize
    if nbytes != expected:
        raise StoreFormatError(
            f"{path}: field '{where}nbytes' is {nbytes}; expected {expected} for shape {shape} and dtype {dtype.str}"
        )
    if offset + nbytes > files[fname]:
        raise StoreFormatError(
            f"{path}: field '{where}offset' + nbytes = {offset + nbytes} exceeds the size of {fname!r} "
            f"recorded in 'files' ({files[fname]})"
        )
    digest = _get(raw, "checksum", str, where, path)
    try:
        raw_digest = bytes.fromhex(digest.removeprefix(CHECKSUM_PREFIX))
    except ValueError:
        raw_digest = b""
    if not digest.startswith(CHECKSUM_PREFIX) or len(raw_digest) != 16:
        raise StoreFormatError(f"{path}: field '{where}checksum' is {digest!r}; expected '{CHECKSUM_PREFIX}<hex>'")
    return fname, offset, Layout(dtype, tuple(shape[1:])), raw_digest


def parse_v1(raw: dict[str, Any], path: Path) -> tuple[IndexBuilder, list[dict[str, Any]], dict[str, int]]:
    """Validate a decoded schema-1 ``index.json`` and build its columns.

    Returns:
        ``(builder, metas, files)``: the columns (metadata not placed: ``meta_file`` is -1), each sequence's
        metadata, and data file name → expected size.

    Raises:
        StoreFormatError: naming ``path`` and the offending field.
    """
    modalities = _get(raw, "modalities", list, "", path)
    files = _get(raw, "files", dict, "", path)
    for fname, size in files.items():
        if not SHARD_NAME_RE.match(fname) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise StoreFormatError(f"{path}: field 'files.{fname}' = {size!r}; expected '<modality>.NNNNN.bin': size")
    builder = IndexBuilder()
    for fname, size in files.items():
        builder.file_code(fname, size)
    metas: list[dict[str, Any]] = []
    for i, s in enumerate(_get(raw, "sequences", list, "", path)):
        where = f"sequences[{i}]."
        labels = tuple(_get(s, lab, str, where, path) for lab in LABELS)
        length = _get(s, "length", int, where, path)
        meta = _get(s, "meta", dict, where, path)
        arrays_raw = _get(s, "modalities", dict, where, path)
        if not arrays_raw:
            raise StoreFormatError(f"{path}: field '{where}modalities' is empty")
        arrays = {}
        for m, e in arrays_raw.items():
            if m not in modalities:
                raise StoreFormatError(f"{path}: field '{where}modalities.{m}' is not listed in 'modalities'")
            fname, offset, layout, digest = _entry(e, f"{where}modalities.{m}.", path, files, length)
            arrays[m] = (builder.file_codes[fname], offset, layout, digest)
        if builder.lookup(*labels) >= 0:  # type: ignore[arg-type]
            raise StoreFormatError(f"{path}: field '{where}' repeats the key {'/'.join(labels)!r}")
        builder.append(labels, length, arrays)  # type: ignore[arg-type]
        metas.append(meta)
    return builder, metas, files


def upgrade_store(root: str | Path) -> Path:
    """Rewrite the index of a schema-1 store as schema 2, in place and atomically (data files are kept)."""
    from gaitforge.data.store_writer import StoreWriter

    root = Path(root)
    if not (root / INDEX_NAME).is_file():
        raise FileNotFoundError(f"{root / INDEX_NAME}: no store index here")
    StoreWriter(root, append=True).close()
    return root
