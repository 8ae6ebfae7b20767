"""Covariates: carried bags (BG) and coats (CL).

Coats widen the torso and arms and hang to a hem; the hem follows the legs (the coat is the hull of the
widened torso and a disc around each leg at hem height), so long coats hide the thighs and flare with the
stride. Bags are rounded boxes attached to the back, to a hip, or to a hand, and change how the carrying arm
swings (a hand-held load damps that arm's swing; a backpack adds forward lean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaitforge.synth.body import BodyShape
from gaitforge.synth.kinematics import CarryMods, Skeleton
from gaitforge.synth.parts import Blob, Part, Sleeves, capsule, leg_point_at_height, sphere

__all__ = [
    "BAG_KINDS",
    "COAT_KINDS",
    "Bag",
    "CoatSpec",
    "bag_parts",
    "carry_mods",
    "coat_part",
    "coat_sleeves",
]


@dataclass(frozen=True)
class CoatSpec:
    """A coat, dimensions as fractions of stature.

    Attributes:
        hem: Hem height above the floor.
        bulk: Extra torso thickness all round.
        flare: Extra radius around each leg at the hem.
        sleeve: Extra arm radius.
        collar: Extra neck radius.
    """

    hem: float
    bulk: float
    flare: float
    sleeve: float
    collar: float


#: Coat kinds: a hip-length jacket, a bulky puffer to mid-thigh, a knee-length coat, a below-knee trench coat.
COAT_KINDS: dict[str, CoatSpec] = {
    "jacket": CoatSpec(hem=0.44, bulk=0.030, flare=0.016, sleeve=0.012, collar=0.010),
    "puffer": CoatSpec(hem=0.40, bulk=0.042, flare=0.030, sleeve=0.020, collar=0.022),
    "long_coat": CoatSpec(hem=0.28, bulk=0.024, flare=0.026, sleeve=0.010, collar=0.012),
    "trench": CoatSpec(hem=0.20, bulk=0.022, flare=0.040, sleeve=0.010, collar=0.014),
}

#: Bag kinds. Half-sizes (front-back, lateral, vertical) as fractions of stature.
BAG_KINDS: dict[str, tuple[float, float, float]] = {
    "backpack": (0.045, 0.085, 0.12),
    "shoulder_bag": (0.085, 0.028, 0.075),
    "handbag": (0.075, 0.030, 0.060),
    "briefcase": (0.115, 0.025, 0.085),
}


@dataclass(frozen=True)
class Bag:
    """A carried bag: kind and carrying side (``"l"`` or ``"r"``)."""

    kind: str
    side: str

    def __post_init__(self) -> None:
        if self.kind not in BAG_KINDS:
            raise ValueError(f"synth: bag kind {self.kind!r} unknown; expected one of {sorted(BAG_KINDS)}")
        if self.side not in ("l", "r"):
            raise ValueError(f"synth: bag side must be 'l' or 'r', got {self.side!r}")


def carry_mods(bag: Bag | None, coat: str | None) -> CarryMods:
    """Arm and trunk changes for a bag and/or coat."""
    swing, abd, elbow, lean = [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], 0.0
    if bag is not None:
        i = 0 if bag.side == "l" else 1
        if bag.kind == "backpack":
            swing, lean = [0.9, 0.9], 3.0
        elif bag.kind == "shoulder_bag":
            swing[i], abd[i] = 0.7, 6.0
        elif bag.kind == "handbag":
            swing[i], abd[i], elbow[i] = 0.35, 5.0, 6.0
        else:  # briefcase
            swing[i], abd[i], elbow[i] = 0.3, 9.0, -5.0
    if coat is not None:
        bulk = COAT_KINDS[coat].bulk
        abd = [a + 150.0 * bulk for a in abd]
    return CarryMods(tuple(swing), tuple(abd), tuple(elbow), lean)  # type: ignore[arg-type]


def coat_sleeves(body: BodyShape, coat: str) -> Sleeves:
    """Extra arm and neck thickness of a coat (the torso is covered by :func:`coat_part`)."""
    spec = COAT_KINDS[coat]
    return Sleeves(torso=0.0, arms=spec.sleeve * body.height, neck=spec.collar * body.height)


def coat_part(body: BodyShape, skel: Skeleton, torso: Part, coat: str, spec: CoatSpec | None = None) -> Part:
    """The coat: the torso blobs widened by ``bulk``, hulled with a disc around each leg at the hem.

    ``spec`` replaces ``COAT_KINDS[coat]`` (the realistic world softens the coats).
    """
    spec = spec or COAT_KINDS[coat]
    H = body.height
    grow = spec.bulk * H
    blobs = []
    for b in torso.blobs:
        # Widen every semi-axis that is not flat by ``grow`` (columns of the axes matrix).
        norms = np.linalg.norm(b.axes, axis=1, keepdims=True)  # [T,1,3]
        scale = np.where(norms > 1e-9, (norms + grow) / np.maximum(norms, 1e-9), 0.0)
        blobs.append(Blob(b.centre, b.axes * scale))
    drop = body.hip_height - spec.hem * H
    for s in "lr":
        if drop <= 0:
            continue
        leg = leg_point_at_height(skel, s, drop, body.thigh, body.shank)
        r_leg = np.interp(drop, [0.0, body.thigh, body.thigh + body.shank], [body.thigh_r, body.knee_r, body.ankle_r])
        blobs.append(sphere(leg, r_leg + spec.flare * H))
    return Part("coat", blobs, depth_bias=-0.02, covers=("torso", "l_thigh", "r_thigh", "l_shank", "r_shank"))


def _box(centre: np.ndarray, frame: np.ndarray, half: np.ndarray, round_r: float) -> list[Blob]:
    """Rounded box: spheres at the 8 corners of a box with half-sizes ``half`` in ``frame`` [T,3,3]."""
    inner = np.maximum(half - round_r, 0.0)
    blobs = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            for sz in (-1, 1):
                corner = centre + np.einsum("tij,j->ti", frame, inner * np.array([sx, sy, sz]))
                blobs.append(sphere(corner, round_r))
    return blobs


def bag_parts(body: BodyShape, skel: Skeleton, bag: Bag, coat: str | None = None) -> list[Part]:
    """The bag (and its strap where one shows) as parts."""
    H = body.height
    p, f = skel.points, skel.frames
    half = np.asarray(BAG_KINDS[bag.kind]) * H
    s = 1.0 if bag.side == "l" else -1.0
    bulk = COAT_KINDS[coat].bulk * H if coat else 0.0
    pel, rt, rp = p["pelvis"], f["thorax"], f["pelvis"]
    level = np.broadcast_to(np.eye(3), rt.shape)
    if bag.kind == "backpack":
        local = np.array([-(body.chest_depth + bulk + half[0] + 0.005 * H), 0.0, 0.17 * H])
        centre = pel + np.einsum("tij,j->ti", rt, local)
        return [Part("bag", _box(centre, rt, half, 0.02 * H), depth_bias=0.0)]
    if bag.kind == "shoulder_bag":
        local = np.array([0.01 * H, s * (body.pelvis_width + bulk + half[1]), 0.03 * H])
        centre = pel + np.einsum("tij,j->ti", rp, local)
        top = centre + np.array([0.0, 0.0, half[2]])
        strap = capsule(p["l_shoulder" if s < 0 else "r_shoulder"], top, 0.007 * H, 0.007 * H)
        return [Part("bag", _box(centre, rp, half, 0.015 * H)), Part("strap", strap, depth_bias=-0.05)]
    hand = p[f"{bag.side}_hand"]
    wrist = p[f"{bag.side}_wrist"]
    grip = 0.5 * (hand + wrist)
    hang = 0.035 * H if bag.kind == "handbag" else 0.02 * H
    centre = grip - np.array([0.0, 0.0, hang + half[2]])
    handle = capsule(grip, centre + np.array([0.0, 0.0, half[2]]), 0.006 * H, 0.006 * H)
    return [Part("bag", _box(centre, level, half, 0.012 * H)), Part("strap", handle)]
