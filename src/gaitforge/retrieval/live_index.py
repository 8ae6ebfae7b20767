"""The in-memory FAISS index of a gallery, kept at the catalog's generation.

The catalog (SQLite) is the truth; this index is derived from it. ``load`` takes the saved snapshot and replays the
commits made after it (or rebuilds from the catalog when there is no usable snapshot); ``catch_up`` replays commits
made by other processes; ``apply`` adds a commit made by this process. Subject grouping of search results happens
here too: FAISS returns sequences, identification ranks subjects by their closest sequence.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.retrieval.catalog import Catalog
from gaitforge.retrieval.snapshot import load_snapshot, read_manifest, write_snapshot
from gaitforge.retrieval.types import Match
from gaitforge.retrieval.vector_index import VectorIndex

__all__ = ["LiveIndex", "SAVE_FRACTION", "SAVE_MIN_CHANGES"]

logger = logging.getLogger(__name__)

#: After a write, the index is saved once the unsaved changes reach this many rows and this fraction of the index:
#: a crash then costs at most that much replay on the next open, and a gallery growing from empty is rewritten a
#: bounded number of times (total bytes written <= 1 / SAVE_FRACTION + 1 times the final index).
SAVE_MIN_CHANGES = 64
SAVE_FRACTION = 0.25


class LiveIndex:
    """A :class:`VectorIndex` plus the catalog generation it covers and the changes not yet saved.

    Args:
        folder: Gallery folder (snapshot files).
        catalog: The gallery's catalog.
        dim, metric: Vector layout.
    """

    def __init__(self, folder: Path, catalog: Catalog, dim: int, metric: str) -> None:
        self.folder, self.catalog, self.dim, self.metric = folder, catalog, dim, metric
        self.index: VectorIndex | None = None
        self.generation = 0
        self.pending = 0  # rows added/removed since the saved snapshot
        self.rebuilt = False  # rebuilt in memory since the last save (the saved index is stale even if as recent)
        self._subject_count: int | None = None

    def build(self, kind: str, options: dict[str, Any]) -> tuple[VectorIndex, int]:
        """A fresh index of every committed sequence, and the generation it covers."""
        started = time.perf_counter()
        with self.catalog.read():
            gen = self.catalog.generation()
            index = VectorIndex(self.dim, self.metric, kind, options)
            if kind in ("ivf", "ivfpq") and self.catalog.count_sequences() >= index.options["train_min"]:
                index.train(self.catalog.sample_vectors(self.dim, index.options["train_size"]))
            for ids, vectors in self.catalog.iter_vectors(self.dim):
                index.add(ids, vectors)
        logger.info("built %s index of %d vectors in %.1f s", kind, index.ntotal, time.perf_counter() - started)
        return index, gen

    def rebuild(self, kind: str, options: dict[str, Any]) -> None:
        self.index, self.generation = self.build(kind, options)
        self.rebuilt = True
        self._subject_count = None

    def load(self, kind: str, options: dict[str, Any], epoch: int) -> None:
        """Saved snapshot + replay of later commits, or a rebuild from the catalog."""
        snap = load_snapshot(self.folder, self.dim, self.metric, kind, options, epoch)
        if snap is not None and snap[1] <= self.catalog.generation():
            self.index, self.generation = snap
            changed = self.catch_up(retain=True)
            if changed:
                logger.info("%s: applied %d changes committed after the saved index", self.folder, changed)
            self.pending = changed
        else:
            self.rebuild(kind, options)
            self.pending = self.index.ntotal if self.index is not None else 0
        if self.index is not None and self.index.needs_rebuild:
            self.rebuild(kind, options)

    def catch_up(self, retain: bool = False) -> int:
        """Apply the commits after :attr:`generation`; ``retain`` also drops ids the catalog no longer has.

        Returns:
            Rows added or removed.
        """
        assert self.index is not None
        with self.catalog.read():
            now = self.catalog.generation()
            changed = 0
            if now > self.generation:
                changed += self.index.remove(self.catalog.removed_since(self.generation))
                for ids, vectors in self.catalog.iter_vectors(self.dim, after_gen=self.generation):
                    self.index.add(ids, vectors)
                    changed += len(ids)
            if retain:
                stale = np.setdiff1d(self.index.ids(), self.catalog.live_ids(), assume_unique=True)
                changed += self.index.remove(stale)
        self.generation = now
        self.pending += changed
        if changed:
            self._subject_count = None
        return changed

    def apply(self, gen: int, added: np.ndarray, vectors: np.ndarray, removed: np.ndarray) -> None:
        """Add this process's own commit of generation ``gen`` (replays from the catalog if one was missed)."""
        assert self.index is not None
        if gen == self.generation + 1:
            self.index.remove(removed)
            self.index.add(added, vectors)
            self.generation = gen
            self.pending += len(added) + len(removed)
        else:  # a commit by another process slipped in: replay everything from the catalog
            self.catch_up()
        self._subject_count = None

    def should_save(self, at_close: bool = False, small_bytes: int = 0) -> bool:
        """Whether writing the index is worth it now.

        After a write: a rebuilt index, or at least ``SAVE_MIN_CHANGES`` rows and ``SAVE_FRACTION`` of the index
        changed. At close: a rebuilt index, any change to an index under ``small_bytes``, or ``SAVE_MIN_CHANGES``
        rows (a bulk load ends saved; one enrolment into a large gallery is replayed on the next open instead).
        """
        if self.index is None or not (self.pending or self.rebuilt):
            return False
        if self.rebuilt:
            return True
        if at_close:
            return self.index.ntotal * self.dim * 4 <= small_bytes or self.pending >= SAVE_MIN_CHANGES
        return self.pending >= max(SAVE_MIN_CHANGES, SAVE_FRACTION * self.index.ntotal)

    def save(self, epoch: int, fault: Callable[[str], None] | None = None) -> bool:
        """Write the snapshot when it is newer than the saved one (the caller holds the write lock)."""
        assert self.index is not None
        manifest = read_manifest(self.folder)
        current = manifest and manifest["generation"] >= self.generation and manifest["index_epoch"] == epoch
        write = not current or self.rebuilt
        if write:
            write_snapshot(self.folder, self.index, self.generation, epoch, fault=fault)
        self.pending, self.rebuilt = 0, False
        return bool(write)

    def search_subjects(self, queries: np.ndarray, k: int, exclude: list[int] | None = None) -> list[list[Match]]:
        """The ``k`` closest subjects per query, each by its closest sequence.

        Args:
            queries: ``[Q, D]`` vectors.
            k: Subjects per query.
            exclude: One sequence id per query to leave out (leave-one-out calibration).

        FAISS is asked for ``k'`` sequences (about two per expected sequence of each wanted subject); when they
        cover fewer than ``k`` subjects, ``k'`` grows fourfold until they do or the whole gallery was searched.
        """
        assert self.index is not None
        live = self.index.live_count
        if self._subject_count is None:
            self._subject_count = self.catalog.count_subjects()
        per_subject = live / max(1, self._subject_count)
        kk = min(live, max(2 * k * math.ceil(per_subject), k + 16))
        out: list[list[Match]] = [[] for _ in range(len(queries))]
        todo = np.arange(len(queries)) if live else np.empty(0, np.int64)
        while todo.size:
            dist, ids = self.index.search(queries[todo], kk)
            info = self.catalog.lookup(ids[ids >= 0])
            again = []
            for row, qi in enumerate(todo):
                matches: list[Match] = []
                seen: set[str] = set()
                for d, i in zip(dist[row], ids[row]):
                    hit = info.get(int(i))  # None: removed by another process since our last sync
                    if hit is None or hit[0] in seen or (exclude is not None and int(i) == exclude[qi]):
                        continue
                    seen.add(hit[0])
                    matches.append(Match(hit[0], float(d), int(i), json.loads(hit[1])))
                    if len(matches) == k:
                        break
                out[qi] = matches
                if len(matches) < k and kk < live:
                    again.append(qi)
            todo = np.asarray(again, dtype=np.int64)
            kk = min(live, kk * 4)
        return out
