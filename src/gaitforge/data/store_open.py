"""Opening a store's index, whatever its schema version, and checking that its files are all there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaitforge.data.store_format import (
    INDEX_NAME,
    Manifest,
    StoreFormatError,
    parse_manifest,
    read_manifest_json,
)
from gaitforge.data.store_index import IndexReader
from gaitforge.data.store_legacy import parse_v1

__all__ = ["check_files", "open_index"]


def check_files(root: Path, manifest: Manifest) -> None:
    """Check that every data and metadata file the manifest lists exists with the listed size.

    Raises:
        FileNotFoundError: a listed file is missing.
        StoreFormatError: a file of the wrong size.
    """
    for k, (fname, size) in enumerate(manifest.files):
        path = root / fname
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{path}: data file is missing; expected by field 'files[{k}]' ({fname}) of {manifest.path}"
            ) from None
        if actual != size:
            raise StoreFormatError(
                f"{path}: size is {actual} bytes; field 'files[{k}]' ({fname}) of {manifest.path} expects {size} "
                f"bytes ({'truncated' if actual < size else 'extra bytes'})"
            )


def open_index(root: Path) -> tuple[IndexReader, list[dict[str, Any]] | None]:
    """The index of the store at ``root``.

    Returns:
        ``(reader, legacy_meta)``: ``legacy_meta`` holds every sequence's metadata for a schema-1 store (whose
        index is read fully into memory), ``None`` for schema 2 (metadata is read per sequence from its file).

    Raises:
        FileNotFoundError: no index, or a listed file is missing.
        StoreFormatError: malformed manifest, unknown schema version, or a file of the wrong size.
    """
    path = root / INDEX_NAME
    raw = read_manifest_json(root)
    if raw["schema_version"] == 1:
        builder, metas, _ = parse_v1(raw, path)
        manifest = builder.manifest(path, "index.000000.idx", {})
        check_files(root, manifest)
        tables = {lab: list(t) for lab, t in builder.tables.items()}
        arrays = {name: a.copy() for name, a in builder.arrays().items()}
        return IndexReader(root, manifest, arrays, tables), metas
    manifest = parse_manifest(raw, path)
    check_files(root, manifest)
    return IndexReader(root, manifest), None
