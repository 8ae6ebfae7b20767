"""Dressed bodies for the realistic world: tops, sleeves, trousers, skirts, shoes and hair that move.

The mannequin of :func:`gaitforge.synth.parts.body_parts` is a naked body with arms held apart and a round head on
a thin neck. Street silhouettes differ (measured in ``docs/realism.md``): clothes widen the upper body, loose
sleeves and tops fill the gap between arm and torso, trousers fill the crotch gap and widen the legs, shoes are
small and rounded, hair blends the head into the neck and shoulders, and shoulders slope. This module builds such a
body from the same blobs (convex hulls of ellipsoids), with garment parts whose hems lag behind the legs (a simple
first-order follow of the leg point at hem height, relative to the pelvis), so skirts and coats swing.

Identity stays in the body and the walk: an :class:`Outfit` is drawn per walk from a small per-identity wardrobe
(:func:`sample_wardrobe`), so clothing is a nuisance a model must see through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaitforge.synth.body import BodyShape
from gaitforge.synth.kinematics import Skeleton
from gaitforge.synth.parts import Blob, Part, capsule, ellipsoid, leg_point_at_height, sphere

__all__ = ["BOTTOMS", "HAIR", "TOPS", "Outfit", "dressed_parts", "sample_outfit", "sample_wardrobe"]

#: Tops: name → (ease all round, sleeve ease, sleeve web (0 = arm free, 1 = fully merged down to the elbow),
#: hem drop below the hip joint), fractions of stature.
TOPS: dict[str, tuple[float, float, float, float]] = {
    "tight": (0.004, 0.003, 0.0, 0.0),
    "tshirt": (0.010, 0.008, 0.25, 0.01),
    "loose": (0.014, 0.012, 0.55, 0.03),
    "hoodie": (0.018, 0.016, 0.7, 0.03),
    "tunic": (0.012, 0.010, 0.4, 0.10),
}
#: Bottoms: name → (leg ease at the thigh, leg ease at the ankle, seat (crotch fill), skirt hem height or 0),
#: fractions of stature; a skirt's hem height is above the floor.
BOTTOMS: dict[str, tuple[float, float, float, float]] = {
    "slim": (0.0, 0.0, 0.0, 0.0),
    "jeans": (0.003, 0.002, 0.0, 0.0),
    "baggy": (0.010, 0.010, 0.6, 0.0),
    "shorts": (0.008, -1.0, 0.0, 0.0),
    "skirt_knee": (0.0, 0.0, 1.0, 0.30),
    "skirt_long": (0.0, 0.0, 1.0, 0.12),
}
#: Hair: name → (extra head size, hair mass down the back of the head/neck as a fraction of stature).
HAIR: dict[str, tuple[float, float]] = {
    "short": (0.0, 0.0),
    "medium": (0.004, 0.025),
    "long": (0.005, 0.07),
    "bun": (0.002, 0.015),
    "cap": (0.004, 0.0),
}


@dataclass(frozen=True)
class Outfit:
    """What one walk wears.

    Attributes:
        top, bottom, hair: Keys of :data:`TOPS`, :data:`BOTTOMS`, :data:`HAIR`.
        shoe: Shoe size factor (1 = the foot; trainers and boots are larger).
        hem_lag: Time constant (s) of the garment hems following the legs.
    """

    top: str
    bottom: str
    hair: str
    shoe: float
    hem_lag: float

    def __post_init__(self) -> None:
        for name, table in (("top", TOPS), ("bottom", BOTTOMS), ("hair", HAIR)):
            if getattr(self, name) not in table:
                raise ValueError(
                    f"synth: outfit {name} {getattr(self, name)!r} unknown; expected one of {sorted(table)}"
                )


def sample_outfit(rng: np.random.Generator, female: bool) -> Outfit:
    """One outfit; skirts and long hair are drawn more often for bodies of the female population."""
    tops = sorted(TOPS)
    bottoms = ["slim", "jeans", "baggy", "shorts", "skirt_knee", "skirt_long"]
    pb = np.array([0.2, 0.35, 0.3, 0.05, 0.05, 0.05]) if not female else np.array([0.25, 0.3, 0.15, 0.05, 0.15, 0.1])
    hairs = ["short", "medium", "long", "bun", "cap"]
    ph = np.array([0.6, 0.2, 0.02, 0.0, 0.18]) if not female else np.array([0.15, 0.3, 0.35, 0.15, 0.05])
    return Outfit(
        top=tops[int(rng.integers(len(tops)))],
        bottom=bottoms[int(rng.choice(len(bottoms), p=pb / pb.sum()))],
        hair=hairs[int(rng.choice(len(hairs), p=ph / ph.sum()))],
        shoe=float(rng.uniform(0.95, 1.15)),
        hem_lag=float(rng.uniform(0.04, 0.12)),
    )


def sample_wardrobe(rng: np.random.Generator, female: bool, size: int) -> tuple[Outfit, ...]:
    """``size`` outfits of one identity (the hair style is the identity's own, shared by its outfits)."""
    outfits = [sample_outfit(rng, female) for _ in range(size)]
    hair = outfits[0].hair
    return tuple(Outfit(o.top, o.bottom, hair, o.shoe, o.hem_lag) for o in outfits)


def _follow(x: np.ndarray, ref: np.ndarray, tau_frames: float) -> np.ndarray:
    """First-order lag of the points ``x`` [T,3] relative to ``ref`` [T,3] (a hem following a leg)."""
    if tau_frames <= 0.0:
        return x
    rel = x - ref
    out = np.empty_like(rel)
    a = 1.0 / (1.0 + tau_frames)
    out[0] = rel[0]
    for t in range(1, len(rel)):
        out[t] = out[t - 1] + a * (rel[t] - out[t - 1])
    return ref + out


def dressed_parts(
    body: BodyShape, skel: Skeleton, outfit: Outfit, fps: float, over_sleeve: float = 0.0, collar: float = 0.0
) -> list[Part]:
    """The dressed body as parts (names as in :func:`~gaitforge.synth.parts.body_parts`, plus garments).

    Args:
        body: The body.
        skel: Its walk.
        outfit: What it wears.
        fps: Frame rate of ``skel`` (for the hem lag).
        over_sleeve, collar: Extra arm and neck radius of a coat worn on top (metres).

    Returns:
        Parts: ``torso``, ``neck``, ``head``, per side thigh, shank, foot, upper arm, forearm, hand, and the garment
        parts ``hair``, ``l_sleeve``/``r_sleeve`` (arm-to-torso web), ``seat``, ``skirt``.
    """
    p, f = skel.points, skel.frames
    H = body.height
    pel, rp, rt = p["pelvis"], f["pelvis"], f["thorax"]
    ease, sleeve, web, top_drop = (v * (H if i != 2 else 1.0) for i, v in enumerate(TOPS[outfit.top]))
    sleeve += over_sleeve
    leg_top, leg_low, seat, hem = BOTTOMS[outfit.bottom]
    grow, hair_mass = HAIR[outfit.hair]
    skirt = hem > 0.0
    leg_top, hem = leg_top * H, hem * H
    shorts = leg_low < 0.0
    leg_low = 0.0 if shorts else leg_low * H

    def at(frame: np.ndarray, local: tuple[float, float, float]) -> np.ndarray:
        return pel + np.einsum("tij,j->ti", frame, np.asarray(local, dtype=np.float64))

    e = ease
    top_z = body.trunk - 0.02 * H - body.shoulder_drop  # shoulder joint level above the pelvis
    torso = Part(
        "torso",
        [
            ellipsoid(
                at(rp, (0.0, 0.0, -0.005 * H - 0.5 * top_drop)),
                rp,
                (body.pelvis_depth + e, body.pelvis_width + e, 0.055 * H + 0.5 * top_drop),
            ),
            ellipsoid(
                at(rt, (0.15 * body.waist_depth, 0.0, 0.10 * H)), rt, (body.waist_depth + e, body.waist_width + e, 0.0)
            ),
            ellipsoid(at(rt, (0.0, 0.0, 0.19 * H)), rt, (body.chest_depth + e, body.chest_width + e, 0.0)),
            # Sloping shoulders: the deltoid level sits at the shoulder joints, the trapezius rises to the neck.
            ellipsoid(
                at(rt, (-0.1 * body.chest_depth, 0.0, top_z)),
                rt,
                (0.8 * body.chest_depth + e, body.shoulder_half + 0.2 * body.upper_arm_r + e, 0.035 * H),
            ),
            ellipsoid(
                at(rt, (-0.15 * body.chest_depth, 0.0, body.trunk - 0.01 * H)),
                rt,
                (0.55 * body.chest_depth + e, body.neck_r + 0.35 * body.shoulder_half + e, 0.02 * H),
            ),
        ],
    )
    neck_r = 1.15 * body.neck_r + (0.004 * H if outfit.top == "hoodie" else 0.0) + collar
    head_axes = (body.head_rx + grow * H, body.head_ry + grow * H, body.head_rz + 0.6 * grow * H)
    parts = [
        torso,
        Part("neck", capsule(p["neck_base"], p["head_base"], neck_r * 1.1, neck_r)),
        Part("head", [ellipsoid(p["head"], f["head"], head_axes)]),
    ]
    if hair_mass > 0 or outfit.hair in ("bun", "cap"):
        back = -np.einsum("tij,j->ti", f["head"], np.array([0.6 * body.head_rx, 0.0, 0.0]))
        blobs = [ellipsoid(p["head"], f["head"], head_axes)]
        if hair_mass > 0:
            low = p["head_base"] + back - np.array([0.0, 0.0, hair_mass * H])
            blobs.append(ellipsoid(low, f["head"], (0.5 * body.head_rx, 0.85 * body.head_ry, 0.02 * H)))
        if outfit.hair == "bun":
            blobs.append(sphere(p["head"] + 1.3 * back + np.array([0.0, 0.0, 0.4 * body.head_rz]), 0.035 * H))
        if outfit.hair == "cap":
            visor = np.einsum("tij,j->ti", f["head"], np.array([1.1 * body.head_rx, 0.0, 0.25 * body.head_rz]))
            blobs.append(ellipsoid(p["head"] + visor, f["head"], (0.45 * body.head_rx, 0.8 * body.head_ry, 0.0)))
        parts.append(Part("hair", blobs, depth_bias=0.01))
    tau = outfit.hem_lag * fps
    for s in "lr":
        calf = p[f"{s}_knee"] + 0.3 * (p[f"{s}_ankle"] - p[f"{s}_knee"])
        knee_e = 0.5 * (leg_top + leg_low)
        shank_r = (
            [body.knee_r, body.calf_r, body.ankle_r]
            if shorts
            else [body.knee_r + knee_e, max(body.calf_r + leg_low, body.knee_r + knee_e), body.ankle_r + leg_low]
        )
        toe_frame = f[f"{s}_foot"]
        shoe = outfit.shoe
        parts += [
            Part(f"{s}_thigh", capsule(p[f"{s}_hip"], p[f"{s}_knee"], body.thigh_r + leg_top, body.knee_r + knee_e)),
            Part(
                f"{s}_shank",
                [
                    sphere(p[f"{s}_knee"], shank_r[0]),
                    sphere(calf, shank_r[1]),
                    sphere(p[f"{s}_ankle"], shank_r[2]),
                ],
            ),
            Part(
                f"{s}_foot",
                [
                    sphere(p[f"{s}_ankle"], 0.8 * body.ankle_r * shoe),
                    sphere(p[f"{s}_heel"], 0.85 * body.heel_r * shoe),
                    ellipsoid(
                        0.3 * p[f"{s}_heel"] + 0.7 * p[f"{s}_toe"],
                        toe_frame,
                        (1.2 * body.toe_r * shoe, 1.1 * body.toe_r * shoe, 0.8 * body.toe_r * shoe),
                    ),
                ],
            ),
            Part(
                f"{s}_upper_arm",
                capsule(p[f"{s}_shoulder"], p[f"{s}_elbow"], body.upper_arm_r + sleeve, body.elbow_r + sleeve),
            ),
            Part(
                f"{s}_forearm",
                capsule(p[f"{s}_elbow"], p[f"{s}_wrist"], body.elbow_r + sleeve, body.wrist_r + 0.7 * sleeve),
            ),
            Part(
                f"{s}_hand",
                capsule(p[f"{s}_wrist"], 0.5 * (p[f"{s}_wrist"] + p[f"{s}_hand"]), body.wrist_r, body.wrist_r * 1.1),
            ),
        ]
        if web > 0:
            # The fabric between arm and torso: hull of the shoulder, a point part-way down the upper arm and the
            # torso's side at chest height.
            side = 1.0 if s == "l" else -1.0
            armpit = at(rt, (0.0, side * (body.chest_width + e - 0.01 * H), 0.19 * H))
            down = p[f"{s}_shoulder"] + web * (p[f"{s}_elbow"] - p[f"{s}_shoulder"])
            parts.append(
                Part(
                    f"{s}_sleeve",
                    [sphere(p[f"{s}_shoulder"], body.upper_arm_r + sleeve), sphere(down, body.upper_arm_r + sleeve)]
                    + [sphere(armpit, 0.02 * H)],
                    depth_bias=0.005,
                )
            )
    if seat > 0 and not skirt:
        drop = seat * 0.25 * body.thigh
        blobs = [ellipsoid(at(rp, (0.0, 0.0, -0.02 * H)), rp, (body.pelvis_depth, body.pelvis_width, 0.0))]
        for s in "lr":
            blobs.append(sphere(leg_point_at_height(skel, s, drop, body.thigh, body.shank), 0.9 * body.thigh_r))
        parts.append(Part("seat", blobs, depth_bias=0.01))
    if skirt:
        drop = body.hip_height - hem
        blobs = [ellipsoid(at(rp, (0.0, 0.0, 0.0)), rp, (body.pelvis_depth + e, body.pelvis_width + e, 0.0))]
        for s in "lr":
            leg = leg_point_at_height(skel, s, drop, body.thigh, body.shank)
            r_leg = np.interp(
                drop, [0.0, body.thigh, body.thigh + body.shank], [body.thigh_r, body.knee_r, body.ankle_r]
            )
            blobs.append(sphere(_follow(leg, pel, tau), r_leg + 0.02 * H))
        parts.append(Part("skirt", blobs, depth_bias=-0.02, covers=("l_thigh", "r_thigh")))
    return parts


def coat_hem_lagged(parts: list[Part], body: BodyShape, skel: Skeleton, outfit: Outfit, fps: float) -> list[Part]:
    """The coat part of ``parts`` (if any) with its leg discs following the legs with the outfit's lag."""
    out = []
    for part in parts:
        if part.name != "coat":
            out.append(part)
            continue
        n_torso = len(part.blobs) - 2
        blobs = list(part.blobs[:n_torso]) + [
            Blob(_follow(b.centre, skel.points["pelvis"], outfit.hem_lag * fps), b.axes) for b in part.blobs[n_torso:]
        ]
        out.append(Part(part.name, blobs, part.depth_bias, part.covers))
    return out
