"""Identification within one real video: each track's first part enrolled, its second part identified.

Real footage without identity labels still gives a fair identification test: a track is one person, so cutting
every track in two and matching the second parts against the first parts asks a model to recognise each person
from a different stretch of their own walk, among all the other people of the video. Two cuts:

* ``half``: at the middle frame of the track;
* ``change``: where the walk changes most, i.e. the frame that maximises the difference between the two parts'
  walking direction (angle between their mean image velocities of the box's foot point, over π) plus their
  distance to the camera (``|log|`` of the ratio of their median box heights), with at least ``min_part`` of the
  frames on either side. Appearance changes there (another view, another scale), as between two recordings.

Any embedding function works: a trained model (:func:`model_embedder`) or the training-free GEI
(:func:`gei_embedder`); matching is nearest neighbour under the field's part-averaged distance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gaitforge.evaluation.distance import part_distance

__all__ = [
    "Track",
    "change_split",
    "gei_embedder",
    "halftrack_identification",
    "model_embedder",
    "split_track",
]

logger = logging.getLogger(__name__)

#: ``embed(sil uint8 [T, 64, 64]) -> [C, P]`` embedding.
Embedder = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Track:
    """One tracked person of a video.

    Attributes:
        key: Track name (e.g. ``"vtest-t0009"``).
        sil: uint8 ``[T, 64, 64]`` pretreated silhouettes.
        boxes: float ``[T, 4]`` boxes (x0, y0, x1, y1) in frame pixels, one per silhouette.
    """

    key: str
    sil: np.ndarray
    boxes: np.ndarray

    def __post_init__(self) -> None:
        if self.sil.ndim != 3 or self.boxes.shape != (len(self.sil), 4):
            raise ValueError(
                f"half-track: track {self.key}: expected sil [T, H, W] and boxes [T, 4], "
                f"got {self.sil.shape} and {self.boxes.shape}"
            )


def change_split(boxes: np.ndarray, min_part: float = 0.3, smooth: int = 5) -> tuple[int, float]:
    """The frame that splits a track where its direction or distance changes most.

    Args:
        boxes: ``[T, 4]`` boxes (x0, y0, x1, y1).
        min_part: Smallest fraction of the frames on either side.
        smooth: Moving-average window (frames) of the foot point before differencing.

    Returns:
        ``(index, score)``: the second part starts at ``index``; ``score`` is direction change / π plus
        ``|log|`` of the height ratio.
    """
    b = np.asarray(boxes, dtype=np.float64)
    n = len(b)
    lo, hi = max(1, int(np.ceil(min_part * n))), int(np.floor((1.0 - min_part) * n))
    if hi < lo:
        return n // 2, 0.0
    foot = np.stack([(b[:, 0] + b[:, 2]) / 2.0, b[:, 3]], 1)
    k = max(1, min(smooth, n))
    kernel = np.ones(k) / k
    pad = (k // 2, k - 1 - k // 2)
    foot = np.stack([np.convolve(np.pad(foot[:, i], pad, mode="edge"), kernel, "valid") for i in range(2)], 1)
    vel = np.diff(foot, axis=0, prepend=foot[:1])
    height = np.maximum(b[:, 3] - b[:, 1], 1.0)
    best, best_score = n // 2, -1.0
    for i in range(lo, hi + 1):
        v1, v2 = vel[:i].mean(0), vel[i:].mean(0)
        n1, n2 = np.linalg.norm(v1), np.linalg.norm(v2)
        angle = float(np.arccos(np.clip(v1 @ v2 / (n1 * n2), -1.0, 1.0))) if n1 > 1e-6 and n2 > 1e-6 else 0.0
        scale = abs(float(np.log(np.median(height[i:]) / np.median(height[:i]))))
        score = angle / np.pi + scale
        if score > best_score:
            best, best_score = i, score
    return best, best_score


def split_track(track: Track, how: str, min_part: float = 0.3) -> tuple[np.ndarray, np.ndarray, float]:
    """``(first part sil, second part sil, change score)`` of a track, cut by ``how`` (``"half"`` or ``"change"``)."""
    if how == "half":
        i, score = len(track.sil) // 2, 0.0
    elif how == "change":
        i, score = change_split(track.boxes, min_part)
    else:
        raise ValueError(f"half-track: split {how!r} unknown; expected 'half' or 'change'")
    return track.sil[:i], track.sil[i:], score


def gei_embedder(size: tuple[int, int] | None = (32, 22)) -> Embedder:
    """The training-free GEI (Han & Bhanu, TPAMI 2006): the mean binary silhouette after the demo's cut and resize."""
    from gaitforge.data.transforms import build_transform

    transform = build_transform([{"name": "sil_cut"}, {"name": "resize", "size": list(size)}]) if size else None

    def embed(sil: np.ndarray) -> np.ndarray:
        x = transform(sil) if transform is not None else sil.astype(np.float32) / 255.0
        return np.asarray(x, dtype=np.float32).mean(0).reshape(-1, 1)

    return embed


def model_embedder(model: torch.nn.Module, transform: Any, modality: str = "sil") -> Embedder:
    """Embeddings of a trained model (eval mode, every frame) after its config's test transform."""
    from gaitforge.data.batch import Batch

    model.eval()

    @torch.no_grad()
    def embed(sil: np.ndarray) -> np.ndarray:
        x = transform(sil) if transform is not None else sil.astype(np.float32) / 255.0
        frames = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        batch = Batch(inputs={modality: frames}, labels=torch.tensor([-1]))
        return model(batch).embeddings[0].float().numpy()

    return embed


def halftrack_identification(
    tracks: Sequence[Track],
    embedders: dict[str, Embedder],
    how: str = "half",
    min_frames: int = 10,
    metric: str = "euc",
) -> dict[str, Any]:
    """Enrol every track's first part, identify every second part among them.

    Args:
        tracks: The video's tracks.
        embedders: Model name → embedding function.
        how: ``"half"`` or ``"change"`` (see the module docstring).
        min_frames: Tracks whose either part is shorter are left out.
        metric: ``"euc"`` or ``"cos"``.

    Returns:
        ``{"split", "tracks", "chance", "models": {name: {"rank1", "correct", "ranks"}}, "change_scores"}``
        (``rank1`` in [0, 1]; ``ranks`` is the 1-based rank of the true first part for each probe).

    Raises:
        ValueError: Fewer than two tracks are long enough.
    """
    parts = []
    for t in tracks:
        a, b, score = split_track(t, how)
        if len(a) >= min_frames and len(b) >= min_frames:
            parts.append((t.key, a, b, score))
    if len(parts) < 2:
        raise ValueError(f"half-track: {len(parts)} track(s) with two parts of >= {min_frames} frames; need 2")
    out: dict[str, Any] = {
        "split": how,
        "tracks": [p[0] for p in parts],
        "chance": 1.0 / len(parts),
        "change_scores": [round(p[3], 4) for p in parts],
        "models": {},
    }
    for name, embed in embedders.items():
        gallery = np.stack([embed(p[1]) for p in parts])
        probe = np.stack([embed(p[2]) for p in parts])
        dist = part_distance(probe, gallery, metric).numpy()
        ranks = (dist < np.diag(dist)[:, None]).sum(1) + 1
        out["models"][name] = {
            "rank1": float((ranks == 1).mean()),
            "correct": int((ranks == 1).sum()),
            "ranks": ranks.tolist(),
        }
        logger.info("half-track %s (%s): rank-1 %d / %d", name, how, int((ranks == 1).sum()), len(parts))
    return out
