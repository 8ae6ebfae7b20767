"""Merging stores, and writing one store from several processes through per-worker part stores.

A merge links the data files of each source into the destination (hard links: no data is copied; a copy only
where the file system cannot link) under new shard numbers and concatenates the index columns, with string tables,
layouts and file codes remapped: its cost is proportional to the index, not to the data.

Several processes writing one store::

    # in worker k (resumable: a part is an append-mode store)
    with StoreWriter(part_path(root, k), append=True) as w:
        for seq in my_share:
            w.add(seq)
    # once every worker is done, in one process
    merge_parts(root)  # root is created or appended to; the parts are removed

A merge into a new store is published atomically like any new store; a merge into an existing one
(``append=True``) publishes a new index generation, so a merge killed midway leaves the store as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gaitforge.data.store_columns import find_duplicates
from gaitforge.data.store_format import INDEX_NAME, LABELS, SHARD_NAME_RE
from gaitforge.data.store_open import open_index

if TYPE_CHECKING:
    from gaitforge.data.store_index import IndexReader
    from gaitforge.data.store_writer import StoreWriter

__all__ = ["ON_DUPLICATE", "add_store", "merge_parts", "merge_stores", "part_path"]

logger = logging.getLogger(__name__)

#: What a merge does with a key that is already present: raise, keep the first, or keep the first when both
#: sequences are the same (same length, modalities and checksums) and raise otherwise (safe to re-run).
ON_DUPLICATE = ("error", "skip", "identical")


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError as exc:  # another file system, or one without hard links
        logger.warning("store merge: cannot link %s (%s); copying it", src, exc)
        shutil.copyfile(src, dst)


def add_store(writer: StoreWriter, source: str | Path, on_duplicate: str = "error") -> int:
    """Add every sequence of the store at ``source`` to ``writer`` without copying data. Returns the number added.

    Raises:
        ValueError: ``on_duplicate`` is unknown, or a duplicate key under ``"error"`` (or ``"identical"`` with
            different content); the message names the key and the source.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"add_store: on_duplicate is {on_duplicate!r}; expected one of {list(ON_DUPLICATE)}")
    writer._check_open()
    source = Path(source)
    reader, legacy_meta = open_index(source)
    reader.check()
    ix = writer._ix
    cols, tables = reader.columns(), reader.tables()
    n_old, n_src = len(ix), reader.count
    luts = {lab: np.array([ix.code(lab, x) for x in tables[lab]] + [0], np.int32) for lab in LABELS}
    triples = [np.concatenate([ix.cols[lab].view(), luts[lab][cols[lab]]]) for lab in LABELS]
    dup, first = find_duplicates(*triples)
    keep = np.ones(n_src, bool)
    if dup.size:
        src_rows = dup - n_old
        if on_duplicate == "error":
            raise ValueError(
                f"{source}: sequence {reader.key(int(src_rows[0]))!r} is already in the store {writer.root} "
                f"({len(dup)} duplicate key(s)); pass on_duplicate='skip' or 'identical'"
            )
        if on_duplicate == "identical":
            _check_identical(writer, reader, source, src_rows, first)
        keep[src_rows] = False
        logger.info("store merge: %d sequence(s) of %s already present, skipped", len(dup), source)
    cols = {name: col[keep] for name, col in cols.items()}
    used: set[int] = set(np.unique(cols["meta_file"]).tolist())
    for m in reader.modalities:
        used |= set(np.unique(cols[f"{m}.file"]).tolist())
    file_map = np.full(len(reader.file_names), -1, np.int32)
    n_files = len(ix.files)
    try:
        for code in sorted(used - {-1}):
            name = reader.file_names[code]
            data = SHARD_NAME_RE.match(name)
            kind = data.group(1) if data else ""  # otherwise a metadata shard (the manifest allows nothing else)
            number = writer._next_shard.get(kind, 0)
            writer._next_shard[kind] = number + 1
            new = f"{kind}.{number:05d}.bin" if kind else f"meta.{number:05d}.jsonl"
            _link(source / name, writer._dir / new)
            file_map[code] = ix.file_code(new, int(reader.file_sizes[code]))
    except BaseException:  # nothing of this source is listed: its links are removed now or by the next writer
        for name, _ in ix.files[n_files:]:
            del ix.file_codes[name]
            (writer._dir / name).unlink(missing_ok=True)
        del ix.files[n_files:]
        raise
    row0 = len(ix)
    ix.extend(cols, tables, reader.modalities, file_map)
    if legacy_meta is not None:  # a schema-1 source: its metadata goes into the writer's metadata shard
        for k, i in enumerate(np.flatnonzero(keep).tolist()):
            if legacy_meta[i]:
                code, offset, nbytes = writer._write_meta(legacy_meta[i])
                ix.cols["meta_file"].a[row0 + k], ix.cols["meta_offset"].a[row0 + k] = code, offset
                ix.cols["meta_nbytes"].a[row0 + k] = nbytes
    return int(keep.sum())


def _check_identical(
    writer: StoreWriter, reader: IndexReader, source: Path, src_rows: np.ndarray, first: np.ndarray
) -> None:
    ix = writer._ix
    n_old = len(ix)
    old_rows = np.minimum(first, n_old - 1)
    same = (first < n_old) & (ix.cols["length"].view()[old_rows] == reader.column("length")[src_rows])
    none = np.zeros(len(first), bool), np.zeros((len(first), 16), np.uint8)
    for m in set(ix.layouts) | set(reader.modalities):
        old_has, old_sum = none
        if m in ix.layouts:
            old_has = ix.cols[f"{m}.layout"].view()[old_rows] >= 0
            old_sum = ix.cols[f"{m}.checksum"].view()[old_rows]
        new_has, new_sum = none
        if m in reader.modalities:
            new_has, new_sum = reader.group(m)[2][src_rows] >= 0, reader.column(f"{m}.checksum")[src_rows]
        same &= (old_has == new_has) & (~new_has | np.all(old_sum == new_sum, axis=1))
    if not same.all():
        bad = int(src_rows[np.flatnonzero(~same)[0]])
        raise ValueError(
            f"{source}: sequence {reader.key(bad)!r} is already in the store {writer.root} with different "
            "content (length, modalities or checksums); expected identical duplicates"
        )


def merge_stores(
    sources: Iterable[str | Path],
    dest: str | Path,
    *,
    append: bool = False,
    overwrite: bool = False,
    on_duplicate: str = "error",
    remove_sources: bool = False,
) -> Path:
    """Merge the stores ``sources`` into ``dest`` by an index-only merge (data files are hard-linked).

    Args:
        sources: Store folders (schema 1 or 2), merged in this order.
        dest: The merged store; a new one unless ``append`` (then created if absent) or ``overwrite``.
        append: Add to the store at ``dest``.
        overwrite: Replace the store at ``dest``.
        on_duplicate: See :data:`ON_DUPLICATE`.
        remove_sources: Delete the source folders once the merged store is published.

    Returns:
        ``dest``.
    """
    from gaitforge.data.store_writer import StoreWriter

    sources = [Path(s) for s in sources]
    dest = Path(dest)
    with StoreWriter(dest, append=append, overwrite=overwrite) as writer:
        for src in sources:
            n = add_store(writer, src, on_duplicate)
            logger.info("store merge: %d sequence(s) from %s", n, src)
    if remove_sources:
        for src in sources:
            shutil.rmtree(src)
    return dest


def part_path(root: str | Path, part: str | int) -> Path:
    """Folder of part store ``part`` of the store ``root`` (a hidden sibling folder ``.<name>.parts/<part>``)."""
    root = Path(root)
    name = f"part-{part:05d}" if isinstance(part, int) else str(part)
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"part_path: part is {part!r}; expected an int or a plain folder name")
    return root.parent / f".{root.name}.parts" / name


def merge_parts(root: str | Path, on_duplicate: str = "identical") -> Path:
    """Merge every part store of ``root`` (see :func:`part_path`) into ``root`` (created or appended to) and
    remove the parts. Safe to re-run after an interruption.

    Raises:
        FileNotFoundError: there is no part store.
    """
    root = Path(root)
    parts_dir = part_path(root, "x").parent
    parts = sorted(p for p in parts_dir.iterdir() if (p / INDEX_NAME).is_file()) if parts_dir.is_dir() else []
    if not parts:
        raise FileNotFoundError(f"{parts_dir}: no part store to merge into {root}")
    merge_stores(parts, root, append=True, on_duplicate=on_duplicate)
    shutil.rmtree(parts_dir)
    return root
