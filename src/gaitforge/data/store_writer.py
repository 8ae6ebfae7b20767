"""Writing a sequence store (see :mod:`gaitforge.data.store_format` for the layout).

Crash safety, by mode:

* **new store** (default): everything is written into a hidden sibling folder ``.<name>.tmp-<id>`` and moved to
  ``root`` only by :meth:`StoreWriter.close`. An interrupted or failing writer leaves ``root`` untouched (an
  existing store replaced with ``overwrite=True`` stays readable until the final swap).
* **append** (``append=True``, for resumable imports): data goes to *new* shard files in ``root``; files listed by
  the published manifest are never written again, and each checkpoint writes a new index generation
  ``index.<GGGGGG>.idx`` and then republishes ``index.json`` atomically (temp file + ``os.replace``). A killed writer
  leaves the last published index valid; unlisted shard files and index generations it leaves behind are removed
  by the next append writer. On an exception the completed sequences are published, so an interrupted import
  resumes where it stopped. Appending to a schema-1 store upgrades it to schema 2.

Memory is bounded by the index columns (a few dozen bytes per sequence): a writer can hold millions of sequences.
Several processes write one store through part stores merged at the end: see :mod:`gaitforge.data.store_merge`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import numpy as np

from gaitforge.data.ragged import RaggedFrames, encode_ragged
from gaitforge.data.sequence import Sequence
from gaitforge.data.store_codec import RAW, check_codec, encode_frames
from gaitforge.data.store_columns import IndexBuilder, fsync_dir
from gaitforge.data.store_format import (
    ALIGN,
    INDEX_FILE_RE,
    INDEX_NAME,
    META_SHARD_RE,
    SHARD_NAME_RE,
    Layout,
    manifest_to_json,
    raw_digest,
)
from gaitforge.data.store_open import open_index
from gaitforge.data.validation import validate_sequence
from gaitforge.utils.atomic import atomic_write_text, disk_full

__all__ = ["StoreWriter", "publish_index", "remove_orphans", "write_json_atomic"]

logger = logging.getLogger(__name__)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as compact JSON to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``)."""
    atomic_write_text(path, json.dumps(obj, separators=(",", ":"), allow_nan=False))
    fsync_dir(path.parent)


def publish_index(folder: Path, builder: IndexBuilder, generation: int) -> None:
    """Write ``builder`` as index generation ``generation`` of the store in ``folder``, publish its manifest
    atomically, then remove older generations (the one before is kept for readers about to open it)."""
    name = f"index.{generation:06d}.idx"
    columns = builder.write(folder / name)
    write_json_atomic(folder / INDEX_NAME, manifest_to_json(builder.manifest(folder / INDEX_NAME, name, columns)))
    for path in folder.glob("index.*.idx"):
        m = INDEX_FILE_RE.match(path.name)
        if m and int(m.group(1)) < generation - 1:
            path.unlink(missing_ok=True)


def remove_orphans(folder: Path, listed: set[str], generation: int) -> None:
    """Remove what an interrupted writer left in a published store: unlisted shard files, index generations newer
    than the published one, temp manifests."""
    for path in folder.iterdir():
        name = path.name
        g = INDEX_FILE_RE.match(name)
        if (SHARD_NAME_RE.match(name) or META_SHARD_RE.match(name)) and name not in listed:
            logger.warning("store %s: removing %s, left by an interrupted writer", folder, name)
            path.unlink()
        elif g and int(g.group(1)) > generation:
            path.unlink()
        elif name.startswith(f".{INDEX_NAME}.") and name.endswith(".tmp"):
            path.unlink()


_KEPT = "the sequences written before this one are kept and the store's last published index stays valid"


class _Shard:
    """The open, growing data (or metadata) file of one modality.

    Written unbuffered: a failed write (a full disk) leaves no bytes waiting in a buffer, so truncating back to
    the last complete sequence is exact.
    """

    def __init__(self, path: Path, code: int, align: int) -> None:
        self.path, self.code, self.align = path, code, align
        self.size = 0
        self._f: IO[bytes] | None = None

    def _write_all(self, data: memoryview | bytes) -> None:
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                written = self._f.write(view[done:])  # type: ignore[union-attr]
                if not written:
                    raise OSError(errno.EIO, f"{self.path}: write made no progress")
                done += written
        except OSError as exc:
            full = disk_full(exc, self.path, _KEPT)
            if full is None:
                raise
            raise full from exc

    def write(self, data: memoryview | bytes) -> int:
        if self._f is None:
            self._f = open(self.path, "wb", buffering=0)  # noqa: SIM115 - stays open while the shard grows
        offset = -(-self.size // self.align) * self.align
        if offset > self.size:
            self._write_all(b"\0" * (offset - self.size))
        self._write_all(data)
        self.size = offset + len(memoryview(data).cast("B"))
        return offset

    def truncate(self, size: int) -> None:
        if self._f is not None:
            self._f.truncate(size)
            self._f.seek(size)
        self.size = size

    def seal(self) -> None:
        try:
            if self._f is not None:
                os.fsync(self._f.fileno())
                self._f.close()
                self._f = None
            elif not self.path.exists():
                self.path.touch()
        except OSError as exc:
            full = disk_full(exc, self.path, _KEPT)
            if full is None:
                raise
            raise full from exc


class StoreWriter:
    """Write sequences into a store folder.

    Use as a context manager; the index is published at exit (see the module docstring for crash safety).

    Args:
        root: Store folder.
        overwrite: Replace an existing store at ``root`` (only when the writer closes without error).
        append: Add to the store at ``root`` (created if absent); keys already present are skipped.
        shard_bytes: Start a new data file once one would exceed this size.
        checkpoint_seconds: In append mode, republish the index at most this often while adding.
        min_length: Minimum frame count accepted per sequence.
        codec: How arrays are kept (:mod:`gaitforge.data.store_codec`): ``"raw"``, ``"lz4"`` or ``"lz4hc"`` for
            every modality, or a mapping modality → codec (others raw). Sequences already in a store keep theirs.

    Example:
        >>> with StoreWriter(path) as w:  # doctest: +SKIP
        ...     w.add(Sequence("001", "nm-01", "090", {"sil": sils}))
    """

    def __init__(
        self,
        root: str | Path,
        overwrite: bool = False,
        append: bool = False,
        shard_bytes: int = 2 << 30,
        checkpoint_seconds: float = 300.0,
        min_length: int = 1,
        codec: str | Mapping[str, str] = RAW,
    ) -> None:
        if append and overwrite:
            raise ValueError("StoreWriter: 'append' and 'overwrite' exclude each other")
        if isinstance(codec, str):
            self._codec_default, self._codecs = check_codec(codec, "StoreWriter: codec"), {}
        else:
            self._codec_default = RAW
            self._codecs = {m: check_codec(c, f"StoreWriter: codec of modality {m!r}") for m, c in codec.items()}
        self.root = Path(root)
        self.append = append
        self.shard_bytes = int(shard_bytes)
        self.checkpoint_seconds = float(checkpoint_seconds)
        self.min_length = int(min_length)
        self._ix = IndexBuilder()
        self._shards: dict[str, _Shard] = {}  # modality (or "" for metadata) → open shard
        self._next_shard: dict[str, int] = {}
        self._generation = 0
        self._closed = False
        self._last_checkpoint = time.monotonic()
        self.skipped = 0
        legacy_meta = None
        if append:
            self._dir = self.root
            self.root.mkdir(parents=True, exist_ok=True)
            if (self.root / INDEX_NAME).exists():
                legacy_meta = self._load_existing()
            remove_orphans(self.root, set(self._ix.file_codes), self._generation)
        else:
            if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())) and not overwrite:
                raise FileExistsError(
                    f"{self.root}: already exists; pass overwrite=True to replace it or append=True to add to it"
                )
            self.root.parent.mkdir(parents=True, exist_ok=True)
            self._dir = self.root.parent / f".{self.root.name}.tmp-{uuid.uuid4().hex[:12]}"
            self._dir.mkdir()
        for fname in list(self._ix.file_codes) + [p.name for p in self._dir.iterdir()]:
            data, meta = SHARD_NAME_RE.match(fname), META_SHARD_RE.match(fname)
            if data or meta:
                kind, number = (data.group(1), data.group(2)) if data else ("", meta.group(1))  # type: ignore[union-attr]
                self._next_shard[kind] = max(self._next_shard.get(kind, 0), int(number) + 1)
        if legacy_meta is not None:  # a schema-1 store: its metadata moves into a metadata shard
            for i, meta in enumerate(legacy_meta):
                if meta:
                    code, offset, nbytes = self._write_meta(meta)
                    self._ix.cols["meta_file"].a[i], self._ix.cols["meta_offset"].a[i] = code, offset
                    self._ix.cols["meta_nbytes"].a[i] = nbytes
            logger.info("store %s: schema-1 index loaded; it is upgraded to schema 2 when published", self.root)

    def _load_existing(self) -> list[dict[str, Any]] | None:
        """Load the published index of ``root`` into the builder. Returns the metadata of a schema-1 index
        (``None`` for schema 2)."""
        reader, legacy_meta = open_index(self.root)
        reader.check()
        ix = self._ix
        file_map = np.array([ix.file_code(name, size) for name, size in reader.manifest.files], np.int32)
        ix.extend(reader.columns(), reader.tables(), reader.modalities, file_map)
        if legacy_meta is None:
            self._generation = int(INDEX_FILE_RE.match(reader.manifest.index).group(1))  # type: ignore[union-attr]
        return legacy_meta

    # -- public API -------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ix)

    def __contains__(self, key: object) -> bool:
        """Whether ``"subject/condition/view"`` is already in the store (or was added in this session)."""
        if not isinstance(key, str) or key.count("/") != 2:
            return False
        return self._ix.lookup(*key.split("/")) >= 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def add(self, seq: Sequence) -> int:
        """Validate and append one sequence; returns its index in the store.

        In append mode a key that is already present is skipped (its existing index is returned).

        Raises:
            ValueError: invalid sequence (message names the key, the modality and what was expected) or a key
                added twice to a new store.
        """
        self._check_open()
        validate_sequence(seq, self.min_length)
        row = self._ix.lookup(seq.subject, seq.condition, seq.view)
        if row >= 0:
            if self.append:
                self.skipped += 1
                logger.debug("store %s: %s already present, skipped", self.root, seq.key)
                return row
            raise ValueError(f"sequence {seq.key!r}: key added twice to store {self.root}; expected unique keys")
        before = {kind: (shard, shard.size) for kind, shard in self._shards.items()}
        try:
            arrays = {name: self._write_array(name, arr) for name, arr in seq.modalities.items()}
            meta = self._write_meta(seq.meta) if seq.meta else (-1, 0, 0)
        except BaseException:
            for kind, shard in self._shards.items():  # a shard started during this add is emptied
                old, size = before.get(kind, (None, 0))
                shard.truncate(size if old is shard else 0)
            raise
        row = self._ix.append((seq.subject, seq.condition, seq.view), seq.length, arrays, meta)
        if self.append and time.monotonic() - self._last_checkpoint > self.checkpoint_seconds:
            self.checkpoint()
        return row

    def add_store(self, source: str | Path, on_duplicate: str = "error") -> int:
        """Add every sequence of another store by linking its files (no data copy); returns how many were added.

        See :func:`gaitforge.data.store_merge.add_store` (``on_duplicate``: ``"error"``, ``"skip"``, ``"identical"``).
        """
        from gaitforge.data.store_merge import add_store

        return add_store(self, source, on_duplicate)

    def checkpoint(self) -> None:
        """Seal the open data files and publish the index (append mode; a no-op for a new store)."""
        self._check_open()
        if not self.append:
            return
        self._seal_all()
        self._write_index()
        self._last_checkpoint = time.monotonic()

    def close(self) -> None:
        """Seal the data files and publish the store."""
        if self._closed:
            return
        self._seal_all()
        self._write_index()
        self._closed = True
        if not self.append:
            self._publish()
        logger.info("store %s: %d sequences (%d skipped as present)", self.root, len(self._ix), self.skipped)

    def abort(self) -> None:
        """Stop after an error: a new store is discarded; in append mode the completed sequences are published."""
        if self._closed:
            return
        if self.append:
            try:
                self.close()
            except OSError as exc:  # e.g. the disk is full: the published index is still the last good one
                self._closed = True
                logger.warning("store %s: could not publish after the error (%s); the last published index "
                               "stays valid and the next append writer removes the unlisted files", self.root, exc)
            return
        for shard in self._shards.values():
            try:
                shard.seal()
            except OSError:  # the folder is discarded anyway
                pass
        self._closed = True
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- internals -------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"StoreWriter for {self.root} is closed")

    def _shard_for(self, kind: str, nbytes: int) -> _Shard:
        """The open shard of ``kind`` (a modality, or ``""`` for metadata), rolled over past ``shard_bytes``."""
        shard = self._shards.get(kind)
        if shard is not None and shard.size > 0 and shard.size + nbytes > self.shard_bytes:
            self._seal(kind)
            shard = None
        if shard is None:
            number = self._next_shard.get(kind, 0)
            self._next_shard[kind] = number + 1
            name = f"{kind}.{number:05d}.bin" if kind else f"meta.{number:05d}.jsonl"
            shard = self._shards[kind] = _Shard(self._dir / name, self._ix.file_code(name), ALIGN if kind else 1)
        return shard

    def _write_array(self, name: str, arr: np.ndarray | RaggedFrames) -> tuple[int, int, Layout, bytes]:
        if isinstance(arr, RaggedFrames):
            values = arr.values
            if values.dtype.byteorder == ">" or (values.dtype.byteorder == "=" and not np.little_endian):
                values = values.astype(values.dtype.newbyteorder("<"))
            arr = RaggedFrames(np.ascontiguousarray(values), arr.offsets)
            codec = self._codecs.get(name, self._codec_default)
            view = memoryview(encode_ragged(arr, codec))
            shard = self._shard_for(name, view.nbytes)
            offset = shard.write(view)
            return shard.code, offset, Layout(values.dtype, (None, *arr.row_shape), codec), raw_digest(view)
        if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and not np.little_endian):
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        arr = np.ascontiguousarray(arr)
        codec = self._codecs.get(name, self._codec_default)
        view = memoryview(arr).cast("B") if codec == RAW else memoryview(encode_frames(arr, codec))
        shard = self._shard_for(name, view.nbytes)
        offset = shard.write(view)
        return shard.code, offset, Layout(arr.dtype, tuple(arr.shape[1:]), codec), raw_digest(view)

    def _write_meta(self, meta: dict[str, Any]) -> tuple[int, int, int]:
        line = json.dumps(meta, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        shard = self._shard_for("", len(line) + 1)
        offset = shard.write(line + b"\n")
        return shard.code, offset, len(line)

    def _seal(self, kind: str) -> None:
        shard = self._shards.pop(kind)
        shard.seal()
        self._ix.files[shard.code][1] = shard.size

    def _seal_all(self) -> None:
        for kind in list(self._shards):
            self._seal(kind)

    def _write_index(self) -> None:
        self._generation += 1
        publish_index(self._dir, self._ix, self._generation)

    def _publish(self) -> None:
        old = None
        if self.root.exists():
            old = self.root.parent / f".{self.root.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(self.root, old)
        os.rename(self._dir, self.root)
        fsync_dir(self.root.parent)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
