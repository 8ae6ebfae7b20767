"""What ``gaitforge enroll`` / ``identify`` accept as INPUT, turned into sequences with provenance.

* a folder of silhouette PNG frames (pretreated here unless already square 64/128 px; regular files only);
* a sequence store folder (has ``index.json``), filtered by ``--select subject=A|B,condition=nm-01,view=090``;
* a ``.npy`` file of uint8 silhouettes ``[T, H, W]`` (read without pickle);
* a video file (``.mp4``, ``.avi``, ...): people are tracked and segmented by :mod:`gaitforge.preprocess.video`,
  one sequence per track.

Every input is bounded before it is decoded and checked after, by :mod:`gaitforge.io.silhouettes` (the same
functions the service uses): at most ``max_frames`` frames of at most ``max_frame_side`` pixels a side, a silhouette
in at least ``min_frames`` frames; refusals are :class:`~gaitforge.io.silhouettes.InputRefused` naming the file.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.io.silhouettes import (
    InputLimits,
    check_video,
    prepare_silhouettes,
    read_npy_frames,
    read_png_frames,
)

__all__ = ["VIDEO_SUFFIXES", "InputItem", "parse_select", "resolve_inputs"]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
_SELECT_KEYS = {"subject": "subjects", "condition": "conditions", "view": "views"}


@dataclass
class Loaded:
    """One sequence ready to embed."""

    name: str
    data: Sequence | np.ndarray
    provenance: dict[str, Any]
    subject: str | None = None


@dataclass
class InputItem:
    """One INPUT (or one store sequence); :meth:`load` reads it (a video may give several tracks)."""

    name: str
    kind: str  # "png_folder" | "store" | "npy" | "video"
    loader: Callable[[], list[Loaded]] = field(repr=False)
    subject: str | None = None

    def load(self) -> list[Loaded]:
        return self.loader()


def parse_select(text: str | None) -> dict[str, set[str]]:
    """``"subject=001|002,condition=nm-01"`` → ``{"subjects": {"001", "002"}, "conditions": {"nm-01"}}``."""
    out: dict[str, set[str]] = {}
    if not text:
        return out
    for part in text.split(","):
        key, sep, values = part.partition("=")
        key = key.strip()
        if not sep or key not in _SELECT_KEYS or not values.strip():
            raise ValueError(
                f"--select: {part!r} is not KEY=VALUE[|VALUE...] with KEY one of {', '.join(_SELECT_KEYS)}"
            )
        out.setdefault(_SELECT_KEYS[key], set()).update(v.strip() for v in values.split("|") if v.strip())
    return out


def _mtime(path: Path) -> float:
    return float(os.stat(path).st_mtime)


def _png_item(path: Path, limits: InputLimits) -> InputItem:
    def load() -> list[Loaded]:
        frames, names = read_png_frames(path, limits)
        if not frames:
            raise FileNotFoundError(f"{path}: no regular *.png frames in the folder")
        data = prepare_silhouettes(frames, str(path), limits)  # [T', S, S] pretreated
        prov = {"source": str(path.resolve()), "frames": len(names), "first": names[0], "last": names[-1]}
        return [Loaded(str(path), data, {**prov, "time": _mtime(path)})]

    return InputItem(str(path), "png_folder", load)


def _npy_item(path: Path, limits: InputLimits) -> InputItem:
    def load() -> list[Loaded]:
        raw = read_npy_frames(path, limits)
        data = prepare_silhouettes(raw, str(path), limits)  # [T', S, S] pretreated
        return [Loaded(str(path), data, {"source": str(path.resolve()), "frames": int(raw.shape[0])})]

    return InputItem(str(path), "npy", load)


def _store_items(path: Path, select: dict[str, set[str]]) -> list[InputItem]:
    from gaitforge.data.store import SequenceStore

    store = SequenceStore(path)
    indices = store.select(**select)
    if not indices:
        raise ValueError(f"{path}: no sequence matches --select {select or '(none)'} in this store")
    items = []
    for i in indices:
        rec = store.record(i)

        def load(i: int = i) -> list[Loaded]:
            seq = store.get(i)
            prov = {
                "source": str(path.resolve()),
                "store_key": seq.key,
                "subject": seq.subject,
                "condition": seq.condition,
                "view": seq.view,
                "frames": seq.length,
            }
            return [Loaded(f"{path}:{seq.key}", seq, prov, seq.subject)]

        items.append(InputItem(f"{path}:{rec.key}", "store", load, rec.subject))
    return items


def _video_function() -> Callable[..., Any]:
    """:func:`gaitforge.preprocess.video.extract_sequences` (video → one Sequence per tracked person)."""
    try:
        module = importlib.import_module("gaitforge.preprocess.video")
    except ModuleNotFoundError as exc:
        if exc.name and "gaitforge.preprocess.video".startswith(exc.name):
            raise ValueError(
                "video input needs gaitforge.preprocess.video, which is not part of this build; extract "
                "silhouettes to a PNG folder (one folder per walk) and pass the folder instead"
            ) from None
        raise
    fn = getattr(module, "extract_sequences", None)
    if not callable(fn):
        raise ValueError(
            "video input: gaitforge.preprocess.video has no extract_sequences(path) -> list[Sequence]; "
            "extract silhouettes to a PNG folder and pass the folder instead"
        )
    return fn


def _video_item(path: Path, limits: InputLimits) -> InputItem:
    def load() -> list[Loaded]:
        extract = _video_function()
        fps = check_video(path, str(path), limits)
        out = []
        for n, seq in enumerate(extract(path, end_s=limits.max_frames / fps)):  # bounded even if the header lies
            if not isinstance(seq, Sequence):
                raise ValueError(f"{path}: the video pipeline returned a {type(seq).__name__}; expected Sequences")
            prov = {k: v for k, v in seq.meta.items() if isinstance(k, str)}  # video, fps, frame indices, boxes, ...
            track = prov.get("track_id", n)
            prov.update(
                source=str(path.resolve()), video=str(path.resolve()), track=track, frames=seq.length, time=_mtime(path)
            )
            out.append(Loaded(f"{path}#track{track}", seq, prov))
        if not out:
            raise ValueError(f"{path}: no person track long enough to embed was found in the video")
        return out

    return InputItem(str(path), "video", load)


def resolve_inputs(
    paths: list[str], select: str | None = None, limits: InputLimits | None = None
) -> list[InputItem]:
    """INPUT arguments → items (store inputs expand to one item per selected sequence).

    Args:
        paths: PNG folders, store folders, ``.npy`` files or videos.
        select: Store filter (``subject=A|B,condition=nm-01,view=090``).
        limits: Bounds checked while loading (default :class:`~gaitforge.io.silhouettes.InputLimits`).

    Raises:
        FileNotFoundError: an input does not exist.
        ValueError: an input of an unknown kind, or ``--select`` without a store input.
    """
    limits = limits or InputLimits()
    filters = parse_select(select)
    items: list[InputItem] = []
    used_select = False
    for text in paths:
        path = Path(text)
        if not path.exists():
            raise FileNotFoundError(f"{path}: input not found (expected a PNG folder, a store, a .npy or a video)")
        if path.is_dir() and (path / "index.json").is_file():
            items += _store_items(path, filters)
            used_select = True
        elif path.is_dir():
            if not any(path.glob("*.png")):
                raise ValueError(f"{path}: folder has no *.png frames and is not a sequence store (no index.json)")
            items.append(_png_item(path, limits))
        elif path.suffix.lower() == ".npy":
            items.append(_npy_item(path, limits))
        elif path.suffix.lower() in VIDEO_SUFFIXES:
            items.append(_video_item(path, limits))
        else:
            raise ValueError(
                f"{path}: unknown input; expected a PNG folder, a store folder, a .npy of silhouettes or a video "
                f"({', '.join(sorted(VIDEO_SUFFIXES))})"
            )
    if filters and not used_select:
        raise ValueError("--select filters a sequence store, but no INPUT is a store folder")
    return items
