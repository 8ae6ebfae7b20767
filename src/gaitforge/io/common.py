"""What the dataset importers share: the ``root/subject/type/view`` walk, partitions, job running, the report."""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tqdm.auto import tqdm

from gaitforge.data.partition import load_partition

__all__ = [
    "ImportProblem",
    "ImportReport",
    "SequenceFolder",
    "find_sequence_folders",
    "import_folders",
    "import_sources",
    "partition_members",
    "partition_sets",
    "run_jobs",
]

logger = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")


@dataclass(frozen=True)
class ImportProblem:
    """Something an importer skipped.

    Attributes:
        where: The sequence key or path concerned.
        kind: ``missing_root``, ``empty_folder``, ``no_valid_frames``, ``invalid``, ``unreadable``, ``refused_pickle``,
            ``ambiguous`` or ``unknown_file``.
        reason: Human-readable detail.
    """

    where: str
    kind: str
    reason: str


@dataclass
class ImportReport:
    """Outcome of an import.

    Attributes:
        root: Dataset folder read.
        store_root: Store written.
        imported: Keys written in this run.
        skipped_existing: Keys already in the store (resumed import).
        excluded: Keys left out because the partition does not list their subject.
        problems: Everything skipped, with the reason.
        warnings: Imported but worth a look (e.g. fewer than 5 valid frames).
    """

    root: Path
    store_root: Path
    imported: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def problem(self, where: str, kind: str, reason: str) -> None:
        """Record a skipped item (also logged)."""
        self.problems.append(ImportProblem(where, kind, reason))
        logger.warning("%s: %s (%s)", where, reason, kind)

    @property
    def counts(self) -> dict[str, int]:
        """Counts of imported, skipped-existing and excluded sequences and of each problem kind."""
        out = {"imported": len(self.imported), "skipped_existing": len(self.skipped_existing)}
        if self.excluded:
            out["not_in_partition"] = len(self.excluded)
        out.update(Counter(p.kind for p in self.problems))
        return out

    @property
    def ok(self) -> bool:
        """True when nothing was skipped for a problem."""
        return not self.problems

    def summary(self) -> str:
        """One line: ``imported 12, skipped_existing 0, empty_folder 1, ...``."""
        return ", ".join(f"{k} {v}" for k, v in self.counts.items())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "root": str(self.root),
            "store_root": str(self.store_root),
            "counts": self.counts,
            "imported": self.imported,
            "skipped_existing": self.skipped_existing,
            "excluded": self.excluded,
            "problems": [p.__dict__ for p in self.problems],
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class SequenceFolder:
    """One ``root/subject/type/view`` folder."""

    subject: str
    condition: str
    view: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.condition}/{self.view}"


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_sequence_folders(root: Path, report: ImportReport) -> list[SequenceFolder]:
    """The ``subject/type/view`` folders under ``root``, sorted; subject or type folders with nothing below are
    recorded as ``empty_folder`` problems, a missing root as ``missing_root``."""
    if not root.is_dir():
        report.problem(str(root), "missing_root", "dataset root folder does not exist")
        return []
    found = []
    for subj in _subdirs(root):
        types = _subdirs(subj)
        if not types:
            report.problem(subj.relative_to(root).as_posix(), "empty_folder", "subject folder has no type folders")
        for typ in types:
            views = _subdirs(typ)
            if not views:
                report.problem(typ.relative_to(root).as_posix(), "empty_folder", "type folder has no view folders")
            found.extend(SequenceFolder(subj.name, typ.name, v.name, v) for v in views)
    return found


def partition_members(partition: str | Path | Mapping[str, Iterable[str]] | None) -> dict[str, set[str]] | None:
    """Each set of a partition (file or mapping, read by :func:`gaitforge.data.partition.load_partition`) as ids."""
    if partition is None:
        return None
    return {name: set(ids) for name, ids in load_partition(partition, required=()).sets.items()}


def partition_sets(partition: dict[str, set[str]], folder: SequenceFolder) -> list[str]:
    """Names of the sets that list the folder's subject (or its full key)."""
    return sorted(n for n, members in partition.items() if folder.subject in members or folder.key in members)


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already; avoids oversubscription in the pool


def run_jobs(fn: Callable[[J], R], jobs: list[J], workers: int, progress: bool, desc: str) -> Iterator[R]:
    """``fn`` over ``jobs`` in order, in ``workers`` processes (0 = here), with a tqdm bar."""
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress, unit="seq")
    try:
        if workers <= 0 or len(jobs) <= 1:
            for job in jobs:
                yield fn(job)
                bar.update()
            return
        # spawn, not fork: a parent that has run OpenCV (or torch) holds thread pools that a fork can deadlock
        ctx = mp.get_context("spawn")
        with ctx.Pool(processes=min(workers, len(jobs)), initializer=_init_worker) as pool:
            for result in pool.imap(fn, jobs, chunksize=max(1, min(16, len(jobs) // (4 * workers)))):
                yield result
                bar.update()
    finally:
        bar.close()


#: Turns one job's output into ``(arrays by modality, extra meta)``, or ``None`` after reporting a problem.
Convert = Callable[[dict[str, Any], "SequenceFolder", "ImportReport"], "tuple[dict[str, Any], dict[str, Any]] | None"]


def import_folders(
    root: str | Path,
    store_root: str | Path,
    job: Callable[[tuple[SequenceFolder, Any]], dict[str, Any]],
    job_arg: Any,
    convert: Convert,
    *,
    source: str,
    workers: int,
    progress: bool,
    partition: str | Path | Mapping[str, Iterable[str]] | None,
    overwrite: bool,
) -> ImportReport:
    """The loop every importer shares: walk ``root``, filter by partition, skip stored keys, run ``job`` per folder
    in workers, ``convert`` its output and append the sequence to the store (resumable: keys already there are
    skipped). Bad data is reported per sequence, never raised.
    """
    root = Path(root)
    report = ImportReport(root, Path(store_root))
    folders = find_sequence_folders(root, report)
    if not folders:
        return report
    return import_sources(
        [(f, job_arg) for f in folders],
        root,
        store_root,
        job,
        convert,
        source=source,
        workers=workers,
        progress=progress,
        partition=partition,
        overwrite=overwrite,
        report=report,
    )


def import_sources(
    sources: list[tuple[SequenceFolder, Any]],
    root: str | Path,
    store_root: str | Path,
    job: Callable[[tuple[SequenceFolder, Any]], dict[str, Any]],
    convert: Convert,
    *,
    source: str,
    workers: int,
    progress: bool,
    partition: str | Path | Mapping[str, Iterable[str]] | None,
    overwrite: bool,
    report: ImportReport | None = None,
) -> ImportReport:
    """:func:`import_folders` for importers whose sequences are not ``root/subject/type/view`` folders.

    Each source is ``(SequenceFolder, argument)``: the folder names the sequence key and its ``path`` is whatever
    the job reads (a folder, a file, or ``root`` when the argument already holds the data); ``job`` receives the
    pair. Partition filtering, resuming, workers, conversion and reporting are as in :func:`import_folders`.
    ``meta["path"]`` is ``path`` relative to ``root`` (or absolute when outside it).
    """
    from gaitforge.data.sequence import Sequence
    from gaitforge.data.store import StoreWriter

    root, store_root = Path(root), Path(store_root)
    report = report or ImportReport(root, store_root)
    if not sources:
        return report
    sets = partition_members(partition)
    keys = [f.key for f, _ in sources]
    duplicates = sorted(k for k, n in Counter(keys).items() if n > 1)
    if duplicates:
        raise ValueError(f"{root}: several sources map to the same sequence key, e.g. {duplicates[:3]}")
    writer = StoreWriter(store_root, overwrite=True) if overwrite else StoreWriter(store_root, append=True)
    with writer:
        jobs = []
        for f, arg in sources:
            if sets is not None and not partition_sets(sets, f):
                report.excluded.append(f.key)
            elif f.key in writer:
                report.skipped_existing.append(f.key)
            else:
                jobs.append((f, arg))
        for out in run_jobs(job, jobs, workers, progress, f"import {source}"):
            folder: SequenceFolder = out["folder"]
            if "error" in out:
                report.problem(folder.key, *out["error"])
                continue
            converted = convert(out, folder, report)
            if converted is None:
                continue
            arrays, extra = converted
            try:
                rel = folder.path.relative_to(root).as_posix()
            except ValueError:
                rel = str(folder.path)
            meta: dict[str, Any] = {"source": source, "path": rel, **extra}
            if sets is not None:
                meta["sets"] = partition_sets(sets, folder)
            try:
                writer.add(Sequence(folder.subject, folder.condition, folder.view, arrays, meta))
            except ValueError as exc:
                report.problem(folder.key, "invalid", str(exc))
                continue
            report.imported.append(folder.key)
    logger.info("import %s → %s: %s", root, store_root, report.summary())
    return report
