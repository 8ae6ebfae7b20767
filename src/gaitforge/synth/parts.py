"""Body parts as convex hulls of ellipsoidal blobs.

Every rendered part is the convex hull of a few blobs; a blob is an ellipsoid (possibly flat: a disc; or
degenerate: a point) given by its centre ``c`` [T,3] and a matrix ``M`` [T,3,3] whose columns are its semi-axes,
so that the blob is ``{c + M u : |u| ≤ 1}``. A capsule is the hull of two spheres, the torso the hull of
pelvis, waist, chest and shoulder cross-sections. Orthographic outlines of ellipsoids are exact ellipses,
which the camera computes in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaitforge.synth.body import BodyShape
from gaitforge.synth.kinematics import Skeleton

__all__ = ["Blob", "Part", "Sleeves", "body_parts", "capsule", "ellipsoid", "leg_point_at_height", "sphere"]


@dataclass
class Blob:
    """An ellipsoid over time: centre [T,3], semi-axis matrix [T,3,3]."""

    centre: np.ndarray
    axes: np.ndarray


@dataclass
class Part:
    """A named convex part.

    Attributes:
        name: Part name (``torso``, ``l_thigh``, ``coat``, ``bag``, ...).
        blobs: Blobs whose hull is the part.
        depth_bias: Added to the part's camera depth for painter ordering (metres; negative = nearer).
        covers: Names of parts this one encloses (a coat its torso and thighs): always painted before it.
    """

    name: str
    blobs: list[Blob] = field(default_factory=list)
    depth_bias: float = 0.0
    covers: tuple[str, ...] = ()


def sphere(c: np.ndarray, r: float | np.ndarray) -> Blob:
    """Sphere of radius ``r`` around ``c`` [T,3]."""
    r = np.asarray(r, dtype=np.float64).reshape(-1, 1, 1)
    return Blob(c, np.broadcast_to(np.eye(3), (c.shape[0], 3, 3)) * r)


def ellipsoid(c: np.ndarray, frame: np.ndarray, radii: tuple[float, float, float]) -> Blob:
    """Ellipsoid with semi-axes ``radii`` along the columns of ``frame`` [T,3,3]; a zero radius makes a disc."""
    return Blob(c, frame * np.asarray(radii, dtype=np.float64)[None, None, :])


def capsule(a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> list[Blob]:
    """Tapered capsule from ``a`` (radius ``ra``) to ``b`` (radius ``rb``)."""
    return [sphere(a, ra), sphere(b, rb)]


@dataclass(frozen=True)
class Sleeves:
    """Extra thickness from clothing (metres): torso all round, arms, neck."""

    torso: float = 0.0
    arms: float = 0.0
    neck: float = 0.0


def leg_point_at_height(skel: Skeleton, side: str, drop: float, thigh: float, shank: float) -> np.ndarray:
    """Point on a leg's hip→knee→ankle polyline at arc length ``drop`` below the hip [T,3]."""
    p = skel.points
    hip, knee, ankle = p[f"{side}_hip"], p[f"{side}_knee"], p[f"{side}_ankle"]
    if drop <= thigh:
        return hip + (drop / thigh) * (knee - hip)
    return knee + (min(drop - thigh, shank) / shank) * (ankle - knee)


def body_parts(body: BodyShape, skel: Skeleton, extra: Sleeves = Sleeves()) -> list[Part]:
    """The naked (or sleeved) body: torso, neck, head, and per side thigh, shank, foot, upper arm, forearm, hand."""
    p, f = skel.points, skel.frames
    H = body.height
    pel, rp, rt = p["pelvis"], f["pelvis"], f["thorax"]

    def at(frame: np.ndarray, local: tuple[float, float, float]) -> np.ndarray:
        return pel + np.einsum("tij,j->ti", frame, np.asarray(local, dtype=np.float64))

    e = extra.torso
    torso = Part(
        "torso",
        [
            ellipsoid(at(rp, (0.0, 0.0, -0.005 * H)), rp, (body.pelvis_depth + e, body.pelvis_width + e, 0.055 * H)),
            ellipsoid(
                at(rt, (0.15 * body.waist_depth, 0.0, 0.10 * H)),
                rt,
                (body.waist_depth + e, body.waist_width + e, 0.0),
            ),
            ellipsoid(at(rt, (0.0, 0.0, 0.19 * H)), rt, (body.chest_depth + e, body.chest_width + e, 0.0)),
            ellipsoid(
                at(rt, (-0.1 * body.chest_depth, 0.0, body.trunk - 0.035 * H)),
                rt,
                (0.8 * body.chest_depth + e, body.shoulder_half + 0.2 * body.upper_arm_r + e, 0.05 * H),
            ),
        ],
    )
    parts = [
        torso,
        Part("neck", capsule(p["neck_base"], p["head_base"], body.neck_r + extra.neck, body.neck_r * 0.9)),
        Part("head", [ellipsoid(p["head"], f["head"], (body.head_rx, body.head_ry, body.head_rz))]),
    ]
    a = extra.arms
    for s in "lr":
        calf = p[f"{s}_knee"] + 0.3 * (p[f"{s}_ankle"] - p[f"{s}_knee"])
        parts += [
            Part(f"{s}_thigh", capsule(p[f"{s}_hip"], p[f"{s}_knee"], body.thigh_r, body.knee_r)),
            Part(
                f"{s}_shank",
                [
                    sphere(p[f"{s}_knee"], body.knee_r),
                    sphere(calf, body.calf_r),
                    sphere(p[f"{s}_ankle"], body.ankle_r),
                ],
            ),
            Part(
                f"{s}_foot",
                [
                    sphere(p[f"{s}_ankle"], body.ankle_r),
                    sphere(p[f"{s}_heel"], body.heel_r),
                    ellipsoid(p[f"{s}_toe"], f[f"{s}_foot"], (body.toe_r, 1.7 * body.toe_r, body.toe_r)),
                ],
            ),
            Part(
                f"{s}_upper_arm",
                capsule(p[f"{s}_shoulder"], p[f"{s}_elbow"], body.upper_arm_r + a, body.elbow_r + a),
            ),
            Part(f"{s}_forearm", capsule(p[f"{s}_elbow"], p[f"{s}_wrist"], body.elbow_r + a, body.wrist_r + a)),
            Part(
                f"{s}_hand",
                capsule(
                    p[f"{s}_wrist"],
                    0.5 * (p[f"{s}_wrist"] + p[f"{s}_hand"]),
                    body.wrist_r * 1.05,
                    body.wrist_r * 1.15,
                ),
            ),
        ]
    return parts
