"""A persistent gallery of enrolled subjects: SQLite for the truth, FAISS for the search.

One folder holds ``gallery.db`` (see :mod:`~gaitforge.retrieval.catalog`), the saved index
(see :mod:`~gaitforge.retrieval.snapshot`) and ``write.lock``.

Consistency: every enroll / remove / update is one SQLite transaction; the FAISS index is derived from it. On open,
the saved index is loaded and brought up to the catalog's generation (rows added since are added, removals
applied); an index that is missing or damaged is rebuilt from the embeddings in the catalog. So a process killed at
any point loses nothing it committed and shows nothing it did not. Readers in other processes pick up commits on
their next call (``PRAGMA data_version``). One writer at a time, by an inter-process file lock held only during a
write; any number of readers.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from gaitforge.retrieval.catalog import DB_NAME, FORMAT_VERSION, Catalog, to_json
from gaitforge.retrieval.gallery_reports import GalleryReports
from gaitforge.retrieval.live_index import LiveIndex
from gaitforge.retrieval.lock import FileLock, LockTimeout
from gaitforge.retrieval.names import SubjectNameError, check_subject_name, confusable_skeleton
from gaitforge.retrieval.snapshot import current_umask
from gaitforge.retrieval.types import Calibration, Identification, SubjectInfo
from gaitforge.retrieval.vector_index import resolve_index_options
from gaitforge.retrieval.vectors import check_metric, check_vectors

__all__ = ["Gallery", "GalleryError"]

logger = logging.getLogger(__name__)

LOCK_NAME = "write.lock"
#: On close, an index smaller than this is saved whenever anything changed.
SMALL_INDEX_BYTES = 64 * 2**20

#: Crash-test hook: called with a point name ("before_commit", "after_commit", "before_manifest").
_FAULT_HOOK: Callable[[str], None] | None = None


def _fault(point: str) -> None:
    if _FAULT_HOOK is not None:
        _FAULT_HOOK(point)


class GalleryError(ValueError):
    """A gallery whose files cannot be read or written (a corrupt ``gallery.db``, a full disk): one line naming
    the file; what was committed before stays committed."""


@contextlib.contextmanager
def _storage(db: Path, action: str) -> Iterator[None]:
    """Turn SQLite and disk-full failures while ``action`` into a :class:`GalleryError` naming ``db``."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "full" in text:
            raise GalleryError(
                f"{db}: {action}: the disk is full ({text}); the transaction was rolled back and everything "
                "committed before is kept; free space and retry"
            ) from exc
        if "locked" in text or "busy" in text:
            raise GalleryError(f"{db}: {action}: the database stayed locked by another process ({text})") from exc
        raise GalleryError(
            f"{db}: {action}: not a readable gallery database ({text}); restore the gallery folder from a backup "
            "or enroll into a new one"
        ) from exc
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise GalleryError(
            f"{exc.filename or db}: {action}: no space left on the device; everything committed before is kept; "
            "free space and retry"
        ) from exc


def _check_subject(subject: object) -> str:
    return check_subject_name(subject, "subject")


def _nonempty(x: np.ndarray, subject: str) -> np.ndarray:
    if not len(x):
        raise ValueError(f"subject {subject!r}: no embeddings given; expected [D] or [N >= 1, D]")
    return x


def _provenance(provenance: dict | list[dict] | None, n: int) -> list[str]:
    if provenance is None:
        items: list[Any] = [{}] * n
    elif isinstance(provenance, dict):
        items = [provenance] * n
    else:
        items = list(provenance)
        if len(items) != n:
            raise ValueError(f"provenance has {len(items)} entries; expected one dict per embedding ({n})")
    for i, p in enumerate(items):
        if not isinstance(p, dict):
            raise ValueError(f"provenance[{i}] is a {type(p).__name__}; expected a dict")
    return [to_json(p, f"provenance[{i}]") for i, p in enumerate(items)]


class Gallery(GalleryReports):
    """Enrolled subjects and their sequence embeddings; identify probes against them.

    Create with :meth:`create`, open with :meth:`open`; use as a context manager or call :meth:`close`.
    Vectors are float32 ``[dim]`` (one per sequence), compared by ``metric`` (see
    :mod:`~gaitforge.retrieval.vectors`).
    """

    def __init__(self, path: Path, catalog: Catalog, read_only: bool = False, lock_timeout: float = 60.0) -> None:
        self.path = path
        self.read_only = read_only
        self._catalog = catalog
        self._mutex = threading.RLock()
        self._lock = FileLock(path / LOCK_NAME, timeout=lock_timeout)
        self._meta = catalog.all_meta()
        version = self._meta.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"{catalog.path}: meta 'format_version' is {version!r}; expected {FORMAT_VERSION}")
        self.dim = int(self._meta["dim"])
        self.metric = str(self._meta["metric"])
        self._data_version = catalog.data_version()
        self._closed = False
        #: Save the index automatically as changes accumulate (set False during a bulk load; close() still saves).
        self.autosave = True
        #: ``(generation, stored names, confusable skeleton → name)`` of the committed subjects, so that a bulk
        #: enrolment does not re-read every name per transaction; rebuilt whenever another write came between.
        self._names: tuple[int, set[str], dict[str, str]] | None = None
        self._live = LiveIndex(path, catalog, self.dim, self.metric)
        self._live.load(self.index_kind, self.index_options, self._epoch())

    # -- construction ------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls, path: str | Path, dim: int, metric: str = "euc", index: str = "exact", **index_options: Any
    ) -> Gallery:
        """Create an empty gallery folder (it must not exist, or be empty) and open it.

        Args:
            path: Gallery folder.
            dim: Vector length (``Recognizer.dim``).
            metric: ``"euc"`` or ``"cos"`` (``Recognizer.metric``).
            index: ``"exact"`` (small galleries), ``"ivf"``, ``"ivfpq"`` or ``"hnsw"`` (large ones).
            **index_options: See :func:`~gaitforge.retrieval.vector_index.resolve_index_options`
                (``nlist``, ``nprobe``, ``m``, ``nbits``, ``train_min``, ``train_size``; ``M``,
                ``ef_construction``, ``ef_search``, ``max_dead_fraction``).
        """
        path = Path(path)
        if (path / DB_NAME).exists():
            raise ValueError(f"{path}: a gallery already exists there; open it with Gallery.open")
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ValueError(f"{path}: exists and is not an empty folder; expected a new gallery folder")
        if int(dim) < 1:
            raise ValueError(f"dim is {dim}; expected >= 1")
        check_metric(metric)
        options = resolve_index_options(index, int(dim), index_options)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            with _storage(path / DB_NAME, "create"):
                cls._write_new(tmp, dim, metric, index, {k: v for k, v in options.items() if k in index_options})
        except BaseException:
            for leftover in tmp.iterdir():
                leftover.unlink()
            tmp.rmdir()
            raise
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp gives 0700; a gallery folder is shared like any other
        try:
            if path.exists():
                path.rmdir()  # empty (checked above)
            os.rename(tmp, path)  # the gallery appears complete or not at all
        except OSError as exc:  # another process created it meanwhile
            for leftover in tmp.iterdir():
                leftover.unlink()
            tmp.rmdir()
            raise ValueError(f"{path}: a gallery was created there concurrently ({exc.strerror})") from exc
        logger.info("created gallery %s (dim %d, %s, index %s)", path, dim, metric, index)
        return cls.open(path)

    @staticmethod
    def _write_new(tmp: Path, dim: int, metric: str, index: str, index_options: dict[str, Any]) -> None:
        """The database of a new gallery in the temporary folder ``tmp``."""
        catalog = Catalog(tmp / DB_NAME, create=True)
        with catalog.write(bump=False):
            meta = {
                "format_version": FORMAT_VERSION,
                "dim": int(dim),
                "metric": metric,
                "index_kind": index,
                "index_options": index_options,
                "index_epoch": 0,
                "threshold": None,
                "calibration": None,
                "model": None,
                "created": time.time(),
            }
            for key, value in meta.items():
                catalog.set_meta(key, value)
        catalog.close()

    @classmethod
    def open(cls, path: str | Path, read_only: bool = False, lock_timeout: float = 60.0) -> Gallery:
        """Open an existing gallery.

        Args:
            path: Gallery folder.
            read_only: Refuse writes (and never save the index).
            lock_timeout: Seconds a write waits for another writer.
        """
        path = Path(path)
        if not (path / DB_NAME).is_file():
            raise FileNotFoundError(
                f"{path}: no gallery there (missing {DB_NAME}); create one with Gallery.create or `gaitforge enroll`"
            )
        with _storage(path / DB_NAME, "open"):
            catalog = Catalog(path / DB_NAME)
            try:
                return cls(path, catalog, read_only=read_only, lock_timeout=lock_timeout)
            except BaseException:
                catalog.close()
                raise

    @classmethod
    def open_or_create(
        cls, path: str | Path, dim: int, metric: str = "euc", index: str = "exact", **index_options: Any
    ) -> Gallery:
        """Open the gallery at ``path`` (checking ``dim`` and ``metric``), or create it."""
        if not (Path(path) / DB_NAME).is_file():
            try:
                return cls.create(path, dim, metric, index, **index_options)
            except ValueError:
                if not (Path(path) / DB_NAME).is_file():
                    raise  # not a lost race: a bad argument or a non-empty folder
        gallery = cls.open(path)
        if gallery.dim != dim or gallery.metric != metric:
            gallery.close()
            raise ValueError(
                f"{path}: gallery holds dim {gallery.dim} / {gallery.metric} vectors; expected dim {dim} / {metric} "
                "(embed with the model the gallery was enrolled with)"
            )
        return gallery

    # -- properties --------------------------------------------------------------------------------------

    @property
    def index_kind(self) -> str:
        return str(self._meta["index_kind"])

    @property
    def index_options(self) -> dict[str, Any]:
        """Resolved index options (defaults included)."""
        return resolve_index_options(self.index_kind, self.dim, self._meta.get("index_options") or {})

    @property
    def threshold(self) -> float | None:
        """Open-set rejection distance (persisted); ``None`` disables the known/unknown decision."""
        with self._mutex:
            self._sync()
            value = self._meta.get("threshold")
            return None if value is None else float(value)

    @threshold.setter
    def threshold(self, value: float | None) -> None:
        if value is not None and not math.isfinite(float(value)):
            raise ValueError(f"threshold is {value}; expected a finite distance or None")
        self._set_meta({"threshold": None if value is None else float(value), "calibration": None})

    @property
    def calibration(self) -> Calibration | None:
        """The last :meth:`calibrate` result (cleared when the threshold is set by hand)."""
        with self._mutex:
            self._sync()
            data = self._meta.get("calibration")
            return None if data is None else Calibration(**data)

    @property
    def model(self) -> dict[str, Any] | None:
        """Free description of the model that produced the vectors (set by ``gaitforge enroll``)."""
        with self._mutex:
            self._sync()
            return self._meta.get("model")

    @model.setter
    def model(self, value: dict[str, Any] | None) -> None:
        self._set_meta({"model": value})

    def __len__(self) -> int:
        """Enrolled sequences (committed)."""
        with self._mutex, _storage(self._catalog.path, "count sequences"):
            return self._catalog.count_sequences()

    def subjects(self) -> list[SubjectInfo]:
        """Enrolled subjects, by name (stored names are returned as stored; see :func:`.names.display_name`)."""
        with self._mutex, _storage(self._catalog.path, "list subjects"):
            return self._catalog.subjects()

    def _stored_name(self, subject: str) -> str:
        """The stored name ``subject`` refers to: itself when stored exactly (names stored before the name rule
        stay reachable), else its NFKC form; KeyError when neither is enrolled."""
        if isinstance(subject, str) and self._catalog.has_subject(subject):
            return subject
        try:
            normal = check_subject_name(subject, "subject")
        except SubjectNameError:
            normal = None
        if normal is not None and self._catalog.has_subject(normal):
            return normal
        raise KeyError(f"subject {subject!r} is not enrolled in the gallery {self.path}")

    def _check_lookalikes(self, names: Sequence[str], gen: int) -> dict[str, str]:
        """Refuse a new name that reads like an enrolled one (case, or Cyrillic / Greek look-alike letters).

        Called inside the write transaction of generation ``gen``; returns the new names by skeleton, to be added
        to the cache once the transaction has committed.
        """
        if self._names is None or self._names[0] != gen - 1:
            stored = self._catalog.subject_names()
            skeletons: dict[str, str] = {}
            for name in stored:
                skeletons.setdefault(confusable_skeleton(name), name)
            self._names = (gen - 1, set(stored), skeletons)
        _, exact, skeletons = self._names
        added: dict[str, str] = {}
        for name in dict.fromkeys(names):
            if name in exact:
                continue
            skeleton = confusable_skeleton(name)
            other = skeletons.get(skeleton) or added.setdefault(skeleton, name)
            if other != name:
                raise SubjectNameError(
                    f"subject {name!r} reads like the enrolled {other!r} (same letters up to case or look-alike "
                    f"Cyrillic / Greek letters); enroll under {other!r} or a name that reads differently"
                )
        return added

    def sequences(self, subject: str) -> list[dict[str, Any]]:
        """A subject's sequences: ``{"sequence_id", "created", "provenance"}``; KeyError when not enrolled."""
        with self._mutex, _storage(self._catalog.path, "read sequences"):
            name = self._stored_name(subject)
            rows = self._catalog.subject_rows(name)
            return [{"sequence_id": i, "created": t, "provenance": json.loads(p)} for i, t, p in rows]

    def embeddings(self, subject: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids [N], vectors [N, dim])`` of one subject, or of the whole gallery (as enrolled)."""
        with self._mutex, _storage(self._catalog.path, "read embeddings"), self._catalog.read():
            chunks = list(self._catalog.iter_vectors(self.dim, subject=subject))
        if not chunks:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])

    # -- index maintenance -------------------------------------------------------------------------------

    def _epoch(self) -> int:
        return int(self._meta.get("index_epoch", 0))

    def _sync(self) -> None:
        """Bring the in-memory index and meta up to the last commit of any process."""
        if self._closed:
            raise ValueError(f"{self.path}: the gallery is closed")
        with _storage(self._catalog.path, "read"):
            self._sync_now()

    def _sync_now(self) -> None:
        version = self._catalog.data_version()
        if version == self._data_version and self._live.index is not None:
            return
        self._data_version = version
        epoch = self._epoch()
        self._meta = self._catalog.all_meta()
        if self._live.index is None or self._epoch() != epoch:
            self._live.load(self.index_kind, self.index_options, self._epoch())
            return
        self._live.index.options.update(self.index_options)  # search options tuned by another process
        try:
            self._live.catch_up()
            if self._live.index.needs_rebuild:
                self._live.rebuild(self.index_kind, self.index_options)
        except BaseException:
            self._live.index = None  # half-applied: reload on the next call
            raise

    def _writable(self) -> None:
        if self.read_only:
            raise ValueError(f"{self.path}: the gallery was opened read-only")

    def _set_meta(self, values: dict[str, Any]) -> None:
        with self._mutex:
            self._writable()
            with self._lock:
                self._sync()
                with _storage(self._catalog.path, "write"), self._catalog.write(bump=False):
                    for key, value in values.items():
                        self._catalog.set_meta(key, value)
                self._meta.update(values)

    def _write(self, op: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray, Any]]) -> Any:
        """Run ``op(generation) -> (added ids, added vectors, removed ids, result)`` in one transaction."""
        with self._mutex:
            self._writable()
            with self._lock:
                self._sync()
                with _storage(self._catalog.path, "write"), self._catalog.write(fault=_fault) as gen:
                    added, vectors, removed, result = op(gen)
                _fault("after_commit")
                try:
                    self._live.apply(gen, added, vectors, removed)
                    assert self._live.index is not None
                    if self._live.index.needs_rebuild:
                        self._live.rebuild(self.index_kind, self.index_options)
                except BaseException:
                    self._live.index = None  # rebuilt from the catalog on the next call
                    raise
                if self.autosave and self._live.should_save():
                    self._save_index_or_warn()
        return result

    def _save_index_or_warn(self) -> None:
        """Save the index; a full disk only costs the shortcut (the next open replays the catalog), so it warns."""
        try:
            self._live.save(self._epoch(), fault=_fault)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            logger.warning(
                "%s: index not saved (no space left on the device); nothing committed is lost, the next open "
                "rebuilds it from %s",
                self.path,
                DB_NAME,
            )

    def save(self) -> bool:
        """Save the FAISS index now (it is also saved as changes accumulate, and on close).

        Returns:
            True when a newer index was written.
        """
        with self._mutex:
            self._writable()
            with self._lock, _storage(self.path, "save the index"):
                self._sync()
                return self._live.save(self._epoch(), fault=_fault)

    def tune(self, **search_options: Any) -> dict[str, Any]:
        """Change search-time options without rebuilding: ``nprobe`` (IVF kinds) or ``ef_search`` (HNSW).

        Larger values search more of the index: higher recall, slower queries. Persisted; other processes follow on
        their next call. Returns the resolved index options.
        """
        allowed = {"ivf": {"nprobe"}, "ivfpq": {"nprobe"}, "hnsw": {"ef_search"}}.get(self.index_kind, set())
        unknown = set(search_options) - allowed
        if unknown:
            raise ValueError(
                f"tune: {sorted(unknown)} are not search options of index {self.index_kind!r} "
                f"(it has {sorted(allowed) or 'none'}; other options need reindex())"
            )
        stored = {**(self._meta.get("index_options") or {}), **search_options}
        options = resolve_index_options(self.index_kind, self.dim, stored)
        self._set_meta({"index_options": stored})
        with self._mutex:
            assert self._live.index is not None
            self._live.index.options.update(options)
        return options

    def reindex(self, index: str | None = None, **index_options: Any) -> None:
        """Rebuild the FAISS index from the catalog, optionally as another kind (e.g. ``exact`` → ``hnsw``).

        Also retrains IVF quantisers on the current contents. ``index_options`` replace the stored ones when
        ``index`` is given, else they update them. Other processes switch on their next call.
        """
        kind = index or self.index_kind
        stored = dict(index_options) if index else {**(self._meta.get("index_options") or {}), **index_options}
        options = resolve_index_options(kind, self.dim, stored)
        with self._mutex:
            self._writable()
            with self._lock:
                self._sync()
                self._live.rebuild(kind, options)
                with _storage(self._catalog.path, "reindex"), self._catalog.write(bump=False):
                    self._catalog.set_meta("index_kind", kind)
                    self._catalog.set_meta("index_options", stored)
                    self._catalog.set_meta("index_epoch", self._epoch() + 1)
                self._meta = self._catalog.all_meta()
                self._save_index_or_warn()

    # -- writes ------------------------------------------------------------------------------------------

    def enroll(self, subject: str, embeddings: np.ndarray, provenance: dict | list[dict] | None = None) -> list[int]:
        """Add sequences of ``subject`` (created when new).

        Args:
            subject: Name; normalised to NFKC and checked by :func:`~gaitforge.retrieval.names.check_subject_name`
                (a name that reads like an enrolled one is refused too).
            embeddings: ``[D]`` or ``[N, D]`` vectors.
            provenance: One dict for all, one per vector, or None (video, frames, boxes, source path, time, ...).

        Returns:
            The new sequence ids (never reused).

        Raises:
            SubjectNameError: the name rule refuses ``subject``.
            GalleryError: the database cannot be written (full disk, damaged file); nothing is half-written.
        """
        subject = _check_subject(subject)
        x = _nonempty(check_vectors(embeddings, self.dim), subject)
        return self._insert([subject] * len(x), x, _provenance(provenance, len(x)))

    def enroll_many(
        self, subjects: Sequence[str], embeddings: np.ndarray, provenance: dict | list[dict] | None = None
    ) -> list[int]:
        """Add sequences of several subjects in one transaction (``subjects[i]`` owns ``embeddings[i]``)."""
        x = check_vectors(embeddings, self.dim, single=False)
        names = [_check_subject(s) for s in subjects]
        if len(names) != len(x):
            raise ValueError(f"enroll_many: {len(names)} subjects for {len(x)} embeddings")
        if not len(x):
            return []
        return self._insert(names, x, _provenance(provenance, len(x)))

    def _insert(self, names: list[str], x: np.ndarray, prov: list[str]) -> list[int]:
        committed: list[tuple[int, dict[str, str]]] = []

        def op(gen: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
            added = self._check_lookalikes(names, gen)
            ids = self._catalog.insert(gen, names, x, prov)
            committed.append((gen, added))
            return ids, x, np.empty(0, np.int64), [int(i) for i in ids]

        with self._mutex:
            result = self._write(op)
            gen, added = committed[-1]
            if self._names is not None and self._names[0] == gen - 1:  # no other write came between
                _, exact, skeletons = self._names
                exact.update(added.values())
                skeletons.update(added)
                self._names = (gen, exact, skeletons)
        return result

    def remove(self, subject: str) -> int:
        """Remove a subject and its sequences; returns how many sequences went. KeyError when not enrolled."""

        def op(gen: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
            removed = self._catalog.delete_subject(gen, self._stored_name(subject))
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32), removed, len(removed)

        return self._write(op)

    def update(self, subject: str, embeddings: np.ndarray, provenance: dict | list[dict] | None = None) -> list[int]:
        """Replace all sequences of an enrolled subject (KeyError when not enrolled); returns the new ids."""
        x = _nonempty(check_vectors(embeddings, self.dim), subject)
        prov = _provenance(provenance, len(x))

        def op(gen: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
            name = self._stored_name(subject)
            removed = self._catalog.delete_subject(gen, name, keep_subject=True)
            ids = self._catalog.insert(gen, [name] * len(x), x, prov)
            return ids, x, removed, [int(i) for i in ids]

        return self._write(op)

    # -- search ------------------------------------------------------------------------------------------

    def identify(self, probe: np.ndarray, k: int = 5) -> Identification:
        """The ``k`` closest subjects to one probe vector ``[D]`` (each by its closest sequence)."""
        return self.identify_many(check_vectors(probe, self.dim, "probe", single=True), k)[0]

    def identify_many(self, probes: np.ndarray, k: int = 5) -> list[Identification]:
        """:meth:`identify` for ``[N, D]`` probes, searched as one batch."""
        q = check_vectors(probes, self.dim, "probes", single=False)
        if k < 1:
            raise ValueError(f"k is {k}; expected >= 1")
        with self._mutex:
            self._sync()
            with _storage(self._catalog.path, "search"):
                found = self._live.search_subjects(q, k)
            threshold = self._meta.get("threshold")
        return [
            Identification(m, None if threshold is None else bool(m) and m[0].distance <= float(threshold))
            for m in found
        ]

    def close(self) -> None:
        """Save the index if it changed enough (or is small), then close the database. Idempotent."""
        with self._mutex:
            if self._closed:
                return
            try:
                if not self.read_only and self._live.should_save(at_close=True, small_bytes=SMALL_INDEX_BYTES):
                    with self._lock:
                        self._sync()
                        self._save_index_or_warn()
            except LockTimeout as exc:  # the saved index is only a shortcut: the next open replays the catalog
                logger.warning("%s: index not saved on close (%s)", self.path, exc)
            finally:
                self._closed = True
                self._catalog.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        index = self._live.index
        state = "closed" if self._closed else f"{index.live_count if index else '?'} sequences"
        return (
            f"Gallery({str(self.path)!r}, dim={self.dim}, metric={self.metric!r}, index={self.index_kind!r}, {state})"
        )
