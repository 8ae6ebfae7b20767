"""The sequence store: memory-mapped per-modality arrays plus a JSON index. No pickle anywhere.

Write with :class:`StoreWriter`, read with :class:`SequenceStore`. Layout and crash-safety rules are documented in
:mod:`gaitforge.data.store_format` and :mod:`gaitforge.data.store_writer`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.data.store_format import (
    INDEX_NAME,
    SCHEMA_VERSION,
    SequenceRecord,
    StoreFormatError,
    checksum,
    load_index,
)
from gaitforge.data.store_writer import StoreWriter

__all__ = [
    "MAX_OPEN_MAPS",
    "SCHEMA_VERSION",
    "SequenceRecord",
    "SequenceStore",
    "StoreFormatError",
    "StoreWriter",
]

#: Memory maps kept open per process (least recently used ones are dropped beyond this).
MAX_OPEN_MAPS = 128


def _as_set(values: str | Iterable[str] | None) -> set[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return {values}
    return {str(v) for v in values}


class SequenceStore:
    """Read-only access to a store folder.

    Opening reads ``index.json``, checks its schema and that every data file exists with the size the index
    implies. Arrays are ``np.memmap`` views (no copy); memory maps are opened lazily and reopened in each process,
    so a store is cheap to pickle into DataLoader workers.

    Args:
        root: Store folder.
        verify: Also check every array's checksum (reads all data).

    Raises:
        FileNotFoundError: the index or a data file is missing (message names the file and the index field).
        StoreFormatError: malformed index, wrong schema version, wrong file size, or (``verify``) checksum mismatch.
    """

    def __init__(self, root: str | Path, verify: bool = False) -> None:
        self.root = Path(root)
        self.modalities, self._files, self._records = load_index(self.root)
        self._keys = {r.key: i for i, r in enumerate(self._records)}
        self._maps: dict[str, np.memmap] = {}
        self._pid = os.getpid()
        if verify:
            self.verify()

    # -- pickling: memory maps are per process -----------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()

    def _map(self, fname: str) -> np.memmap:
        if self._pid != os.getpid():
            self._maps, self._pid = {}, os.getpid()
        mm = self._maps.pop(fname, None)
        if mm is None:
            mm = np.memmap(self.root / fname, dtype=np.uint8, mode="r")
            if (
                len(self._maps) >= MAX_OPEN_MAPS
            ):  # bound open descriptors; views handed out keep their own map
                self._maps.pop(next(iter(self._maps)))
        self._maps[fname] = mm  # most recently used last
        return mm

    # -- index queries -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"SequenceStore({str(self.root)!r}, sequences={len(self)}, modalities={self.modalities})"

    @property
    def records(self) -> list[SequenceRecord]:
        """Typed index records (subject, condition, view, length, shapes, meta), in store order."""
        return list(self._records)

    def record(self, i: int) -> SequenceRecord:
        """The record of sequence ``i``."""
        return self._records[i]

    def index_of(self, key: str) -> int:
        """Store index of ``"subject/condition/view"``."""
        try:
            return self._keys[key]
        except KeyError:
            raise KeyError(f"{self.root}: no sequence {key!r}") from None

    def subjects(self) -> list[str]:
        """Sorted distinct subjects."""
        return sorted({r.subject for r in self._records})

    def select(
        self,
        subjects: str | Iterable[str] | None = None,
        conditions: str | Iterable[str] | None = None,
        views: str | Iterable[str] | None = None,
        modalities: str | Iterable[str] | None = None,
    ) -> list[int]:
        """Indices of the sequences matching every given filter (``None`` = no filter), ascending.

        ``modalities`` keeps the sequences that have all the named modalities.
        """
        subj, cond, view, mods = _as_set(subjects), _as_set(conditions), _as_set(views), _as_set(modalities)
        return [
            i
            for i, r in enumerate(self._records)
            if (subj is None or r.subject in subj)
            and (cond is None or r.condition in cond)
            and (view is None or r.view in view)
            and (mods is None or mods <= r.arrays.keys())
        ]

    # -- data access -------------------------------------------------------------------------------------

    def array(self, i: int, modality: str) -> np.ndarray:
        """Read-only memory-mapped view of one modality of sequence ``i`` (shape as stored, no copy)."""
        rec = self._records[i]
        entry = rec.arrays.get(modality)
        if entry is None:
            raise KeyError(
                f"{self.root}: sequence {rec.key!r} has no modality {modality!r}; it has {rec.modalities}"
            )
        # a plain ndarray over the map (its base): zero-copy, without np.memmap's per-operation overhead
        return np.ndarray(entry.shape, entry.dtype, buffer=self._map(entry.file), offset=entry.offset)

    def get(self, i: int, modalities: Iterable[str] | None = None) -> Sequence:
        """Sequence ``i`` with memory-mapped arrays for ``modalities`` (default: all it has)."""
        rec = self._records[i]
        names = rec.modalities if modalities is None else list(modalities)
        return Sequence(
            rec.subject, rec.condition, rec.view, {m: self.array(i, m) for m in names}, dict(rec.meta)
        )

    def frames(self, i: int, modality: str, idx: np.ndarray | Iterable[int]) -> np.ndarray:
        """Only the frames ``idx`` (any order, repeats allowed) of one modality, as a new array ``[len(idx), ...]``."""
        view = self.array(i, modality)
        idx = np.asarray(idx, dtype=np.int64)
        if idx.ndim != 1:
            raise ValueError(f"frames: idx has shape {idx.shape}; expected a 1-D array of frame indices")
        if idx.size and (idx.min() < 0 or idx.max() >= view.shape[0]):
            raise IndexError(
                f"{self.root}: sequence {self._records[i].key!r} has {view.shape[0]} frames; "
                f"frame indices {int(idx.min())}..{int(idx.max())} requested"
            )
        return np.asarray(view[idx])

    def verify(self) -> None:
        """Check every array's checksum against the index.

        Raises:
            StoreFormatError: naming the data file, the index field and the sequence.
        """
        index_path = self.root / INDEX_NAME
        for i, rec in enumerate(self._records):
            for m, entry in rec.arrays.items():
                mm = self._map(entry.file)
                got = checksum(mm[entry.offset : entry.offset + entry.nbytes])
                if got != entry.checksum:
                    raise StoreFormatError(
                        f"{self.root / entry.file}: bytes {entry.offset}..{entry.offset + entry.nbytes} do not match "
                        f"field 'sequences[{i}].modalities.{m}.checksum' of {index_path} "
                        f"(sequence {rec.key!r}: expected {entry.checksum}, found {got})"
                    )
