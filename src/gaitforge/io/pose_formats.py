"""What the pose importers share: joint-layout conversion to COCO-17, per-frame text parsing, person selection,
and the import job that turns a list of frame files into a ``pose`` sequence.

Every importer ends with float32 ``[T, 17, 3]`` (x, y, confidence; COCO-17 order; ``(0, 0, 0)`` for a joint that
was not detected), the store's ``pose`` contract.

Layouts understood by :func:`to_coco17`:

* ``[T, 17, 3]`` COCO-17 (HRNet, ViTPose, the field's pose pkls);
* ``[T, 17, 2]`` COCO-17 without confidence (confidence 1 where the joint is not at (0, 0));
* ``[T, 18, 3]`` OpenPose / AlphaPose 18 points with a neck (OU-MVLP-Pose): mapped to COCO-17, neck dropped;
* ``[T, 51]`` or ``[T, 53]`` flat rows (GREW's pose files hold 2 leading values, then 17 × 3).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.io.common import ImportReport, SequenceFolder

__all__ = [
    "COCO18_TO_COCO17",
    "PERSON_STRATEGIES",
    "frame_number",
    "read_number_row",
    "select_person",
    "to_coco17",
]

logger = logging.getLogger(__name__)

#: For each COCO-17 joint, its index in the 18-point OpenPose/AlphaPose layout (0 nose, 1 neck, 2–4 right arm,
#: 5–7 left arm, 8–10 right leg, 11–13 left leg, 14/15 right/left eye, 16/17 right/left ear).
COCO18_TO_COCO17: tuple[int, ...] = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
#: Person selection strategies of :func:`select_person`.
PERSON_STRATEGIES = ("closest", "largest", "confident")


def to_coco17(arr: np.ndarray, where: str = "pose") -> np.ndarray:
    """Convert a pose array in one of the layouts of the module docstring to float32 ``[T, 17, 3]``.

    Raises:
        ValueError: an unknown layout, non-finite values or negative confidences (the message names ``where``).
    """
    a = np.asarray(arr)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{where}: pose array has dtype {a.dtype}; expected numbers")
    a = a.astype(np.float64)
    if a.ndim == 2 and a.shape[1] in (51, 53):
        a = a[:, a.shape[1] - 51 :].reshape(-1, 17, 3)
    elif a.ndim == 3 and a.shape[1:] == (18, 3):
        a = a[:, list(COCO18_TO_COCO17)]
    elif a.ndim == 3 and a.shape[1:] == (17, 2):
        conf = (np.abs(a).sum(-1, keepdims=True) > 0).astype(np.float64)
        a = np.concatenate([a, conf], axis=-1)
    elif not (a.ndim == 3 and a.shape[1:] == (17, 3)):
        raise ValueError(
            f"{where}: pose array has shape {a.shape}; expected [T,17,3], [T,17,2], [T,18,3] (OpenPose/AlphaPose) "
            "or flat [T,51] / [T,53] rows"
        )
    if not np.isfinite(a).all():
        raise ValueError(f"{where}: pose contains NaN or inf; expected finite numbers (0 marks a missing joint)")
    if (a[..., 2] < 0).any():
        raise ValueError(f"{where}: pose has negative confidences; expected values >= 0")
    return np.ascontiguousarray(a, dtype=np.float32)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf", re.IGNORECASE)


def read_number_row(path: Path, sizes: Sequence[int] = (51, 53)) -> np.ndarray:
    """All numbers of a small text file (comma- and/or space-separated) as one float64 row.

    Raises:
        ValueError: the count is not one of ``sizes`` (message names the file).
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    values = np.array([float(t) for t in _NUMBER.findall(text)], dtype=np.float64)
    if values.size not in sizes:
        raise ValueError(f"{path}: holds {values.size} numbers; expected one of {list(sizes)}")
    return values


def frame_number(name: str) -> int:
    """The last run of digits in a file name (``00012_2d_pose.txt`` → 12, ``human_crop_f11627.txt`` → 11627);
    -1 when there is none."""
    digits = re.findall(r"\d+", name.split("_2d_pose")[0])
    return int(digits[-1]) if digits else -1


def _bbox_area(p: np.ndarray) -> float:
    ok = p[:, 2] > 0
    if not ok.any():
        return 0.0
    xy = p[ok, :2]
    return float(np.prod(xy.max(0) - xy.min(0)))


def _centroid(p: np.ndarray) -> np.ndarray | None:
    ok = p[:, 2] > 0
    return p[ok, :2].mean(0) if ok.any() else None


def select_person(people: Sequence[np.ndarray], strategy: str = "closest", previous: np.ndarray | None = None) -> int:
    """Index of the person to keep among the detections of one frame (each ``[V, 3]``).

    Strategies: ``"largest"`` — largest bounding box of its detected joints (the walker is usually the nearest
    person); ``"confident"`` — highest mean joint confidence; ``"closest"`` — detected-joint centroid nearest to
    ``previous`` (the pose kept in the previous frame), falling back to ``"largest"`` without one. Ties keep the
    first person.
    """
    if strategy not in PERSON_STRATEGIES:
        raise ValueError(f"person selection: unknown strategy {strategy!r}; expected one of {PERSON_STRATEGIES}")
    if not people:
        raise ValueError("person selection: no person to choose from")
    if strategy == "confident":
        return int(np.argmax([float(p[:, 2].mean()) for p in people]))
    if strategy == "closest" and previous is not None and (ref := _centroid(previous)) is not None:
        dists = [np.inf if (c := _centroid(p)) is None else float(np.linalg.norm(c - ref)) for p in people]
        if np.isfinite(dists).any():
            return int(np.argmin(dists))
    return int(np.argmax([_bbox_area(p) for p in people]))


def frames_job(
    job: tuple[SequenceFolder, tuple[list[Path], Callable[[Path], np.ndarray]]],
) -> dict[str, Any]:
    """Worker: read every frame file of a sequence with ``reader`` (a file → one ``[V, 3]`` pose or flat row).

    Unreadable or malformed frames are skipped and counted; a sequence without any frame is an error.
    """
    folder, (files, reader) = job
    frames, bad = [], []
    for path in files:
        try:
            frames.append(reader(path))
        except (OSError, ValueError) as exc:
            bad.append(f"{path.name}: {exc}")
    if not frames:
        reason = f"none of {len(files)} frame files could be read" + (f" (first: {bad[0]})" if bad else "")
        return {"folder": folder, "error": ("no_valid_frames", reason)}
    return {"folder": folder, "frames": frames, "bad": bad}


def frames_to_pose(out: dict[str, Any], folder: SequenceFolder, report: ImportReport) -> tuple[dict, dict] | None:
    """Convert a :func:`frames_job` result to the ``pose`` modality (reporting conversion errors)."""
    try:
        pose = to_coco17(np.stack(out["frames"]), folder.key)
    except ValueError as exc:
        report.problem(folder.key, "invalid", str(exc))
        return None
    if out["bad"]:
        report.warnings.append(f"{folder.key}: {len(out['bad'])} unreadable frames skipped (first: {out['bad'][0]})")
    if len(pose) < 5:
        report.warnings.append(f"{folder.key}: only {len(pose)} frames")
    return {"pose": pose}, {"frames_skipped": len(out["bad"])}
