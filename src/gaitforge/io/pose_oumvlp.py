"""Import OU-MVLP-Pose: one OpenPose-style JSON per frame, 18 points with a neck, possibly several people.

Layout (as released; both the OpenPose and the AlphaPose versions)::

    root/<subject>/<view>_<seq>/<frame>_keypoints.json      e.g. 00001/000_00/0021_keypoints.json

Each file holds ``{"people": [{"pose_keypoints_2d": [x, y, c] × 18, ...}, ...]}`` (AlphaPose's native list of
``{"keypoints": [...]}`` is read too). Stored as subject ``<subject>``, type ``<seq>`` (``00``/``01``: the OU-MVLP
protocol's probe / gallery), view ``<view>``; the 18 points are mapped to COCO-17 (the neck is dropped).

When a frame shows several people one is kept, by ``person`` strategy (see
:func:`gaitforge.io.pose_formats.select_person`): ``"closest"`` (default) follows the person nearest to the one
kept in the previous frame, starting from the largest; ``"largest"`` takes the largest in every frame;
``"confident"`` the most confident. Frames with nobody are dropped (counted in ``meta["frames_empty"]``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.io.common import ImportReport, SequenceFolder, import_sources
from gaitforge.io.pose_formats import PERSON_STRATEGIES, frame_number, select_person, to_coco17

__all__ = ["import_oumvlp_pose", "read_openpose_people"]

logger = logging.getLogger(__name__)


def read_openpose_people(path: Path) -> list[np.ndarray]:
    """The people of one frame file, each ``[V, 3]`` (V = 18 or 17).

    Raises:
        ValueError: not JSON, or no recognisable keypoint list (the message names the file).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("people"), list):
        raw = [p.get("pose_keypoints_2d") if isinstance(p, dict) else None for p in data["people"]]
    elif isinstance(data, list):
        raw = [p.get("keypoints") if isinstance(p, dict) else None for p in data]
    else:
        raise ValueError(f"{path}: expected an object with 'people' (OpenPose) or a list of detections (AlphaPose)")
    people = []
    for i, kp in enumerate(raw):
        arr = np.asarray(kp if kp is not None else [], dtype=np.float64)
        if arr.size not in (54, 51):
            raise ValueError(f"{path}: person {i} has {arr.size} keypoint values; expected 18 × 3 or 17 × 3")
        people.append(arr.reshape(-1, 3))
    return people


def _job(job: tuple[SequenceFolder, tuple[list[Path], str]]) -> dict[str, Any]:
    folder, (files, strategy) = job
    frames: list[np.ndarray] = []
    empty, bad, multi = 0, [], 0
    previous = None
    for path in files:
        try:
            people = read_openpose_people(path)
        except (OSError, ValueError) as exc:
            bad.append(str(exc))
            continue
        if not people:
            empty += 1
            continue
        if len({p.shape[0] for p in people}) != 1:
            bad.append(f"{path}: people with different joint counts")
            continue
        multi += len(people) > 1
        chosen = people[select_person(people, strategy, previous)]
        frames.append(chosen)
        previous = chosen
    if not frames:
        return {"folder": folder, "error": ("no_valid_frames", f"no person in any of {len(files)} frames")}
    return {"folder": folder, "frames": frames, "bad": bad, "empty": empty, "multi": multi}


def _convert(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict] | None:
    try:
        if len({f.shape[0] for f in out["frames"]}) != 1:
            raise ValueError(f"{folder.key}: frames mix 17- and 18-point layouts")
        pose = to_coco17(np.stack(out["frames"]), folder.key)
    except ValueError as exc:
        report.problem(folder.key, "invalid", str(exc))
        return None
    if out["bad"]:
        report.warnings.append(f"{folder.key}: {len(out['bad'])} unreadable frames skipped ({out['bad'][0]})")
    meta = {"frames_empty": out["empty"], "frames_skipped": len(out["bad"]), "frames_multi_person": out["multi"]}
    return {"pose": pose}, meta


def import_oumvlp_pose(
    root: str | Path,
    store_root: str | Path,
    person: str = "closest",
    partition: str | Path | Mapping[str, Iterable[str]] | None = None,
    workers: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> ImportReport:
    """Import OU-MVLP-Pose JSON frames as ``pose`` (COCO-17).

    Args:
        root: Dataset folder (``<subject>/<view>_<seq>/*.json``).
        store_root: Store folder; created or extended (re-runs resume).
        person: Person selection strategy (module docstring).
        partition: Optional partition JSON or mapping.
        workers: Worker processes (0 = in-process).
        progress: Show a progress bar.
        overwrite: Replace an existing store.
    """
    if person not in PERSON_STRATEGIES:
        raise ValueError(f"person: unknown strategy {person!r}; expected one of {', '.join(PERSON_STRATEGIES)}")
    root = Path(root)
    report = ImportReport(root, Path(store_root))
    if not root.is_dir():
        report.problem(str(root), "missing_root", "dataset root folder does not exist")
        return report
    sources = []
    for subject in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for seq_dir in sorted(p for p in subject.iterdir() if p.is_dir()):
            view, sep, seq = seq_dir.name.partition("_")
            if not sep or not view or not seq:
                report.problem(
                    seq_dir.relative_to(root).as_posix(),
                    "unknown_file",
                    "folder name is not <view>_<seq> (e.g. 000_00)",
                )
                continue
            folder = SequenceFolder(subject.name, seq, view, seq_dir)
            files = sorted(
                (p for p in seq_dir.iterdir() if p.is_file() and p.suffix == ".json"),
                key=lambda p: (frame_number(p.stem), p.name),
            )
            if not files:
                report.problem(folder.key, "empty_folder", "no .json frame files")
                continue
            sources.append((folder, (files, person)))
    return import_sources(
        sources,
        root,
        store_root,
        _job,
        _convert,
        source="oumvlp_pose",
        workers=workers,
        progress=progress,
        partition=partition,
        overwrite=overwrite,
        report=report,
    )
