"""The gallery's source of truth: an SQLite database (WAL) of subjects, sequences, embeddings and provenance.

Schema (``gallery.db``):

* ``meta(key, value)``: JSON values: ``format_version``, ``dim``, ``metric``, ``index_kind``, ``index_options``,
  ``threshold``, ``calibration``, ``model``, ``created``, ``generation``, ``index_epoch``.
* ``subjects(name, created, updated)``.
* ``sequences(id, subject, gen, created, embedding, provenance)``: ``id`` is ``AUTOINCREMENT`` (never reused, so an
  id names one sequence forever); ``embedding`` is the float32 vector's bytes; ``provenance`` JSON; ``gen`` the
  generation of the transaction that added it.
* ``removals(id, gen)``: ids deleted by the transaction of generation ``gen``.

Every write is one ``BEGIN IMMEDIATE`` transaction that bumps ``generation`` by one. A FAISS index that covers
generation ``G`` is brought up to date by adding the sequences with ``gen > G`` and removing the ``removals`` with
``gen > G``. ``synchronous=FULL``: a committed transaction survives a process kill and a power cut.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.retrieval.types import SubjectInfo

__all__ = ["DB_NAME", "FORMAT_VERSION", "Catalog", "to_json"]

DB_NAME = "gallery.db"
FORMAT_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE subjects (name TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE sequences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL REFERENCES subjects(name),
    gen INTEGER NOT NULL,
    created REAL NOT NULL,
    embedding BLOB NOT NULL,
    provenance TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sequences_subject ON sequences(subject);
CREATE INDEX sequences_gen ON sequences(gen);
CREATE TABLE removals (id INTEGER PRIMARY KEY, gen INTEGER NOT NULL);
CREATE INDEX removals_gen ON removals(gen);
"""


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any, what: str = "value") -> str:
    """JSON text of ``value`` (NumPy arrays and scalars, paths allowed); ValueError naming ``what`` otherwise."""
    try:
        return json.dumps(value, default=_json_default, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: not JSON-serialisable ({exc})") from None


class Catalog:
    """Connection to one gallery database.

    Args:
        path: The database file.
        create: Create the schema (the file must not exist yet).
    """

    def __init__(self, path: str | Path, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: gallery database not found")
        self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        if create:
            with self.write(bump=False):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.set_meta("generation", 0)

    def close(self) -> None:
        self.conn.close()

    # -- transactions ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self, bump: bool = True, fault: Any = None) -> Iterator[int]:
        """A write transaction; yields its generation (the current one plus one; 0 when not ``bump``).

        ``fault(name)`` is called just before ``COMMIT`` (crash tests).
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            gen = self.generation() + 1 if bump else 0
            yield gen
            if bump:
                self.set_meta("generation", gen)
            if fault is not None:
                fault("before_commit")
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        """A read transaction: every query inside sees one committed state."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's ``PRAGMA data_version``)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    # -- meta --------------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, to_json(value, f"meta {key!r}")),
        )

    def all_meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def generation(self) -> int:
        return int(self.get_meta("generation", 0))

    # -- writes (inside :meth:`write`) --------------------------------------------------------------------

    def insert(self, gen: int, subjects: list[str], vectors: np.ndarray, provenance: list[str]) -> np.ndarray:
        """Insert sequences (``provenance`` as JSON text); creates missing subjects. Returns the new ids ``[N]``."""
        now = time.time()
        for name in dict.fromkeys(subjects):
            self.conn.execute(
                "INSERT INTO subjects(name, created, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET updated = excluded.updated",
                (name, now, now),
            )
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'sequences'").fetchone()
        first = (int(row[0]) if row else 0) + 1
        ids = np.arange(first, first + len(subjects), dtype=np.int64)
        self.conn.executemany(
            "INSERT INTO sequences(id, subject, gen, created, embedding, provenance) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (int(i), s, gen, now, v.tobytes(), p)
                for i, s, v, p in zip(ids, subjects, vectors.astype(np.float32, copy=False), provenance)
            ),
        )
        return ids

    def delete_subject(self, gen: int, subject: str, keep_subject: bool = False) -> np.ndarray:
        """Delete a subject's sequences (recorded in ``removals``) and, unless ``keep_subject``, the subject."""
        ids = np.array(
            [r[0] for r in self.conn.execute("SELECT id FROM sequences WHERE subject = ?", (subject,))],
            dtype=np.int64,
        )
        self.conn.executemany("INSERT OR REPLACE INTO removals(id, gen) VALUES (?, ?)", ((int(i), gen) for i in ids))
        self.conn.execute("DELETE FROM sequences WHERE subject = ?", (subject,))
        if not keep_subject:
            self.conn.execute("DELETE FROM subjects WHERE name = ?", (subject,))
        return ids

    # -- reads -------------------------------------------------------------------------------------------

    def has_subject(self, subject: str) -> bool:
        return self.conn.execute("SELECT 1 FROM subjects WHERE name = ?", (subject,)).fetchone() is not None

    def count_sequences(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM sequences").fetchone()[0])

    def count_subjects(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM subjects").fetchone()[0])

    def subject_names(self) -> list[str]:
        """Every enrolled subject name (no counts: cheap on large galleries)."""
        return [str(r[0]) for r in self.conn.execute("SELECT name FROM subjects")]

    def subjects(self) -> list[SubjectInfo]:
        rows = self.conn.execute(
            "SELECT s.name, COUNT(q.id), s.created FROM subjects s LEFT JOIN sequences q ON q.subject = s.name "
            "GROUP BY s.name ORDER BY s.name"
        )
        return [SubjectInfo(str(n), int(c), float(t)) for n, c, t in rows]

    def lookup(self, ids: np.ndarray) -> dict[int, tuple[str, str]]:
        """id → (subject, provenance JSON) for the ids that exist."""
        if not len(ids):
            return {}
        rows = self.conn.execute(
            "SELECT q.id, q.subject, q.provenance FROM sequences q JOIN json_each(?) j ON q.id = j.value",
            (json.dumps([int(i) for i in np.unique(ids) if i >= 0]),),
        )
        return {int(i): (s, p) for i, s, p in rows}

    def live_ids(self) -> np.ndarray:
        return np.fromiter((r[0] for r in self.conn.execute("SELECT id FROM sequences ORDER BY id")), dtype=np.int64)

    def removed_since(self, gen: int) -> np.ndarray:
        rows = self.conn.execute("SELECT id FROM removals WHERE gen > ?", (gen,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def iter_vectors(
        self, dim: int, after_gen: int = 0, subject: str | None = None, chunk: int = 65536
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(ids [n], vectors [n, dim])`` chunks of the sequences with ``gen > after_gen`` (or of one subject)."""
        if subject is None:
            cur = self.conn.execute("SELECT id, embedding FROM sequences WHERE gen > ? ORDER BY id", (after_gen,))
        else:
            cur = self.conn.execute("SELECT id, embedding FROM sequences WHERE subject = ? ORDER BY id", (subject,))
        while rows := cur.fetchmany(chunk):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
            yield ids, vectors

    def sample_vectors(self, dim: int, n: int) -> np.ndarray:
        """About ``n`` vectors spread evenly over the id range (training samples for IVF)."""
        total = self.count_sequences()
        step = max(1, total // max(n, 1))
        rows = self.conn.execute("SELECT embedding FROM sequences WHERE id % ? = 0 LIMIT ?", (step, n)).fetchall()
        if len(rows) < min(n, total):  # sparse ids after removals: take what the stride missed
            rows = self.conn.execute("SELECT embedding FROM sequences LIMIT ?", (n,)).fetchall()
        return np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(len(rows), dim)

    def subject_rows(self, subject: str) -> list[tuple[int, float, str]]:
        """``(id, created, provenance JSON)`` of a subject's sequences."""
        return [
            (int(i), float(t), p)
            for i, t, p in self.conn.execute(
                "SELECT id, created, provenance FROM sequences WHERE subject = ? ORDER BY id", (subject,)
            )
        ]
