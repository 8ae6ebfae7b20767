"""Checks that a :class:`~gaitforge.data.sequence.Sequence` fits the store contract before it is written."""

from __future__ import annotations

import json
import re

import numpy as np

from gaitforge.data.ragged import RaggedFrames
from gaitforge.data.sequence import MODALITY_DTYPES, Sequence

__all__ = [
    "GAIT3D_PARSING_LABELS",
    "MODALITY_NAME_RE",
    "MODALITY_SHAPES",
    "RAGGED_MODALITIES",
    "SMPL_SIZE",
    "validate_sequence",
]

#: Expected shape per known modality, ``None`` = any size on that axis (axis 0 is always ``T``), a tuple = one of
#: those sizes. A modality in :data:`RAGGED_MODALITIES` varies in size on axis 1 from frame to frame.
MODALITY_SHAPES: dict[str, tuple[int | None | tuple[int, ...], ...]] = {
    "sil": (None, None, None),  # [T, H, W]
    "pose": (None, 17, 3),  # [T, 17, 3] (x, y, confidence), COCO-17
    "heatmap": (None, None, None, None),  # [T, K, h, w]
    "skeleton_map": (None, 2, None, None),  # [T, 2, H, W] (limb, joint)
    "rgb": (None, None, None, 3),  # [T, H, W, 3]
    "depth": (None, None, None),  # [T, H, W]
    "joints3d": (None, None, 3),  # [T, J, 3]
    "ratio": (None,),  # [T] person-box width / height
    "points": (None, None, (3, 4)),  # [T, N_t, 3|4] x, y, z (metres) [, intensity]; ragged
    "depth_rgb": (None, None, None, 3),  # [T, H, W, 3] colour-mapped range images (SUSTech1K's depths)
    "parsing": (None, None, None),  # [T, H, W] Gait3D-Parsing labels
    "smpl": (None, 85),  # [T, 85] Gait3D SMPL: 3 camera, 72 pose, 10 shape
}
#: Modalities held as :class:`~gaitforge.data.ragged.RaggedFrames` (frames of varying size, axis 1).
RAGGED_MODALITIES = frozenset({"points"})
#: Gait3D-Parsing's label set (Zheng et al., "Parsing is All You Need for Accurate Gait Recognition in the Wild",
#: ACM MM 2023): label value → body part.
GAIT3D_PARSING_LABELS: tuple[str, ...] = (
    "background", "head", "torso", "left_arm", "right_arm", "left_hand", "right_hand", "left_leg", "right_leg",
    "left_foot", "right_foot", "dress",
)  # fmt: skip
#: Values per frame of Gait3D's SMPL vectors (camera 3 + pose 72 + shape 10).
SMPL_SIZE = 85

_SHAPE_TEXT = {
    "sil": "[T, H, W]",
    "pose": "[T, 17, 3]",
    "heatmap": "[T, K, h, w]",
    "skeleton_map": "[T, 2, H, W]",
    "rgb": "[T, H, W, 3]",
    "depth": "[T, H, W]",
    "joints3d": "[T, J, 3]",
    "ratio": "[T]",
    "points": "[T, N_t, 3 or 4] (ragged)",
    "depth_rgb": "[T, H, W, 3]",
    "parsing": "[T, H, W]",
    "smpl": f"[T, {SMPL_SIZE}] (3 camera, 72 pose, 10 shape)",
}

#: Modality names become file names, so they are restricted.
MODALITY_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _check_label(seq_key: str, name: str, value: object) -> None:
    if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
        raise ValueError(
            f"sequence {seq_key!r}: field {name!r} is {value!r}; expected a non-empty string without '/'"
        )


def _check_ragged(key: str, name: str, arr: RaggedFrames) -> None:
    """Every frame of a ragged modality has at least one row, and (floats) only finite values."""
    empty = np.flatnonzero(arr.counts == 0)
    if empty.size:
        raise ValueError(
            f"sequence {key!r}: modality {name!r} frame {int(empty[0])} is empty ({empty.size} of {len(arr)} frames "
            "have no points); expected at least one point per frame (drop empty frames from every modality)"
        )
    if arr.values.dtype.kind == "f":
        bad = ~np.isfinite(arr.values).reshape(len(arr.values), -1).all(axis=1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            frame = int(np.searchsorted(arr.offsets, row, side="right")) - 1
            raise ValueError(
                f"sequence {key!r}: modality {name!r} frame {frame} row {row - int(arr.offsets[frame])} is not finite "
                f"({int(bad.sum())} rows with NaN or inf); expected finite coordinates"
            )


def _check_values(key: str, modalities: dict) -> None:
    """Value checks of known modalities: parsing labels in Gait3D-Parsing's set, finite SMPL vectors."""
    par = modalities.get("parsing")
    if isinstance(par, np.ndarray) and par.size and int(par.max()) >= len(GAIT3D_PARSING_LABELS):
        frame = int(np.flatnonzero(par.reshape(len(par), -1).max(axis=1) >= len(GAIT3D_PARSING_LABELS))[0])
        raise ValueError(
            f"sequence {key!r}: modality 'parsing' frame {frame} has label {int(par[frame].max())}; expected "
            f"Gait3D-Parsing labels 0..{len(GAIT3D_PARSING_LABELS) - 1}"
        )
    smpl = modalities.get("smpl")
    if isinstance(smpl, np.ndarray) and smpl.dtype.kind == "f" and not np.isfinite(smpl).all():
        frame = int(np.flatnonzero(~np.isfinite(smpl.reshape(len(smpl), -1)).all(axis=1))[0])
        raise ValueError(f"sequence {key!r}: modality 'smpl' frame {frame} is not finite; expected finite values")


def validate_sequence(seq: Sequence, min_length: int = 1) -> None:
    """Raise ``ValueError`` naming the sequence key, the modality and what was expected, if ``seq`` is invalid.

    Rules: at least one modality; every modality a numeric ``np.ndarray`` with the same frame count ``T >= min_length``
    on axis 0 and no empty axis; known modalities (see ``MODALITY_DTYPES``) have one of the listed dtypes and the
    shape in :data:`MODALITY_SHAPES`; ``meta`` is JSON-serialisable.
    """
    key = f"{seq.subject}/{seq.condition}/{seq.view}"
    for name in ("subject", "condition", "view"):
        _check_label(key, name, getattr(seq, name))
    if not isinstance(seq.modalities, dict) or not seq.modalities:
        raise ValueError(
            f"sequence {key!r}: no modalities; expected at least one array such as 'sil' [T, H, W]"
        )
    length: int | None = None
    first = ""
    for name, arr in seq.modalities.items():
        if not isinstance(name, str) or not MODALITY_NAME_RE.match(name):
            raise ValueError(
                f"sequence {key!r}: modality name {name!r} is invalid; expected lowercase letters, digits, '_'"
            )
        if name in RAGGED_MODALITIES or isinstance(arr, RaggedFrames):
            if not isinstance(arr, RaggedFrames) or name not in RAGGED_MODALITIES:
                raise ValueError(
                    f"sequence {key!r}: modality {name!r} is a {type(arr).__name__}; expected "
                    f"{'gaitforge.data.ragged.RaggedFrames' if name in RAGGED_MODALITIES else 'a numpy array'}"
                    f"{'' if name in RAGGED_MODALITIES else f' (ragged modalities: {sorted(RAGGED_MODALITIES)})'}"
                )
            _check_ragged(key, name, arr)
        elif not isinstance(arr, np.ndarray):
            raise ValueError(  # noqa: TRY004 - one exception type for every invalid sequence
                f"sequence {key!r}: modality {name!r} is a {type(arr).__name__}; expected a numpy array"
            )
        if arr.dtype.hasobject or arr.dtype.fields is not None or arr.dtype.kind not in "biuf":
            raise ValueError(
                f"sequence {key!r}: modality {name!r} has dtype {arr.dtype}; expected a plain numeric dtype"
            )
        if arr.ndim < 1 or arr.shape[0] < min_length:
            raise ValueError(
                f"sequence {key!r}: modality {name!r} has shape {tuple(arr.shape)}; "
                f"expected at least {min_length} frame(s) on axis 0"
            )
        if 0 in arr.shape:
            raise ValueError(
                f"sequence {key!r}: modality {name!r} has an empty axis: shape {tuple(arr.shape)}"
            )
        if name in MODALITY_DTYPES:
            allowed = MODALITY_DTYPES[name]
            if arr.dtype not in allowed:
                raise ValueError(
                    f"sequence {key!r}: modality {name!r} has dtype {arr.dtype}; "
                    f"expected {' or '.join(str(d) for d in allowed)}"
                )
        if name in MODALITY_SHAPES:
            spec = MODALITY_SHAPES[name]
            ok = arr.ndim == len(spec) and all(
                s is None or (d in s if isinstance(s, tuple) else s == d) for s, d in zip(spec, arr.shape)
            )
            if not ok:
                raise ValueError(
                    f"sequence {key!r}: modality {name!r} has shape {tuple(arr.shape)}; expected {_SHAPE_TEXT[name]}"
                )
        if length is None:
            length, first = int(arr.shape[0]), name
        elif arr.shape[0] != length:
            raise ValueError(
                f"sequence {key!r}: modality {name!r} has {arr.shape[0]} frames but {first!r} has {length}; "
                "expected the same frame count in every modality"
            )
    _check_values(key, seq.modalities)
    rgb, sil = seq.modalities.get("rgb"), seq.modalities.get("sil")
    if rgb is not None and sil is not None and rgb.shape[1:3] != sil.shape[1:3]:
        raise ValueError(
            f"sequence {key!r}: modality 'rgb' has {rgb.shape[1]}x{rgb.shape[2]} frames but 'sil' has "
            f"{sil.shape[1]}x{sil.shape[2]}; expected RGB crops aligned with their silhouettes (same H, W)"
        )
    try:
        json.dumps(seq.meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sequence {key!r}: field 'meta' is not JSON-serialisable: {exc}") from exc
