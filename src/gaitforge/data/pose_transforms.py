"""Transforms of the ``pose`` modality (``[T, 17, 3]``: x, y, confidence; COCO-17) and the input features of the
skeleton models.

Augmentations and normalisations are ``(x, rng) -> x`` callables registered in the transforms registry
(:data:`gaitforge.data.transforms.TRANSFORMS`) under ``pose_*`` names, so configs list them like any other
transform::

    transforms: [{name: pose_fill_empty}, {name: pose_time_flip, p: 0.5}, {name: pose_joint_noise, std: 0.25}]

Random ones draw every decision from the ``rng`` they are given (the dataset passes one per sample), so a
sequence transforms identically for the same generator state. A joint whose x and y are both exactly 0 is
missing (the field's marker); the geometric transforms leave missing joints at 0, except :class:`FillEmptyJoints`
whose job is to fill them.

The feature builders (:func:`gaitgraph_features`, :func:`gaittr_features`, :func:`gaitgraph1_features`,
:func:`hod_features`) turn a pose tensor into the multi-branch inputs of GaitGraph, GaitGraph2, GaitTR and
GPGait (joints, velocities, bones, angles). They run on torch tensors with any leading batch dims; models call
them in ``forward`` so they train from the plain pose modality, and ``*_input`` transforms wrap them for
numpy pipelines that want the peer's layouts.

References:
    Teepe et al., "GaitGraph: Graph Convolutional Network for Skeleton-Based Gait Recognition", ICIP 2021, and
    "Towards a Deeper Understanding of Skeleton-based Gait Recognition", CVPRW 2022 (augmentations, multi-input).
    Zhang et al., "Spatial Transformer Network on Skeleton-based Gait Recognition", Expert Systems 2023 (GaitTR).
    Fu et al., "GPGait: Generalized Pose-based Gait Recognition", ICCV 2023 (human-oriented transformation and
    descriptors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence as SequenceABC
from typing import Any

import numpy as np
import torch

from gaitforge.data.transforms import TRANSFORMS

__all__ = [
    "COCO_CONNECT",
    "COCO_EDGES",
    "COCO_FLIP",
    "FillEmptyJoints",
    "JointNoise",
    "PointNoise",
    "PoseMirror",
    "PoseToSkeletonMap",
    "RandomMove",
    "RescaleCenter",
    "SpineVertical",
    "SwapSides",
    "TimeFlip",
    "gaitgraph1_features",
    "gaitgraph_features",
    "gaittr_features",
    "hod_features",
]

#: Left/right swap of COCO-17 joints.
COCO_FLIP: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
#: Parent joint of each COCO-17 joint (bone vectors point from the parent).
COCO_CONNECT: tuple[int, ...] = (5, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14)
#: Skeleton edges of the COCO-17 graph used by the graph networks.
COCO_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)  # fmt: skip
#: Angle triplets (joint, neighbour, neighbour) of the human-oriented descriptor; pairs use the vertical.
HOD_ANGLES: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 0, 3), (2, 4, 0), (3, 1), (4, 2), (5, 7, 11), (6, 8, 12), (7, 5, 9), (8, 10, 6),
    (9, 7), (10, 8), (11, 5, 13), (12, 6, 14), (13, 11, 15), (14, 12, 16), (15, 13), (16, 14),
)  # fmt: skip


def _register(name: str):
    """Register under ``name`` unless already there (a lazy ``"module:attr"`` hook in the registry is fine)."""

    def deco(cls):
        if name not in TRANSFORMS:
            TRANSFORMS.register(name, cls)
        return cls

    return deco


def _pose(x: np.ndarray, who: str) -> np.ndarray:
    a = np.array(x, dtype=np.float32, copy=True)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"{who}: pose has shape {a.shape}; expected [T, V, 3] (x, y, confidence)")
    return a


def _missing(a: np.ndarray) -> np.ndarray:
    """``[T, V]`` True where x and y are both exactly 0."""
    return (a[..., 0] == 0) & (a[..., 1] == 0)


def _need_rng(rng: np.random.Generator | None, who: str) -> np.random.Generator:
    if rng is None:
        raise ValueError(f"{who} needs an rng (the dataset passes one per sample)")
    return rng


def _prob(p: float, who: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: p is {p}; expected 0 <= p <= 1")
    return float(p)


class _Repr:
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


@_register("pose_mirror")
class PoseMirror(_Repr):
    """Mirror the sequence left–right with probability ``p``: x → 2·c − x about each frame's mean x (present
    joints), and left/right joints swapped so the mirror image is again a valid COCO-17 pose."""

    def __init__(self, p: float = 0.5, swap: bool = True) -> None:
        self.p, self.swap = _prob(p, "PoseMirror"), bool(swap)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "PoseMirror")
        if _need_rng(rng, "PoseMirror").random() >= self.p:
            return a
        miss = _missing(a)
        xs = np.where(miss, np.nan, a[..., 0])
        with np.errstate(invalid="ignore"):
            centre = np.nanmean(np.where(miss.all(axis=1, keepdims=True), 0.0, xs), axis=1, keepdims=True)
        a[..., 0] = np.where(miss, 0.0, 2.0 * centre - a[..., 0])
        if self.swap:
            a = a[:, list(COCO_FLIP)]
        return np.ascontiguousarray(a)


@_register("pose_swap_sides")
class SwapSides(_Repr):
    """Swap left and right joints (no mirroring) per frame with probability ``p`` (the field's "inverse poses")."""

    def __init__(self, p: float = 0.1) -> None:
        self.p = _prob(p, "SwapSides")

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "SwapSides")
        flip = _need_rng(rng, "SwapSides").random(a.shape[0]) < self.p
        a[flip] = a[flip][:, list(COCO_FLIP)]
        return a


@_register("pose_time_flip")
class TimeFlip(_Repr):
    """Reverse the frame order with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _prob(p, "TimeFlip")

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "TimeFlip")
        if _need_rng(rng, "TimeFlip").random() < self.p:
            return np.ascontiguousarray(a[::-1])
        return a


@_register("pose_joint_noise")
class JointNoise(_Repr):
    """Add one Gaussian offset (std ``std`` px) per joint to x and y, the same in every frame."""

    def __init__(self, std: float = 0.25) -> None:
        if std < 0:
            raise ValueError(f"JointNoise: std is {std}; expected >= 0")
        self.std = float(std)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "JointNoise")
        noise = _need_rng(rng, "JointNoise").normal(0.0, self.std, (a.shape[1], 2)).astype(np.float32)
        a[..., :2] += np.where(_missing(a)[..., None], 0.0, noise[None]).astype(np.float32)
        return a


@_register("pose_point_noise")
class PointNoise(_Repr):
    """Add independent Gaussian noise (std ``std``) to every x and y (and the confidence if asked)."""

    def __init__(self, std: float = 0.05, on_confidence: bool = False) -> None:
        if std < 0:
            raise ValueError(f"PointNoise: std is {std}; expected >= 0")
        self.std, self.on_confidence = float(std), bool(on_confidence)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "PointNoise")
        noise = _need_rng(rng, "PointNoise").normal(0.0, self.std, a.shape).astype(np.float32)
        if not self.on_confidence:
            noise[..., 2] = 0.0
        noise[..., :2][_missing(a)] = 0.0
        return a + noise


@_register("pose_random_move")
class RandomMove(_Repr):
    """Shift the whole sequence by a uniform offset in ``[-rx, rx] × [-ry, ry]`` px (``random_r = [rx, ry]``)."""

    def __init__(self, random_r: SequenceABC[float] = (4.0, 1.0)) -> None:
        if len(random_r) != 2 or min(random_r) < 0:
            raise ValueError(f"RandomMove: random_r is {list(random_r)}; expected [rx, ry] >= 0")
        self.random_r = (float(random_r[0]), float(random_r[1]))

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "RandomMove")
        g = _need_rng(rng, "RandomMove")
        shift = np.array([g.uniform(-r, r) for r in self.random_r], np.float32)
        a[..., :2] += np.where(_missing(a)[..., None], np.float32(0), shift)
        return a


@_register("pose_fill_empty")
class FillEmptyJoints(_Repr):
    """Put each joint with x == 0 at its frame's centre of gravity (mean of all joints, confidence included,
    updated joint by joint as the field's "normalize empty" does) with confidence 0."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "FillEmptyJoints")
        frames, joints = np.nonzero(a[:, :, 0] == 0)
        for f, j in zip(frames, joints, strict=True):
            cog = a[f].mean(axis=0)
            a[f, j] = (cog[0], cog[1], 0.0)
        return a


@_register("pose_rescale_center")
class RescaleCenter(_Repr):
    """Scale each frame to a pose height of ``scale`` (over all joints) and put ``center`` at the origin.

    Args:
        center: ``"neck"`` (shoulder midpoint), ``"hip"`` (hip midpoint), ``"head"`` (eye midpoint) or ``None``.
        scale: Target height in output units.
    """

    _CENTERS = {"neck": (5, 6), "hip": (11, 12), "head": (1, 2)}

    def __init__(self, center: str | None = "neck", scale: float = 225.0) -> None:
        if center is not None and center not in self._CENTERS:
            raise ValueError(f"RescaleCenter: center is {center!r}; expected one of neck, hip, head or null")
        if scale <= 0:
            raise ValueError(f"RescaleCenter: scale is {scale}; expected > 0")
        self.center, self.scale = center, float(scale)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "RescaleCenter")
        if self.center is None:
            return a
        height = a[..., 1].max(axis=1) - a[..., 1].min(axis=1)
        factor = np.where(height > 0, self.scale / np.where(height > 0, height, 1.0), 1.0).astype(np.float32)
        a[..., :2] *= factor[:, None, None]
        i, j = self._CENTERS[self.center]
        a[..., :2] -= (a[:, i, :2] + a[:, j, :2])[:, None, :] / 2
        return a


@_register("pose_spine_vertical")
class SpineVertical(_Repr):
    """Rotate each frame about the neck (shoulder midpoint) so that the neck → hip-midpoint spine points straight
    down (+y), GPGait's human-oriented transformation. Frames with a zero-length spine are left as they are."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _pose(x, "SpineVertical")
        xy = a[..., :2].astype(np.float64)
        neck = (xy[:, 5] + xy[:, 6]) / 2
        spine = (xy[:, 11] + xy[:, 12]) / 2 - neck
        theta = np.arctan2(spine[:, 0], spine[:, 1])  # angle of the spine from +y, counter-clockwise
        theta = np.where(np.hypot(spine[:, 0], spine[:, 1]) > 0, theta, 0.0)
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
        rel = xy - neck[:, None]
        rot = np.stack([c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1]], -1) + neck[:, None]
        a[..., :2] = np.where(_missing(a)[..., None], 0.0, rot).astype(np.float32)
        return a


@_register("pose_to_skeleton_map")
class PoseToSkeletonMap(_Repr):
    """Render SkeletonGait maps on the fly: pose ``[T,17,3]`` → ``[T,2,size,size]`` (limb, joint).

    Missing joints are filled from the frames given (the sampled ones), which can differ slightly from
    pre-rendering the whole sequence with :func:`gaitforge.preprocess.skeleton_maps.render`.

    Args:
        size: Output side (64 in the field).
        scale: ``None`` keeps uint8; a number casts to float32 and multiplies (1/255 for ``[0, 1]``).
        cut: Columns removed from each side after rendering (10 turns 64×64 into the peer's 64×44).
    """

    def __init__(self, size: int = 64, scale: float | None = 1.0 / 255.0, cut: int = 0) -> None:
        if cut < 0 or 2 * cut >= size:
            raise ValueError(f"PoseToSkeletonMap: cut is {cut}; expected 0 <= 2*cut < size ({size})")
        self.size, self.scale, self.cut = int(size), None if scale is None else float(scale), int(cut)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        from gaitforge.preprocess.skeleton_maps import render

        maps = render(np.asarray(x), size=self.size)
        if self.cut:
            maps = np.ascontiguousarray(maps[..., self.cut : self.size - self.cut])
        if self.scale is None:
            return maps
        return maps.astype(np.float32) * np.float32(self.scale)


# ---------------------------------------------------------------------------------------------------------------
# Feature builders (torch, any leading batch dims).


def _check(x: torch.Tensor, who: str, channels: int | None = 3) -> None:
    if x.dim() < 3 or (channels is not None and x.shape[-1] != channels):
        raise ValueError(f"{who}: input has shape {tuple(x.shape)}; expected [..., T, V, {channels}]")


def _velocity(xy: torch.Tensor, step: int) -> torch.Tensor:
    """``xy[t + step] − xy[t]`` for ``t < T − 2``, zero for the last two frames. ``[..., T, V, C]``."""
    t = xy.shape[-3]
    out = torch.zeros_like(xy)
    if t > 2:
        out[..., : t - 2, :, :] = xy[..., step : t - 2 + step, :, :] - xy[..., : t - 2, :, :]
    return out


def gaitgraph_features(pose: torch.Tensor, center: int = 0, connect: SequenceABC[int] = COCO_CONNECT) -> torch.Tensor:
    """GaitGraph2's three input branches. ``[..., T, V, 3]`` → ``[..., T, V, 3, 5]``.

    Branch 0 (joints): x, y, conf, x − x_c, y − y_c (``c = center``). Branch 1 (velocities): one-step dx, dy, 0,
    conf, two-step dy (the two-step dx slot holds the confidence, as in the reference). Branch 2 (bones): bone
    dx, dy from the parent joint, 0, conf, angle ``acos(dy / (|bone| + 1e-4))``. Velocities are zero in the last
    two frames.
    """
    _check(pose, "gaitgraph_features")
    conf = pose[..., 2]
    xy = pose[..., :2]
    out = pose.new_zeros((*pose.shape[:-1], 3, 5))  # [..., T, V, 3, 5]
    out[..., 0, :3] = pose
    out[..., 0, 3:] = xy - xy[..., center : center + 1, :]
    out[..., 1, :2] = _velocity(xy, 1)
    out[..., 1, 3:] = _velocity(xy, 2)
    out[..., 1, 3] = conf
    bone = xy - xy[..., list(connect), :]
    out[..., 2, :2] = bone
    length = torch.sqrt(bone[..., 0] ** 2 + bone[..., 1] ** 2) + 1e-4
    out[..., 2, 4] = torch.acos(bone[..., 1] / length)
    out[..., 2, 3] = conf
    return out


def gaittr_features(pose: torch.Tensor, center: int = 0, connect: SequenceABC[int] = COCO_CONNECT) -> torch.Tensor:
    """GaitTR's five branches of (x, y): joints, joints − joint ``center``, one- and two-step velocities, bones.

    ``[..., T, V, C]`` (C ≥ 2; confidence unused) → ``[..., T, 10, V, 1]`` (branch-major: x₀, y₀, x₁, y₁, …).
    """
    _check(pose, "gaittr_features", None)
    xy = pose[..., :2]
    branches = [
        xy,
        xy - xy[..., center : center + 1, :],
        _velocity(xy, 1),
        _velocity(xy, 2),
        xy - xy[..., list(connect), :],
    ]
    feats = torch.stack(branches, dim=-2)  # [..., T, V, 5, 2]
    return feats.flatten(-2).transpose(-1, -2).unsqueeze(-1)  # [..., T, 10, V, 1]


def gaitgraph1_features(pose: torch.Tensor) -> torch.Tensor:
    """GaitGraph's input: ``[..., T, V, 3]`` → ``[..., 3, T, V, 1]`` (channels first)."""
    _check(pose, "gaitgraph1_features")
    return pose.movedim(-1, -3).unsqueeze(-1)


def _angle(center: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """π minus the angle at ``center`` of the triangle (center, a, b) by the law of cosines (π when degenerate)."""
    s1 = torch.linalg.vector_norm(center - a, dim=-1)
    s2 = torch.linalg.vector_norm(center - b, dim=-1)
    s3 = torch.linalg.vector_norm(a - b, dim=-1)
    deno = s1 * s2
    zero = deno == 0
    cos = (s1 * s1 + s2 * s2 - s3 * s3) / (2 * torch.where(zero, torch.ones_like(deno), deno))
    return torch.where(zero, torch.full_like(cos, math.pi), math.pi - torch.acos(cos.clamp(-1.0, 1.0)))


def hod_features(pose: torch.Tensor, connect: SequenceABC[int] = COCO_CONNECT) -> torch.Tensor:
    """GPGait's human-oriented descriptors: joint (x, y), bone (x, y) and one joint angle per joint.

    Angles are taken at each joint between its two skeleton neighbours, or for end joints (ears, wrists,
    ankles) between its bone and the vertical. ``[..., T, 17, C]`` (C ≥ 2) → ``[..., T, 17, 5]``.
    """
    _check(pose, "hod_features", None)
    xy = pose[..., :2]
    bone = xy - xy[..., list(connect), :]
    angles = []
    for spec in HOD_ANGLES:
        c, a = xy[..., spec[0], :], xy[..., spec[1], :]
        b = xy[..., spec[2], :] if len(spec) == 3 else torch.stack([c[..., 0], a[..., 1]], -1)
        angles.append(_angle(c, a, b))
    ang = torch.nan_to_num(torch.stack(angles, dim=-1))  # [..., T, 17]
    return torch.cat([xy, bone, ang.unsqueeze(-1)], dim=-1)


class _Builder(_Repr):
    """numpy wrapper of a feature builder: float64 arithmetic, float32 output."""

    fn: Any = None

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        t = torch.from_numpy(np.asarray(x, dtype=np.float32)).double()
        return type(self).fn(t).float().numpy()


@_register("gaitgraph2_input")
class GaitGraph2Input(_Builder):
    """Pose ``[T, V, 3]`` → ``[T, V, 3, 5]`` (see :func:`gaitgraph_features`)."""

    fn = staticmethod(gaitgraph_features)


@_register("gaittr_input")
class GaitTRInput(_Builder):
    """Pose ``[T, V, 3]`` → ``[T, 10, V, 1]`` (see :func:`gaittr_features`)."""

    fn = staticmethod(gaittr_features)


@_register("gaitgraph1_input")
class GaitGraph1Input(_Builder):
    """Pose ``[T, V, 3]`` → ``[3, T, V, 1]`` (see :func:`gaitgraph1_features`)."""

    fn = staticmethod(gaitgraph1_features)
