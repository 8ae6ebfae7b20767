"""Import GaitGraph's CASIA-B pose CSVs (HRNet COCO-17 keypoints, e.g. ``casia-b_pose_train_valid.csv``).

One header row (``image_name,nose_x,nose_y,nose_conf,...``) then one row per frame: the image path
``<prefix>/<subject>-<status>-<seq>-<view>/<frame>.jpg`` (e.g. ``./001-bg-01-000/000001.jpg``) and 17 × 3 numbers.
Rows are grouped into sequences ``subject / status-seq / view`` (``001/bg-01/000``), frames ordered by number.
Rows that do not hold 51 numbers, or whose path does not follow the pattern, are skipped and counted in the
report's warnings.

Reference: Teepe et al., "GaitGraph: Graph Convolutional Network for Skeleton-Based Gait Recognition", ICIP 2021.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.io.common import ImportReport, SequenceFolder, import_sources
from gaitforge.io.pose_formats import to_coco17

__all__ = ["import_gaitgraph_csv", "read_gaitgraph_csv"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"(?P<subject>[^/\\-]+)-(?P<status>[a-z]+)-(?P<seq>\d+)-(?P<view>\d+)[/\\](?P<frame>[^/\\]+)$")


def read_gaitgraph_csv(path: str | Path) -> tuple[dict[tuple[str, str, str], np.ndarray], list[str]]:
    """Parse a GaitGraph pose CSV.

    Returns:
        ``{(subject, condition, view): float32 [T, 17, 3]}`` and the reasons rows were skipped.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file has no header row.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: GaitGraph pose CSV not found")
    frames: dict[tuple[str, str, str], list[tuple[int, np.ndarray]]] = defaultdict(list)
    skipped: list[str] = []
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header or not header[0].strip().lower().startswith("image"):
            raise ValueError(f"{p}: expected a header row starting with 'image_name', got {header!r}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            m = _NAME.search(row[0].strip())
            if m is None:
                skipped.append(f"line {line}: image name {row[0]!r} is not <subject>-<status>-<seq>-<view>/<frame>")
                continue
            try:
                values = np.array([float(v) for v in row[1:]], dtype=np.float64)
            except ValueError:
                skipped.append(f"line {line}: non-numeric keypoint values")
                continue
            if values.size != 51:
                skipped.append(f"line {line}: {values.size} keypoint values; expected 51")
                continue
            digits = re.findall(r"\d+", m["frame"])
            key = (m["subject"], f"{m['status']}-{m['seq']}", m["view"])
            frames[key].append((int(digits[-1]) if digits else len(frames[key]), values.reshape(17, 3)))
    out = {k: to_coco17(np.stack([f for _, f in sorted(v, key=lambda t: t[0])]), f"{p}: {'/'.join(k)}")
           for k, v in frames.items()}  # fmt: skip
    return out, skipped


def _job(job: tuple[SequenceFolder, np.ndarray]) -> dict[str, Any]:
    folder, pose = job
    return {"folder": folder, "pose": pose}


def _convert(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict] | None:
    if len(out["pose"]) < 5:
        report.warnings.append(f"{folder.key}: only {len(out['pose'])} frames")
    return {"pose": out["pose"]}, {}


def import_gaitgraph_csv(
    csv_paths: str | Path | Iterable[str | Path],
    store_root: str | Path,
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> ImportReport:
    """Import one or more GaitGraph CASIA-B pose CSVs as ``pose``.

    Args:
        csv_paths: The CSV file(s) (GaitGraph ships ``..._train_valid.csv`` and ``..._test.csv``).
        store_root: Store folder; created or extended (re-runs resume).
        partition: Optional partition JSON or mapping.
        progress: Show a progress bar.
        overwrite: Replace an existing store.

    Raises:
        FileNotFoundError, ValueError: a missing CSV or one without a header (nothing is written then).
    """
    paths = [Path(csv_paths)] if isinstance(csv_paths, (str, Path)) else [Path(p) for p in csv_paths]
    if not paths:
        raise ValueError("import_gaitgraph_csv: no CSV file given")
    root = paths[0].parent
    report = ImportReport(root, Path(store_root))
    sources: dict[str, tuple[SequenceFolder, np.ndarray]] = {}
    for p in paths:
        seqs, skipped = read_gaitgraph_csv(p)
        if skipped:
            report.warnings.append(f"{p}: {len(skipped)} rows skipped (first: {skipped[0]})")
        for (subject, condition, view), pose in sorted(seqs.items()):
            folder = SequenceFolder(subject, condition, view, p)
            if folder.key in sources:
                report.problem(folder.key, "ambiguous", f"sequence appears in {sources[folder.key][0].path} and {p}")
                continue
            sources[folder.key] = (folder, pose)
    return import_sources(
        list(sources.values()),
        root,
        store_root,
        _job,
        _convert,
        source="gaitgraph_csv",
        workers=0,
        progress=progress,
        partition=partition,
        overwrite=overwrite,
        report=report,
    )
