"""Embeddings with their metadata, validated once: what every protocol reads.

The on-disk form is an ``.npz`` with the keys ``embeddings`` (float32 ``[N, C, P]``: N sequences, C channels,
P parts), ``labels``, ``types`` and ``views`` (string arrays ``[N]``, row-aligned), the layout the peer's
evaluators take as ``data`` (see ``../shared/fixtures/opengait/evaluation``).
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["EvalData", "load_embeddings_npz", "make_eval_data"]

logger = logging.getLogger(__name__)

_META_KEYS = ("labels", "types", "views")


@dataclass(frozen=True)
class EvalData:
    """Validated evaluation input.

    Attributes:
        embeddings: float32 ``[N, C, P]``, all finite.
        labels: ``[N]`` unicode identity labels.
        types: ``[N]`` unicode sequence types (``nm-01``, ``00``, ``U0_D0``, ...).
        views: ``[N]`` unicode view names (``090``, ...; GREW/HID keep the video id here).
        source: Where the data came from (file path or ``"<arrays>"``), used in error messages.
    """

    embeddings: np.ndarray
    labels: np.ndarray
    types: np.ndarray
    views: np.ndarray
    source: str = "<arrays>"

    @property
    def num_rows(self) -> int:
        return int(self.embeddings.shape[0])


def _as_strings(values: object, key: str, source: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{source}: key {key!r} must be a 1-D array of strings [N], got shape {arr.shape}")
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "S":
        return arr.astype(str)
    if arr.dtype.kind in "iu":
        logger.info("%s: key %r holds integers; converting to strings", source, key)
        return arr.astype(str)
    if arr.dtype.kind == "O":
        out = np.array([str(v) for v in arr.tolist()]) if arr.size else np.zeros(0, dtype="<U1")
        bad = [i for i, v in enumerate(arr.tolist()) if not isinstance(v, (str, np.str_))]
        if bad:
            raise ValueError(
                f"{source}: key {key!r} must hold strings; row {bad[0]} is {type(arr[bad[0]]).__name__}"
            )
        return out
    raise ValueError(f"{source}: key {key!r} must hold strings, got dtype {arr.dtype}")


def make_eval_data(
    embeddings: object,
    labels: object,
    types: object,
    views: object,
    source: str = "<arrays>",
) -> EvalData:
    """Validate and normalise the four arrays.

    Args:
        embeddings: ``[N, C, P]`` floats (numpy array or torch tensor); cast to float32.
        labels: ``[N]`` identity labels.
        types: ``[N]`` sequence types.
        views: ``[N]`` view names.
        source: Name used in error messages (file path).

    Raises:
        ValueError: wrong rank, mismatched lengths, non-finite embeddings, non-string metadata.
    """
    if hasattr(embeddings, "detach"):
        embeddings = embeddings.detach().cpu().numpy()  # type: ignore[union-attr]
    emb = np.asarray(embeddings)
    if emb.ndim != 3:
        raise ValueError(
            f"{source}: key 'embeddings' must be [N, C, P] (N sequences, C channels, P parts), got shape "
            f"{emb.shape}; reshape a single-part [N, C] array to [N, C, 1]"
        )
    if emb.dtype.kind != "f":
        raise ValueError(f"{source}: key 'embeddings' must be floating point, got dtype {emb.dtype}")
    if emb.dtype != np.float32:
        logger.info("%s: casting embeddings from %s to float32", source, emb.dtype)
        _check_float32_range(emb, source)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    n = emb.shape[0]
    meta = {}
    for key, values in zip(_META_KEYS, (labels, types, views)):
        arr = _as_strings(values, key, source)
        if arr.shape[0] != n:
            raise ValueError(
                f"{source}: key {key!r} has {arr.shape[0]} rows but 'embeddings' has {n}; "
                f"they must be row-aligned"
            )
        meta[key] = arr
    finite = np.isfinite(emb).reshape(n, -1).all(axis=1) if n else np.ones(0, dtype=bool)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"{source}: key 'embeddings' has NaN or inf values in {bad.size} of {n} rows "
            f"(first rows: {bad[:5].tolist()}); fix the model output before scoring"
        )
    return EvalData(emb, meta["labels"], meta["types"], meta["views"], source)


def _check_float32_range(emb: np.ndarray, source: str) -> None:
    """Refuse finite wider-float embeddings that float32 cannot hold (they would become inf or 0 silently)."""
    with np.errstate(invalid="ignore"):
        mag = np.abs(emb).reshape(len(emb), -1)
        finite = np.isfinite(mag)
        row_max = np.where(finite, mag, 0).max(axis=1) if mag.size else np.zeros(len(emb))
    info = np.finfo(np.float32)
    for rows, what in ((row_max > info.max, "above"), ((row_max > 0) & (row_max < info.tiny), "below")):
        if rows.any():
            bad = np.flatnonzero(rows)
            raise ValueError(
                f"{source}: key 'embeddings' ({emb.dtype}) has {bad.size} rows whose values lie {what} float32's "
                f"range (first rows: {bad[:5].tolist()}); multiply the embeddings by a common factor first "
                f"(rankings do not change)"
            )


def load_embeddings_npz(path: str | os.PathLike[str]) -> EvalData:
    """Read and validate an embeddings ``.npz`` (no pickles are ever loaded).

    Args:
        path: File with keys ``embeddings`` float32 ``[N, C, P]``, ``labels``, ``types``, ``views`` ``[N]``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not an npz, missing keys, object arrays, wrong rank, mismatched lengths, NaN/inf.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"embeddings file {path} does not exist")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):  # numpy's own error would advise loading it unsafely
        kind = "a pickle" if magic[:1] == b"\x80" else "one .npy array" if magic == b"\x93NUMPY" else "not a ZIP file"
        raise ValueError(
            f"{path}: {kind}, not an .npz archive; expected an .npz written by numpy.savez with arrays "
            "'embeddings' [N, C, P], 'labels', 'types', 'views'"
        )
    try:
        npz = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive with named arrays, got a single array")
    with npz:
        missing = [k for k in ("embeddings", *_META_KEYS) if k not in npz.files]
        if missing:
            raise ValueError(
                f"{path}: missing key(s) {missing}; expected 'embeddings' [N,C,P], 'labels', 'types', "
                f"'views' "
                f"(found: {sorted(npz.files)})"
            )
        arrays = {}
        for key in ("embeddings", *_META_KEYS):
            try:
                arrays[key] = npz[key]
            except ValueError as exc:  # object arrays need pickle, which we refuse
                raise ValueError(
                    f"{path}: key {key!r} is stored as a Python object array; save it as a plain "
                    f"string array "
                    f"(np.asarray(values, dtype=str))"
                ) from exc
    return make_eval_data(arrays["embeddings"], arrays["labels"], arrays["types"], arrays["views"], str(path))
