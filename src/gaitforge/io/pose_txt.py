"""Import per-frame 2D pose text files: GREW (``*_2d_pose.txt``) and Gait3D (``2D_Poses/.../*.txt``).

Both datasets store one frame per file: one line of comma-separated numbers, 2 leading values then 17 × 3 COCO-17
(x, y, confidence); files with exactly 51 numbers (no leading values) are accepted too.

GREW layout (as released)::

    root/train/<subject>/<sequence>/<frame>_2d_pose.txt
    root/test/gallery/<subject>/<sequence>/<frame>_2d_pose.txt
    root/test/probe/<sequence>/<frame>_2d_pose.txt

It is stored with the field's keys: training subjects become ``<subject>train`` with type ``00``; gallery sequences
of a subject get types ``01``, ``02``, … in sorted order; probes go under subject ``probe``, type ``03``; the view
is the sequence id. (The GREW protocols match gallery ``01`` against probe ``02`` locally, and probe ``03``
against ``01``/``02`` for submissions.)

Gait3D layout: ``root/<subject>/<camid_videoid>/<seq>/human_crop_f<frame>.txt`` → subject, type
``camid_videoid``, view ``seq``. Its 2D poses are in the person crop's coordinates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from gaitforge.io.common import ImportReport, SequenceFolder, find_sequence_folders, import_sources
from gaitforge.io.pose_formats import frame_number, frames_job, frames_to_pose, read_number_row

__all__ = ["grew_sources", "import_gait3d_pose", "import_grew_pose"]

logger = logging.getLogger(__name__)


def _frames(folder: Path, suffix: str) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.name.endswith(suffix)]
    return sorted(files, key=lambda p: (frame_number(p.name), p.name))


def _dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def grew_sources(root: Path, report: ImportReport) -> list[SequenceFolder]:
    """The GREW sequences under ``root`` (the dataset root, or one of its ``train``/``gallery``/``probe`` folders)
    with the stored keys of the module docstring."""
    splits = {"train": root / "train", "gallery": root / "test" / "gallery", "probe": root / "test" / "probe"}
    if root.name in splits:
        splits = {root.name: root}
    found: list[SequenceFolder] = []
    if not any(p.is_dir() for p in splits.values()):
        report.problem(str(root), "missing_root", "no GREW train/, test/gallery/ or test/probe/ folder here")
        return found
    for split, folder in splits.items():
        if not folder.is_dir():
            continue
        if split == "probe":
            found += [SequenceFolder("probe", "03", seq.name, seq) for seq in _dirs(folder)]
            continue
        for subject in _dirs(folder):
            seqs = _dirs(subject)
            if not seqs:
                report.problem(subject.relative_to(root).as_posix(), "empty_folder", "subject folder has no sequences")
            for n, seq in enumerate(seqs, start=1):
                if split == "train":
                    found.append(SequenceFolder(f"{subject.name}train", "00", seq.name, seq))
                else:
                    found.append(SequenceFolder(subject.name, f"{n:02d}", seq.name, seq))
    return found


def _import(
    folders: list[SequenceFolder],
    suffix: str,
    root: Path,
    store_root: str | Path,
    source: str,
    report: ImportReport,
    partition: str | Path | Mapping[str, Iterable[str]] | None,
    workers: int,
    progress: bool,
    overwrite: bool,
) -> ImportReport:
    sources = []
    for f in folders:
        files = _frames(f.path, suffix)
        if not files:
            report.problem(f.key, "empty_folder", f"no *{suffix} frame files")
            continue
        sources.append((f, (files, read_number_row)))
    return import_sources(
        sources,
        root,
        store_root,
        frames_job,
        frames_to_pose,
        source=source,
        workers=workers,
        progress=progress,
        partition=partition,
        overwrite=overwrite,
        report=report,
    )


def import_grew_pose(
    root: str | Path,
    store_root: str | Path,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    workers: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> ImportReport:
    """Import GREW's 2D poses (``*_2d_pose.txt``) as ``pose`` (keys: see the module docstring).

    Args:
        root: GREW root (with ``train``/``test``) or one split folder.
        store_root: Store folder; created or extended (re-runs resume).
        partition: Optional partition JSON or mapping (subjects as stored, e.g. ``00001train``).
        workers: Worker processes (0 = in-process).
        progress: Show a progress bar.
        overwrite: Replace an existing store.

    Returns:
        The report; unreadable frames are skipped (warning), sequences without a readable frame reported.
    """
    root = Path(root)
    report = ImportReport(root, Path(store_root))
    folders = grew_sources(root, report)
    return _import(
        folders, "_2d_pose.txt", root, store_root, "grew_pose", report, partition, workers, progress, overwrite
    )


def import_gait3d_pose(
    root: str | Path,
    store_root: str | Path,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    workers: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> ImportReport:
    """Import Gait3D's ``2D_Poses`` folder (``subject/camid_videoid/seq/*.txt``) as ``pose``.

    Args: as :func:`import_grew_pose`, with ``root`` the ``2D_Poses`` folder.
    """
    root = Path(root)
    report = ImportReport(root, Path(store_root))
    folders = find_sequence_folders(root, report)
    return _import(folders, ".txt", root, store_root, "gait3d_pose", report, partition, workers, progress, overwrite)
