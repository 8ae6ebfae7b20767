"""Retrieval vectors: flattening part embeddings and the distances the gallery uses.

A model embeds a sequence as ``[C, P]`` part vectors. The gallery stores one flat float32 vector per sequence:

* ``euc``: the embedding flattened channel-major (``[C, P] -> [C*P]``); the distance is the Euclidean distance
  of the flat vectors, ``sqrt(sum_k |x_k - y_k|^2)`` over parts ``k``. (The field's evaluators average per-part
  Euclidean distances instead; both are zero for identical embeddings and rank almost alike, but they are not equal.)
* ``cos``: every part L2-normalised over channels and scaled by ``1/sqrt(P)``, then flattened, so the vector has
  unit norm and the inner product of two vectors is the *mean part cosine similarity*; ``1 - <x, y>`` is then exactly
  the field's part-averaged cosine distance (OpenGait's ``cuda_dist`` with ``metric="cos"``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "check_metric", "check_vectors", "flatten_embeddings", "pairwise_distances"]

METRICS = ("euc", "cos")


def check_metric(metric: str) -> str:
    """``metric`` when it is ``euc`` or ``cos``; ValueError otherwise."""
    if metric not in METRICS:
        raise ValueError(f"metric is {metric!r}; expected one of {', '.join(METRICS)}")
    return metric


def flatten_embeddings(embeddings: np.ndarray, metric: str) -> np.ndarray:
    """Part embeddings → retrieval vectors.

    Args:
        embeddings: ``[N, C, P]`` or ``[C, P]`` (as ``GaitModel.embed`` and ``gaitforge eval`` produce).
        metric: ``"euc"`` (plain flattening) or ``"cos"`` (part-normalised, scaled by ``1/sqrt(P)``).

    Returns:
        float32 ``[N, C*P]`` (or ``[C*P]`` for a single embedding).
    """
    check_metric(metric)
    x = np.asarray(embeddings, dtype=np.float32)
    single = x.ndim == 2
    if single:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"embeddings have shape {x.shape}; expected [N, C, P] or [C, P]")
    if metric == "cos":
        norms = np.sqrt((x.astype(np.float64) ** 2).sum(axis=1, keepdims=True))  # [N, 1, P]
        x = (x / np.maximum(norms, 1e-12) / np.sqrt(x.shape[2])).astype(np.float32)
    flat = np.ascontiguousarray(x.reshape(x.shape[0], x.shape[1] * x.shape[2]))  # [N, C*P]
    return flat[0] if single else flat


def check_vectors(x: np.ndarray, dim: int, name: str = "embeddings", single: bool | None = None) -> np.ndarray:
    """Validate retrieval vectors and return them as contiguous float32 ``[N, dim]``.

    Args:
        x: ``[dim]`` or ``[N, dim]``.
        dim: Expected vector length.
        name: Used in error messages.
        single: ``True`` requires ``[dim]``, ``False`` requires ``[N, dim]``, ``None`` accepts both.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name}: dtype {arr.dtype} is not numeric; expected float32 vectors of length {dim}")
    if single is True and arr.ndim != 1:
        raise ValueError(f"{name}: shape {arr.shape}; expected one vector [{dim}]")
    if single is False and arr.ndim != 2:
        raise ValueError(f"{name}: shape {arr.shape}; expected [N, {dim}]")
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name}: shape {np.asarray(x).shape}; expected [{dim}] or [N, {dim}] (the gallery's dim)")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def pairwise_distances(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Distances ``[N, M]`` between vectors ``a`` ``[N, D]`` and ``b`` ``[M, D]``, as the gallery reports them.

    ``euc``: Euclidean; ``cos``: ``1 - <a/|a|, b/|b|>`` (vectors are normalised first, as the gallery does).
    Computed in float64.
    """
    check_metric(metric)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"pairwise_distances: shapes {a.shape} and {b.shape}; expected [N, D] and [M, D]")
    if metric == "cos":
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return np.maximum(1.0 - a @ b.T, 0.0)
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0))
