"""Writing a sequence store (see :mod:`gaitforge.data.store_format` for the layout).

Crash safety, by mode:

* **new store** (default): everything is written into a hidden sibling folder ``.<name>.tmp-<id>`` and moved to
  ``root`` only by :meth:`StoreWriter.close`. An interrupted or failing writer leaves ``root`` untouched (an
  existing store replaced with ``overwrite=True`` stays readable until the final swap).
* **append** (``append=True``, for resumable imports): data goes to *new* shard files in ``root``; files listed by
  the published ``index.json`` are never written again, and the index is republished atomically (temp file +
  ``os.replace``) at checkpoints and at close. A killed writer leaves the last published index valid; unlisted shard
  files it leaves behind are removed by the next append writer. On an exception the completed sequences are
  published, so an interrupted import resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.data.store_format import (
    ALIGN,
    FORMAT_NAME,
    INDEX_NAME,
    SCHEMA_VERSION,
    SHARD_NAME_RE,
    ArrayEntry,
    SequenceRecord,
    checksum,
    load_index,
    record_to_json,
)
from gaitforge.data.validation import validate_sequence

__all__ = ["StoreWriter", "write_json_atomic"]

logger = logging.getLogger(__name__)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` via a temp file in the same folder, fsync and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
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


class _Shard:
    """The open, growing data file of one modality."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._f: IO[bytes] | None = None

    def write(self, data: memoryview) -> int:
        if self._f is None:
            self._f = open(self.path, "wb")  # noqa: SIM115 - stays open while the shard grows
        offset = -(-self.size // ALIGN) * ALIGN
        if offset > self.size:
            self._f.write(b"\0" * (offset - self.size))
        self._f.write(data)
        self.size = offset + data.nbytes
        return offset

    def truncate(self, size: int) -> None:
        if self._f is not None:
            self._f.flush()
            self._f.truncate(size)
            self._f.seek(size)
        self.size = size

    def seal(self) -> None:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            self._f = None


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
    ) -> None:
        if append and overwrite:
            raise ValueError("StoreWriter: 'append' and 'overwrite' exclude each other")
        self.root = Path(root)
        self.append = append
        self.shard_bytes = int(shard_bytes)
        self.checkpoint_seconds = float(checkpoint_seconds)
        self.min_length = int(min_length)
        self._records: list[SequenceRecord] = []
        self._files: dict[str, int] = {}
        self._modalities: list[str] = []
        self._keys: dict[str, int] = {}
        self._shards: dict[str, _Shard] = {}
        self._next_shard: dict[str, int] = {}
        self._closed = False
        self._last_checkpoint = time.monotonic()
        self.skipped = 0
        if append:
            self._dir = self.root
            self.root.mkdir(parents=True, exist_ok=True)
            if (self.root / INDEX_NAME).exists():
                self._modalities, self._files, self._records = load_index(self.root)
                self._keys = {r.key: i for i, r in enumerate(self._records)}
            self._remove_orphans()
        else:
            if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())) and not overwrite:
                raise FileExistsError(
                    f"{self.root}: already exists; pass overwrite=True to replace it or append=True to add to it"
                )
            self.root.parent.mkdir(parents=True, exist_ok=True)
            self._dir = self.root.parent / f".{self.root.name}.tmp-{uuid.uuid4().hex[:12]}"
            self._dir.mkdir()
        for fname in list(self._files) + [p.name for p in self._dir.glob("*.bin")]:
            m = SHARD_NAME_RE.match(fname)
            if m:
                self._next_shard[m.group(1)] = max(self._next_shard.get(m.group(1), 0), int(m.group(2)) + 1)

    # -- public API -------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        """Whether ``"subject/condition/view"`` is already in the store (or was added in this session)."""
        return key in self._keys

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
        key = seq.key
        if key in self._keys:
            if self.append:
                self.skipped += 1
                logger.debug("store %s: %s already present, skipped", self.root, key)
                return self._keys[key]
            raise ValueError(f"sequence {key!r}: key added twice to store {self.root}; expected unique keys")
        sizes_before = {m: s.size for m, s in self._shards.items()}
        arrays: dict[str, ArrayEntry] = {}
        try:
            for name, arr in seq.modalities.items():
                arrays[name] = self._write_array(name, arr)
        except BaseException:
            for m, shard in self._shards.items():
                shard.truncate(sizes_before.get(m, 0))
            raise
        rec = SequenceRecord(seq.subject, seq.condition, seq.view, seq.length, arrays, dict(seq.meta))
        self._keys[key] = len(self._records)
        self._records.append(rec)
        for name in arrays:
            if name not in self._modalities:
                self._modalities.append(name)
        if self.append and time.monotonic() - self._last_checkpoint > self.checkpoint_seconds:
            self.checkpoint()
        return self._keys[key]

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
        logger.info(
            "store %s: %d sequences (%d skipped as present)", self.root, len(self._records), self.skipped
        )

    def abort(self) -> None:
        """Stop after an error: a new store is discarded; in append mode the completed sequences are published."""
        if self._closed:
            return
        if self.append:
            self.close()
            return
        for shard in self._shards.values():
            shard.seal()
        self._closed = True
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- internals -------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"StoreWriter for {self.root} is closed")

    def _write_array(self, name: str, arr: np.ndarray) -> ArrayEntry:
        if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and not np.little_endian):
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        arr = np.ascontiguousarray(arr)
        shard = self._shards.get(name)
        if shard is not None and shard.size > 0 and shard.size + arr.nbytes > self.shard_bytes:
            self._seal(name)
            shard = None
        if shard is None:
            number = self._next_shard.get(name, 0)
            self._next_shard[name] = number + 1
            shard = self._shards[name] = _Shard(self._dir / f"{name}.{number:05d}.bin")
        view = memoryview(arr).cast("B")
        offset = shard.write(view)
        return ArrayEntry(shard.path.name, offset, arr.nbytes, arr.dtype, tuple(arr.shape), checksum(view))

    def _seal(self, name: str) -> None:
        shard = self._shards.pop(name)
        shard.seal()
        if shard.size > 0:
            self._files[shard.path.name] = shard.size
        elif shard.path.exists():
            shard.path.unlink()

    def _seal_all(self) -> None:
        for name in list(self._shards):
            self._seal(name)

    def _write_index(self) -> None:
        index = {
            "format": FORMAT_NAME,
            "schema_version": SCHEMA_VERSION,
            "modalities": list(self._modalities),
            "files": dict(self._files),
            "sequences": [record_to_json(r) for r in self._records],
        }
        write_json_atomic(self._dir / INDEX_NAME, index)

    def _publish(self) -> None:
        old = None
        if self.root.exists():
            old = self.root.parent / f".{self.root.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(self.root, old)
        os.rename(self._dir, self.root)
        _fsync_dir(self.root.parent)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()

    def _remove_orphans(self) -> None:
        for path in self.root.glob("*.bin"):
            if SHARD_NAME_RE.match(path.name) and path.name not in self._files:
                logger.warning("store %s: removing %s, left by an interrupted writer", self.root, path.name)
                path.unlink()
        for path in self.root.glob(f".{INDEX_NAME}.tmp-*"):
            path.unlink()
