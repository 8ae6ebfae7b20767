"""Point clouds for the models: ragged frames to a fixed number of points, and LidarGait++'s normalisation.

A store keeps each frame's point cloud at its own size (:class:`~gaitforge.data.ragged.RaggedFrames`); a batch
needs ``[n, s, P, C]``. :func:`fixed_points` samples every frame to ``P`` points (without replacement when it has
at least ``P``, else all of its points plus ones drawn again), and :func:`normalize_points` is the peer's
``PointCloudsTransform(xyz_only, scale_aware)`` as LidarGait++ (Shen et al., "LidarGait: Benchmarking 3D Gait
Recognition with Point Clouds", CVPR 2023, and its ++ follow-up in OpenGait) is evaluated: per frame, the height of
every point above the frame's lowest one (metres), then ``x, y, z`` centred on the frame's mean and divided by the
largest point norm, output ``[x, y, z, height]``. :class:`PointsToFixed` does both as a dataset transform
(``{"name": "points_fixed", "num_points": 1024}``), so :func:`~gaitforge.data.collate.collate_samples` stacks
``[n, s, 1024, 4]``, the input layout of the ``LidarGaitPlusPlus`` fixture. :class:`DepthRgbToFloat`
(``{"name": "depth_rgb_float"}``) turns SUSTech1K's colour-mapped depth images (``depth_rgb``) into LidarGait's
``[t, 3, 64, 64]`` float input.
"""

from __future__ import annotations

import numpy as np

from gaitforge.data.ragged import RaggedFrames
from gaitforge.data.transforms import TRANSFORMS

__all__ = ["DepthRgbToFloat", "PointsToFixed", "fixed_points", "normalize_points"]


def fixed_points(frames: RaggedFrames, num_points: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Every frame sampled to ``num_points`` points: ``[T, N_t, C]`` ragged → ``[T, num_points, C]``.

    A frame with at least ``num_points`` points gives a random subset of them (no repeats), in their stored
    order; a smaller frame gives all its points and then ``num_points - N_t`` of them drawn again at random (the
    model sees no padding value). Without ``rng`` the choice is deterministic: evenly spaced points.

    Raises:
        ValueError: a frame without points (nothing to sample).
    """
    if num_points < 1:
        raise ValueError(f"fixed_points: num_points is {num_points}; expected >= 1")
    counts = frames.counts
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(f"fixed_points: frame {int(empty[0])} has no points; expected at least one per frame")
    out = np.empty((len(frames), num_points, *frames.row_shape), frames.dtype)
    for k in range(len(frames)):
        pts, n = frames.frame(k), int(counts[k])
        if n >= num_points:
            if rng is None:
                pick = np.linspace(0, n - 1, num_points).round().astype(np.int64)
            else:
                pick = np.sort(rng.choice(n, num_points, replace=False))
        else:
            extra = np.arange(num_points - n) % n if rng is None else rng.integers(0, n, num_points - n)
            pick = np.concatenate([np.arange(n), extra])
        out[k] = pts[pick]
    return out


def normalize_points(
    points: np.ndarray, xyz_only: bool = True, scale_aware: bool = True, name: str = "points"
) -> np.ndarray:
    """LidarGait++'s per-frame normalisation (the peer's ``PointCloudsTransform(xyz_only, scale_aware)``) of
    ``[..., P, C]`` points (``C >= 3``: x, y, z first), float32.

    Computed in float64: xyz centred on the frame mean and divided by the frame's largest point norm (unit ball);
    with ``scale_aware`` a last channel holds each point's height above the frame's lowest point (``z - min z``,
    metres, unscaled).

    Args:
        points: ``[..., P, C]`` (``[T, N, C]`` for one sequence), metres.
        xyz_only: Drop channels after ``z`` (intensity).
        scale_aware: Append the height channel.
        name: Field name for errors (file and field, e.g. ``"seq.pcd.npz: points"``).

    Returns:
        float32 ``[..., P, 3 + (C - 3 if not xyz_only) + (1 if scale_aware)]``; ``[..., P, 4]`` by default.

    Raises:
        ValueError: Wrong shape, no frames, a frame without points, NaN / inf coordinates, or a frame whose points
            all coincide (no scale), each naming ``name`` and the frame (its index over the leading dimensions).
    """
    x = np.asarray(points, np.float64)
    if x.ndim < 3 or x.shape[-1] < 3:
        raise ValueError(f"{name}: expected [frames, points, >=3] coordinates, got shape {list(x.shape)}")
    if x.size == 0 and x.shape[-2] != 0:
        raise ValueError(f"{name}: no frames")
    if x.shape[-2] == 0:
        raise ValueError(f"{name}: empty frames (0 points); every frame needs points")
    finite = np.isfinite(x[..., :3]).all(axis=(-2, -1)).reshape(-1)
    if not finite.all():
        raise ValueError(f"{name}: non-finite coordinates (NaN or inf) in frame {int(np.argmin(finite))}")
    xyz = x[..., :3] - x[..., :3].mean(axis=-2, keepdims=True)
    norm = np.sqrt((xyz**2).sum(axis=-1)).max(axis=-1, keepdims=True)[..., None]
    flat = norm.reshape(-1)
    if (flat <= 0).any():
        raise ValueError(f"{name}: frame {int(np.argmin(flat > 0))} has all its points at one place")
    xyz = xyz / norm
    parts = [xyz] if xyz_only else [xyz, x[..., 3:]]
    if scale_aware:
        parts.append(x[..., 2:3] - x[..., 2:3].min(axis=-2, keepdims=True))
    return np.concatenate(parts, axis=-1).astype(np.float32)


@TRANSFORMS.register("points_fixed")
class PointsToFixed:
    """Dataset transform of a ragged ``points`` modality: ``num_points`` per frame, then (``normalize``) LidarGait++'s
    normalisation; ``[t, N_t, C]`` ragged → float32 ``[t, num_points, 4]`` (default).

    Random picks come from the ``rng`` the dataset passes (seeded per sample, so the same for any worker count);
    ``train=False`` picks evenly spaced points (evaluation, reproducible without an ``rng``).

    Args:
        num_points: Points per frame (LidarGait++: 1024).
        normalize: Apply :func:`normalize_points` (otherwise the sampled points as stored, float32).
        xyz_only, scale_aware: As in :func:`normalize_points`.
        train: Random picks (else deterministic).
    """

    def __init__(
        self,
        num_points: int = 1024,
        normalize: bool = True,
        xyz_only: bool = True,
        scale_aware: bool = True,
        train: bool = True,
    ) -> None:
        self.num_points, self.normalize = int(num_points), normalize
        self.xyz_only, self.scale_aware, self.train = xyz_only, scale_aware, train

    def __call__(self, x: RaggedFrames | np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if not isinstance(x, RaggedFrames):
            x = np.asarray(x)
            if x.ndim != 3:
                raise ValueError(f"points_fixed: input has shape {x.shape}; expected ragged [t, N_t, C] or [t, P, C]")
            x = RaggedFrames(x.reshape(-1, x.shape[-1]), np.arange(len(x) + 1) * x.shape[1])
        fixed = fixed_points(x, self.num_points, rng if self.train else None)
        if not self.normalize:
            return fixed.astype(np.float32, copy=False)
        return normalize_points(fixed, self.xyz_only, self.scale_aware)


@TRANSFORMS.register("depth_rgb_float")
class DepthRgbToFloat:
    """SUSTech1K's colour-mapped LiDAR depth images as LidarGait reads them: uint8 ``[t, H, W, 3]`` (the store's
    ``depth_rgb``) → float32 channel-first ``[t, 3, H, W]`` in ``[0, 1]`` (the peer's ``BaseSilTransform``: divide
    by 255, no cutting). Deterministic."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"depth_rgb_float: input has shape {x.shape}; expected [t, H, W, 3] (depth_rgb)")
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)
