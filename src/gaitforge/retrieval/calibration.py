"""Open-set thresholds: genuine / impostor distances and the threshold that meets a false-accept rate.

Open-set identification accepts a probe as *known* when its best gallery distance is at most a threshold
(the watch-list setting of Phillips, Grother and Micheals, "Evaluation methods in face recognition", Handbook of
Face Recognition, 2011). The threshold is set on held-out data: *genuine* distances (a probe to its own subject's
closest sequence) and *impostor* distances (a probe to the closest sequence of any other subject, i.e. the best
distance it would get if its subject were not enrolled). The threshold is the largest distance whose false-accept
rate (fraction of impostor distances at or below it) does not exceed the target; the true-accept rate there is
reported.
"""

from __future__ import annotations

import math

import numpy as np

from gaitforge.retrieval.types import Calibration
from gaitforge.retrieval.vectors import check_metric, pairwise_distances

__all__ = ["calibrate_threshold", "leave_one_out_distances", "pair_distances"]

_BLOCK = 1024


def _distances_1d(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if not arr.size:
        raise ValueError(f"calibrate: no {name} distances; expected at least one")
    if not np.isfinite(arr).all():
        raise ValueError(f"calibrate: {name} distances contain NaN or infinite values")
    return arr


def calibrate_threshold(genuine: np.ndarray, impostor: np.ndarray, far: float = 0.01) -> Calibration:
    """The acceptance threshold at a target false-accept rate.

    Args:
        genuine: Distances of probes to their own subject ``[G]``.
        impostor: Distances of probes to other subjects ``[I]`` (best per probe for identification).
        far: Target false-accept rate in ``[0, 1]``.

    Returns:
        A :class:`Calibration`: ``threshold`` is the largest distance at which at most ``floor(far * I)`` impostor
        distances are ``<= threshold``; ``far`` and ``tar`` are measured there.
    """
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"calibrate: far is {far}; expected a rate in [0, 1]")
    gen = _distances_1d(genuine, "genuine")
    imp = np.sort(_distances_1d(impostor, "impostor"))
    allowed = math.floor(far * imp.size + 1e-9)  # impostors that may be accepted
    if allowed >= imp.size:
        threshold = float(imp[-1])
    else:  # just below the first impostor that must be rejected (ties at that value are rejected too)
        threshold = float(np.nextafter(imp[allowed], -np.inf))
    return Calibration(
        threshold=threshold,
        far=float(np.mean(imp <= threshold)),
        tar=float(np.mean(gen <= threshold)),
        target_far=float(far),
        n_genuine=int(gen.size),
        n_impostor=int(imp.size),
    )


def _labels(labels: np.ndarray, n: int) -> np.ndarray:
    lab = np.asarray(labels).astype(str).reshape(-1)
    if lab.size != n:
        raise ValueError(f"labels has {lab.size} entries; expected one per vector ({n})")
    return lab


def pair_distances(
    vectors: np.ndarray, labels: np.ndarray, metric: str = "euc", max_vectors: int = 20000
) -> tuple[np.ndarray, np.ndarray]:
    """Verification-style distances: every pair ``i < j`` of a labelled set.

    Args:
        vectors: Retrieval vectors ``[N, D]``.
        labels: Subject of each vector ``[N]``.
        metric: ``"euc"`` or ``"cos"`` (as the gallery measures).
        max_vectors: Refuse larger sets (``N^2 / 2`` distances).

    Returns:
        ``(genuine, impostor)``: distances of same-subject pairs and of different-subject pairs.
    """
    check_metric(metric)
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"pair_distances: vectors have shape {x.shape}; expected [N, D]")
    if len(x) > max_vectors:
        raise ValueError(f"pair_distances: {len(x)} vectors; at most {max_vectors} (pass a sample)")
    lab = _labels(labels, len(x))
    gen: list[np.ndarray] = []
    imp: list[np.ndarray] = []
    for s in range(0, len(x), _BLOCK):
        d = pairwise_distances(x[s : s + _BLOCK], x, metric)  # [b, N]
        rows = np.arange(s, min(s + _BLOCK, len(x)))[:, None]
        upper = np.arange(len(x))[None, :] > rows  # pairs i < j only
        same = lab[rows] == lab[None, :]
        gen.append(d[upper & same])
        imp.append(d[upper & ~same])
    return np.concatenate(gen), np.concatenate(imp)


def leave_one_out_distances(
    vectors: np.ndarray, labels: np.ndarray, metric: str = "euc"
) -> tuple[np.ndarray, np.ndarray]:
    """Identification-style distances from a held-out labelled set, each sequence probing the rest.

    For every sequence: the genuine distance is its distance to the closest *other* sequence of its subject
    (sequences whose subject has no other sequence give none); the impostor distance is its distance to the
    closest sequence of any other subject. This matches what ``Gallery.identify`` thresholds (the best distance),
    for a gallery the size of the held-out set.

    Args:
        vectors: Retrieval vectors ``[N, D]``.
        labels: Subject of each vector ``[N]``.
        metric: ``"euc"`` or ``"cos"``.

    Returns:
        ``(genuine [<=N], impostor [N])``.
    """
    check_metric(metric)
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"leave_one_out_distances: vectors have shape {x.shape}; expected [N >= 2, D]")
    lab = _labels(labels, len(x))
    if np.unique(lab).size < 2:
        raise ValueError("leave_one_out_distances: all vectors have one label; impostor distances need two subjects")
    gen: list[np.ndarray] = []
    imp: list[np.ndarray] = []
    for s in range(0, len(x), _BLOCK):
        d = pairwise_distances(x[s : s + _BLOCK], x, metric)  # [b, N]
        rows = np.arange(s, min(s + _BLOCK, len(x)))
        d[np.arange(len(rows)), rows] = np.inf  # not oneself
        same = lab[rows][:, None] == lab[None, :]
        g = np.where(same, d, np.inf).min(axis=1)
        gen.append(g[np.isfinite(g)])
        imp.append(np.where(same, np.inf, d).min(axis=1))
    return np.concatenate(gen), np.concatenate(imp)
