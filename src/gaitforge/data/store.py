"""The sequence store: sharded per-modality arrays plus a columnar index. No pickle anywhere.

Write with :class:`StoreWriter` (several processes: :mod:`gaitforge.data.store_merge`), read with
:class:`SequenceStore`. Layout and crash-safety rules are documented in :mod:`gaitforge.data.store_format` and
:mod:`gaitforge.data.store_writer`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from collections.abc import Sequence as SequenceABC
from functools import partial
from pathlib import Path
from typing import Any, overload

import numpy as np

from gaitforge.data.ragged import RaggedFrames, decode_ragged_all, read_ragged_frames
from gaitforge.data.sequence import Sequence
from gaitforge.data.store_batch import array_extents, read_rows
from gaitforge.data.store_codec import RAW, decode_all
from gaitforge.data.store_format import (
    INDEX_NAME,
    LABELS,
    SCHEMA_VERSION,
    ArrayEntry,
    SequenceRecord,
    StoreFormatError,
    digest_text,
)
from gaitforge.data.store_open import open_index
from gaitforge.data.store_reads import FileHandles, read_frames
from gaitforge.data.store_verify import ReadVerifier, check_array
from gaitforge.data.store_writer import StoreWriter

__all__ = [
    "MAX_OPEN_FILES",
    "MAX_OPEN_MAPS",
    "SCHEMA_VERSION",
    "SequenceRecord",
    "SequenceStore",
    "StoreFormatError",
    "StoreWriter",
]

logger = logging.getLogger(__name__)

#: Memory maps kept open per process (least recently used ones are dropped beyond this).
MAX_OPEN_MAPS = 128
#: File descriptors kept open per process for :meth:`SequenceStore.frames` and metadata reads.
MAX_OPEN_FILES = 256


def _as_set(values: str | Iterable[str] | None) -> set[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return {values}
    return {str(v) for v in values}


class RecordList(SequenceABC[SequenceRecord]):
    """The records of a store as a read-only sequence; each record is built when accessed (nothing is held)."""

    def __init__(self, store: SequenceStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    @overload
    def __getitem__(self, i: int) -> SequenceRecord: ...
    @overload
    def __getitem__(self, i: slice) -> list[SequenceRecord]: ...
    def __getitem__(self, i: int | slice) -> SequenceRecord | list[SequenceRecord]:
        if isinstance(i, slice):
            return [self._store.record(k) for k in range(*i.indices(len(self)))]
        return self._store.record(i)

    def __iter__(self) -> Iterator[SequenceRecord]:
        return (self._store.record(k) for k in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SequenceABC) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class SequenceStore:
    """Read-only access to a store folder.

    Opening reads the manifest and checks that every data file exists with the recorded size; index columns are
    read (and checked against their checksums) on first use, so a store of millions of sequences opens in
    milliseconds. :meth:`frames` reads only the requested frames with ``pread`` (memory stays flat however much
    data is read); :meth:`array` / :meth:`get` give zero-copy memory-mapped views. Memory maps and file handles
    are opened lazily and per process, so a store is cheap to pickle into DataLoader workers.

    Args:
        root: Store folder (schema 2, or schema 1 which is read fully into memory).
        verify: Also run every index check and check every array's checksum (reads all data).
        verify_reads: Check each array's checksum the first time this process reads it (:meth:`frames`,
            :meth:`read_batch`, :meth:`array`), so corrupted bytes stop training and evaluation with an error
            naming the file and the sequence (see :mod:`gaitforge.data.store_verify`).

    Raises:
        FileNotFoundError: the index or a data file is missing (message names the file and the index field).
        StoreFormatError: malformed index, wrong schema version, wrong file size, or a checksum mismatch
            (``verify``: at opening; ``verify_reads``: at the first read of the array).
    """

    def __init__(self, root: str | Path, verify: bool = False, verify_reads: bool = True) -> None:
        self.root = Path(root)
        self._index, self._legacy_meta = open_index(self.root)
        self.modalities = list(self._index.modalities)
        self._files = dict(self._index.manifest.files)
        self._maps: dict[str, np.memmap] = {}
        self._handles = FileHandles(self.root, MAX_OPEN_FILES)
        self._fast: dict[str, tuple] = {}  # modality → its checked columns (see _columns_of)
        self._extent: dict[str, np.ndarray] = {}  # modality → byte extent of each array (see _extents)
        self._pid = os.getpid()
        self._reads = ReadVerifier(self._index.count) if verify_reads else None
        if verify:
            self.verify()

    # -- pickling: memory maps and file handles are per process --------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"], state["_handles"], state["_fast"], state["_extent"] = {}, None, {}, {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._handles = FileHandles(self.root, MAX_OPEN_FILES)
        self._pid = os.getpid()

    def close(self) -> None:
        """Close this process's file handles and memory maps (views already handed out stay valid)."""
        self._handles.close()
        self._maps.clear()

    def __enter__(self) -> SequenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _map(self, fname: str) -> np.memmap:
        if self._pid != os.getpid():
            self._maps, self._pid = {}, os.getpid()
        mm = self._maps.pop(fname, None)
        if mm is None:
            mm = np.memmap(self.root / fname, dtype=np.uint8, mode="r")
            if len(self._maps) >= MAX_OPEN_MAPS:  # bound open maps; views handed out keep their own map
                self._maps.pop(next(iter(self._maps)))
        self._maps[fname] = mm  # most recently used last
        return mm

    # -- index queries -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._index.count

    def __repr__(self) -> str:
        return f"SequenceStore({str(self.root)!r}, sequences={len(self)}, modalities={self.modalities})"

    def _row(self, i: int) -> int:
        n = self._index.count
        j = int(i) + n if int(i) < 0 else int(i)
        if not 0 <= j < n:
            raise IndexError(f"{self.root}: sequence index {i} out of range for {n} sequences")
        return j

    @property
    def records(self) -> RecordList:
        """Typed index records (subject, condition, view, length, shapes, meta), in store order; a lazy sequence
        (``len``, indexing, iteration) that builds each record when accessed."""
        return RecordList(self)

    def record(self, i: int) -> SequenceRecord:
        """The record of sequence ``i``."""
        i = self._row(i)
        ix = self._index
        length = int(ix.column("length")[i])
        arrays = {}
        for m, layouts in ix.modalities.items():
            file, offset, layout = ix.group(m)
            code = int(layout[i])
            if code < 0:
                continue
            lay = layouts[code]
            arrays[m] = ArrayEntry(
                ix.file_names[int(file[i])],
                int(offset[i]),
                -1 if lay.ragged else length * lay.frame_nbytes,  # ragged: known only from the array's header
                lay.dtype,
                (length, *lay.frame_shape),
                digest_text(ix.column(f"{m}.checksum")[i].tobytes()),
                lay.codec,
            )
        labels = [ix.label(lab, i) for lab in LABELS]
        return SequenceRecord.with_lazy_meta(labels[0], labels[1], labels[2], length, arrays, partial(self._meta, i))

    def _meta(self, i: int) -> dict[str, Any]:
        if self._legacy_meta is not None:
            return dict(self._legacy_meta[i])
        file, offset, nbytes = self._index.meta_group()
        code = int(file[i])
        if code < 0:
            return {}
        name = self._index.file_names[code]
        data = self._handles.pread(name, int(nbytes[i]), int(offset[i]))
        try:
            meta = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            meta = exc
        if not isinstance(meta, dict):
            raise StoreFormatError(
                f"{self.root / name}: bytes {int(offset[i])}..{int(offset[i]) + len(data)} (metadata of sequence "
                f"{self._index.key(i)!r}) are not a JSON object: {meta}"
            )
        return meta

    def index_of(self, key: str) -> int:
        """Store index of ``"subject/condition/view"``."""
        row = self._index.lookup(key)
        if row < 0:
            raise KeyError(f"{self.root}: no sequence {key!r}")
        return row

    def subjects(self) -> list[str]:
        """Sorted distinct subjects."""
        table = self._index.table("subject")
        return sorted(table[c] for c in np.unique(self._index.column("subject")).tolist())

    def labels(self, field: str, indices: Iterable[int] | None = None) -> list[str]:
        """The ``subject``, ``condition`` or ``view`` of each sequence in ``indices`` (default: all), vectorised."""
        if field not in LABELS:
            raise ValueError(f"labels: field is {field!r}; expected one of {list(LABELS)}")
        codes = self._index.column(field)
        if indices is not None:
            codes = codes[np.fromiter(indices, np.int64)]
        table = self._index.table(field)
        return [table[c] for c in codes.tolist()]

    def lengths(self, indices: Iterable[int] | None = None) -> np.ndarray:
        """Frame count of each sequence in ``indices`` (default: all), int64 ``[n]``."""
        length = self._index.column("length")
        return (length if indices is None else length[np.fromiter(indices, np.int64)]).astype(np.int64)

    def select(
        self,
        subjects: str | Iterable[str] | None = None,
        conditions: str | Iterable[str] | None = None,
        views: str | Iterable[str] | None = None,
        modalities: str | Iterable[str] | None = None,
    ) -> list[int]:
        """Indices of the sequences matching every given filter (``None`` = no filter), ascending.

        ``modalities`` keeps the sequences that have all the named modalities. Vectorised over the index columns.
        """
        ix = self._index
        mask = np.ones(ix.count, bool)
        for label, values in zip(LABELS, (subjects, conditions, views)):
            wanted = _as_set(values)
            if wanted is None:
                continue
            lookup = ix.codes(label)
            codes = [lookup[w] for w in wanted if w in lookup]
            mask &= np.isin(ix.column(label), np.array(codes, np.int32))
        for m in _as_set(modalities) or ():
            if m not in ix.modalities:
                return []
            mask &= ix.group(m)[2] >= 0
        return np.flatnonzero(mask).tolist()

    # -- data access -------------------------------------------------------------------------------------

    def _columns_of(self, modality: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Any]]:
        """Checked ``(file, offset, layout, length)`` columns and the layouts of one modality (cached)."""
        cols = self._fast.get(modality)
        if cols is None:
            ix = self._index
            file, offset, layout = ix.group(modality)
            cols = self._fast[modality] = (file, offset, layout, ix.column("length"), ix.modalities[modality])
        return cols

    def _locate(self, i: int, modality: str) -> tuple[str, int, int, Any]:
        """``(file name, offset, length, layout)`` of one array."""
        ix = self._index
        j = i if type(i) is int and 0 <= i < ix.count else self._row(i)
        if modality in ix.modalities:
            file, offset, layout, length, layouts = self._columns_of(modality)
            code = int(layout[j])
            if code >= 0:
                return ix.file_names[int(file[j])], int(offset[j]), int(length[j]), layouts[code]
        have = [m for m in ix.modalities if ix.group(m)[2][j] >= 0]
        raise KeyError(f"{self.root}: sequence {ix.key(j)!r} has no modality {modality!r}; it has {have}")

    def _plan(
        self, i: int, modality: str, idx: np.ndarray | Iterable[int]
    ) -> tuple[str, int, Any, np.ndarray, int, int, int]:
        """``(file name, offset, layout, idx, lo, hi, length)`` of a frame read, ``idx`` checked (``lo..hi-1`` its
        range)."""
        fname, offset, length, lay = self._locate(i, modality)
        idx = np.asarray(idx, dtype=np.int64)
        if idx.ndim != 1:
            raise ValueError(f"frames: idx has shape {idx.shape}; expected a 1-D array of frame indices")
        lo, hi = (int(idx.min()), int(idx.max()) + 1) if idx.size else (0, 0)
        if lo < 0 or hi > length:
            raise IndexError(
                f"{self.root}: sequence {self._index.key(self._row(i))!r} has {length} frames; "
                f"frame indices {lo}..{hi - 1} requested"
            )
        return fname, offset, lay, idx, lo, hi, length

    def array(self, i: int, modality: str) -> np.ndarray | RaggedFrames:
        """Read-only memory-mapped view of one modality of sequence ``i`` (shape as stored, no copy); a compressed
        array (``codec`` not ``raw``) is decoded into a new read-only array, a ragged one (point clouds) into a
        new :class:`~gaitforge.data.ragged.RaggedFrames`."""
        fname, offset, length, lay = self._locate(i, modality)
        if self._reads is not None:
            self._reads.ensure([self._row(i)], modality, self._check_array)
        if lay.ragged:
            arr = decode_ragged_all(self._handles, fname, offset, lay, length)
            arr.values.flags.writeable = False
            return arr
        if lay.codec != RAW:
            arr = decode_all(self._handles, fname, offset, lay, length)
            arr.flags.writeable = False
            return arr
        # a plain ndarray over the map (its base): zero-copy, without np.memmap's per-operation overhead
        return np.ndarray((length, *lay.frame_shape), lay.dtype, buffer=self._map(fname), offset=offset)

    def get(self, i: int, modalities: Iterable[str] | None = None) -> Sequence:
        """Sequence ``i`` with memory-mapped arrays for ``modalities`` (default: all it has)."""
        rec = self.record(i)
        names = rec.modalities if modalities is None else list(modalities)
        return Sequence(rec.subject, rec.condition, rec.view, {m: self.array(i, m) for m in names}, rec.meta)

    def frames(self, i: int, modality: str, idx: np.ndarray | Iterable[int]) -> np.ndarray | RaggedFrames:
        """Only the frames ``idx`` (any order, repeats allowed) of one modality, as a new array ``[len(idx), ...]``
        (a :class:`~gaitforge.data.ragged.RaggedFrames` for a ragged modality such as ``points``).

        Reads just those frames from the file (one ``pread`` of the span they cover when they are dense, else one
        per run of consecutive frames; no memory map), so the reading process's memory stays flat.
        """
        fname, offset, lay, idx, lo, hi, length = self._plan(i, modality, idx)
        if self._reads is not None:
            self._reads.ensure([self._row(i)], modality, self._check_array)
        if lay.ragged:
            extent = int(self._extents(modality)[self._row(i)])
            return read_ragged_frames(self._handles, fname, offset, lay, length, idx, extent)
        extent = None if lay.codec == RAW else int(self._extents(modality)[self._row(i)])
        return read_frames(self._handles, fname, offset, lay, idx, lo=lo, hi=hi, length=length, extent=extent)

    def _extents(self, modality: str) -> np.ndarray:
        """Bytes each array of ``modality`` spans from its offset (cached; see
        :func:`~gaitforge.data.store_batch.array_extents`)."""
        ext = self._extent.get(modality)
        if ext is None:
            file, offset, layout, length, layouts = self._columns_of(modality)
            ext = self._extent[modality] = array_extents(self._index, file, offset, layout, length, layouts)
        return ext

    def _batch_plan(
        self, indices: SequenceABC[int], modality: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Any]]:
        """Rows, file codes, offsets, lengths, layout codes of ``indices`` (vectorised) and the layouts."""
        ix = self._index
        rows = np.asarray(indices, np.int64).reshape(-1)
        rows = np.where(rows < 0, rows + ix.count, rows)
        bad = np.flatnonzero((rows < 0) | (rows >= ix.count))
        if bad.size:
            raise IndexError(
                f"{self.root}: sequence index {indices[int(bad[0])]} out of range for {ix.count} sequences"
            )
        if modality not in ix.modalities:
            self._locate(int(rows[0]), modality)  # raises the KeyError naming what the sequence has
        file, offset, layout, length, layouts = self._columns_of(modality)
        codes = layout[rows]
        missing = np.flatnonzero(codes < 0)
        if missing.size:
            self._locate(int(rows[missing[0]]), modality)  # raises the KeyError
        return rows, file[rows], offset[rows], length[rows].astype(np.int64), codes, layouts

    def will_need(self, indices: SequenceABC[int], modality: str) -> None:
        """Tell the kernel that the arrays of ``modality`` of sequences ``indices`` are about to be read
        (``posix_fadvise WILLNEED`` over each array's bytes, from the index alone). Returns at once; the reads from
        disk proceed in parallel in the background, so a later :meth:`frames` / :meth:`read_batch` finds the bytes
        in the page cache. A training loader calls it for the batches after the one being read
        (:class:`~gaitforge.data.samplers.ReadAhead`). No effect on data already cached."""
        if not len(indices):
            return
        rows, file, offset, _, _, _ = self._batch_plan(indices, modality)
        ext = self._extents(modality)[rows]
        names = self._index.file_names
        for f, o, n in zip(file.tolist(), offset.tolist(), ext.tolist()):
            if n > 0:
                self._handles.will_need(names[f], o, n)

    def read_batch(
        self,
        indices: SequenceABC[int],
        modality: str,
        idx: SequenceABC[np.ndarray | Iterable[int]] | np.ndarray,
        prefetch: bool = True,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Frames ``idx[b]`` of sequence ``indices[b]`` for a whole batch, read straight into one array
        ``[B, n, *frame_shape]`` (no per-sequence arrays, no stacking); every ``idx[b]`` has the same length ``n``.

        Args:
            indices: Store indices, ``B`` of them.
            modality: The modality to read.
            idx: Frame indices per sequence (as in :meth:`frames`), or one int array ``[B, n]``.
            prefetch: First tell the kernel every byte range the batch needs (``posix_fadvise WILLNEED``), so that
                reads from disk proceed in parallel rather than one sequence at a time.
            out: Where to write (C-contiguous, ``[B, n, *frame_shape]``, the arrays' dtype), e.g. the numpy view
                of a tensor in shared memory that a DataLoader worker hands on without a copy; default a new array.

        Raises:
            ValueError: the frame counts or the arrays' frame shapes / dtypes differ within the batch, or ``out``
                does not fit.
            IndexError: a frame index outside its sequence.
        """
        if len(indices) != len(idx) or not len(indices):
            raise ValueError(
                f"read_batch: {len(indices)} indices and {len(idx)} frame index arrays; expected B > 0 of each"
            )
        rows, file, offset, length, codes, layouts = self._batch_plan(indices, modality)
        if self._reads is not None:
            self._reads.ensure(rows, modality, self._check_array)
        counts = [len(k) for k in idx] if not isinstance(idx, np.ndarray) else [idx.shape[-1]] * len(idx)
        lay = layouts[int(codes[0])]
        if any(layouts[c].ragged for c in set(codes.tolist())):
            raise ValueError(
                f"read_batch: modality {modality!r} is ragged (frames of varying size); read it with frames() per "
                "sequence and make its frames a fixed size (gaitforge.data.points.PointsToFixed)"
            )
        for b, code in enumerate(codes.tolist()):
            lay_b = layouts[code]
            if counts[b] != counts[0] or lay_b.dtype != lay.dtype or lay_b.frame_shape != lay.frame_shape:
                raise ValueError(
                    f"read_batch: item {b} (sequence {indices[b]}) has {counts[b]} frame indices and frames "
                    f"{lay_b.dtype.str} {list(lay_b.frame_shape)}; expected {counts[0]} and {lay.dtype.str} "
                    f"{list(lay.frame_shape)} like item 0"
                )
        frames_idx = np.asarray(idx, np.int64)
        if frames_idx.ndim != 2:
            raise ValueError(f"read_batch: idx has shape {frames_idx.shape}; expected [B, n] frame indices")
        n = frames_idx.shape[1]
        shape = (len(rows), n, *lay.frame_shape)
        if out is None:
            out = np.empty(shape, lay.dtype)
        elif out.shape != shape or out.dtype != lay.dtype or not out.flags.c_contiguous:
            raise ValueError(
                f"read_batch: out is {out.dtype.str} {list(out.shape)}"
                f"{'' if out.flags.c_contiguous else ' (not C-contiguous)'}; expected C-contiguous "
                f"{lay.dtype.str} {list(shape)}"
            )
        if not n:
            return out
        lo, hi = frames_idx.min(axis=1), frames_idx.max(axis=1) + 1
        bad = np.flatnonzero((lo < 0) | (hi > length))
        if bad.size:
            b = int(bad[0])
            raise IndexError(
                f"{self.root}: sequence {self._index.key(int(rows[b]))!r} has {int(length[b])} frames; "
                f"frame indices {int(lo[b])}..{int(hi[b]) - 1} requested (batch item {b})"
            )
        lays = [layouts[c] for c in codes.tolist()]
        ext = self._extents(modality)[rows] if any(x.codec != RAW for x in lays) else np.zeros(len(rows), np.int64)
        read_rows(self._handles, self._index.file_names, file, offset, length, lays, ext, frames_idx, out, prefetch)
        return out

    def _check_array(self, i: int, modality: str) -> None:
        """Hash the array of ``modality`` of row ``i`` against its index digest (raises StoreFormatError)."""
        fname, offset, length, lay = self._locate(i, modality)
        ix = self._index
        check_array(
            self._handles,
            self.root,
            fname,
            offset,
            length,
            lay,
            ix.column(f"{modality}.checksum")[i].tobytes(),
            f"{modality}.checksum",
            i,
            ix.key(i),
            ix.path if ix.manifest.columns else self.root / INDEX_NAME,
        )

    def verify(self) -> None:
        """Run every index check and check every array's checksum and every metadata entry against the index.

        Raises:
            StoreFormatError: naming the data file, the index field and the sequence.
        """
        ix = self._index
        ix.check()
        for m in ix.modalities:
            for i in np.flatnonzero(ix.group(m)[2] >= 0).tolist():
                self._check_array(i, m)
        for i in range(len(self)):
            self._meta(i)
        logger.info("store %s: %d sequences verified", self.root, len(self))
