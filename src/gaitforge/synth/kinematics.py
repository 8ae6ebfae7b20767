"""Forward kinematics of a walking body: joint-angle curves → 3D joint positions over time.

World frame: ``x`` is the walking direction, ``y`` points to the walker's left, ``z`` up, floor at ``z = 0``.
The pelvis height follows from the legs (the lowest point of either foot touches the floor), scaled by the
style's ``bob_gain``; the forward speed is the stride length over the cycle time, with the stride obtained by
scaling the hip-flexion oscillation so that the stance foot's backward travel matches the style's stride
(no foot sliding on average).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaitforge.synth.body import BodyShape
from gaitforge.synth.style import GaitStyle

__all__ = ["CarryMods", "Skeleton", "rot_x", "rot_y", "rot_z", "simulate_walk"]

_D = np.pi / 180.0


def rot_x(a: np.ndarray) -> np.ndarray:
    """Rotations about ``x`` by angles ``a`` [T] (radians) → [T,3,3]."""
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(a: np.ndarray) -> np.ndarray:
    """Rotations about ``y`` [T,3,3]; positive tips ``+z`` towards ``+x`` (forward lean)."""
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(a: np.ndarray) -> np.ndarray:
    """Rotations about ``z`` [T,3,3]; positive turns ``+x`` towards ``+y`` (to the left)."""
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _apply(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``r`` [T,3,3] applied to ``v`` [T,3] or [3]."""
    return np.einsum("tij,tj->ti", r, np.broadcast_to(v, (r.shape[0], 3)))


def _limb(angle: np.ndarray, abduction: float, side: float, yaw: np.ndarray) -> np.ndarray:
    """Unit direction [T,3] of a limb hanging down, swung forward by ``angle`` [T] (radians) in the sagittal
    plane and outwards by ``abduction`` (towards ``+y`` for ``side = +1``, the left), then turned by ``yaw`` [T,3,3]."""
    c = np.cos(abduction)
    d = np.stack([np.sin(angle) * c, np.full(angle.shape, side * np.sin(abduction)), -np.cos(angle) * c], -1)
    return _apply(yaw, d)


@dataclass(frozen=True)
class CarryMods:
    """How a carried object changes the arms and trunk (left, right).

    Attributes:
        arm_swing: Multiplier of each arm's swing.
        arm_abduction: Extra abduction (degrees).
        elbow: Extra elbow flexion (degrees).
        lean: Extra forward trunk lean (degrees).
    """

    arm_swing: tuple[float, float] = (1.0, 1.0)
    arm_abduction: tuple[float, float] = (0.0, 0.0)
    elbow: tuple[float, float] = (0.0, 0.0)
    lean: float = 0.0


@dataclass
class Skeleton:
    """A walk in world coordinates.

    Attributes:
        points: Named positions [T,3] (metres): ``pelvis``, ``neck_base``, ``head_base``, ``head``, and per side
            (``l_``/``r_``) ``hip``, ``knee``, ``ankle``, ``heel``, ``toe``, ``shoulder``, ``elbow``, ``wrist``,
            ``hand``.
        frames: Named orientations [T,3,3] (columns = local x, y, z axes): ``pelvis``, ``thorax``, ``head``,
            ``l_foot``, ``r_foot``.
        speed: Mean forward speed (m/s).
        stride: Stride length (m).
        cycle_s: Gait cycle duration (s).
    """

    points: dict[str, np.ndarray]
    frames: dict[str, np.ndarray]
    speed: float
    stride: float
    cycle_s: float
    extra: dict[str, float] = field(default_factory=dict)


def _legs(body: BodyShape, style: GaitStyle, phase: np.ndarray, hip_gain: float) -> dict[str, np.ndarray]:
    """Leg points relative to the pelvis centre (pelvis yaw/roll/tilt applied) for right-leg phases [T]."""
    out: dict[str, np.ndarray] = {}
    yaw = style.pelvis_rotation * np.cos(2 * np.pi * phase) * _D
    roll = -style.pelvis_obliquity * np.cos(2 * np.pi * (phase - 0.17)) * _D
    tilt = style.pelvis_tilt * np.cos(4 * np.pi * (phase - 0.1)) * _D
    rp = rot_z(yaw) @ rot_y(tilt) @ rot_x(roll)
    out["R_pelvis"] = rp
    for side, s, ph, ah, ak in (
        ("l", 1.0, phase + 0.5 + style.left_phase, style.asym_hip, style.asym_knee),
        ("r", -1.0, phase, 1.0, 1.0),
    ):
        hip_c = style.hip.scaled(hip_gain * ah)
        th = hip_c(ph) * _D
        kn = style.knee.scaled(ak)(ph) * _D
        an = style.ankle(ph) * _D
        ab = style.step_width * _D
        leg_yaw = rot_z(0.6 * yaw)
        hip = _apply(rp, np.array([0.0, s * body.hip_half, 0.0]))

        knee = hip + body.thigh * _limb(th, ab, s, leg_yaw)
        ankle = knee + body.shank * _limb(th - kn, ab, s, leg_yaw)
        pitch = th - kn + an  # foot pitch, toes up positive
        rf = rot_z(0.6 * yaw + s * style.toe_out * _D) @ rot_y(-pitch)
        heel = ankle + _apply(rf, np.array([-0.20 * body.foot, 0.0, -(body.ankle_height - body.heel_r)]))
        toe = ankle + _apply(rf, np.array([0.72 * body.foot, 0.0, -(body.ankle_height - body.toe_r)]))
        out.update(
            {
                f"{side}_hip": hip,
                f"{side}_knee": knee,
                f"{side}_ankle": ankle,
                f"{side}_heel": heel,
                f"{side}_toe": toe,
                f"R_{side}_foot": rf,
            }
        )
    low = np.minimum.reduce(
        [out[f"{k}_heel"][:, 2] - body.heel_r for k in "lr"] + [out[f"{k}_toe"][:, 2] - body.toe_r for k in "lr"]
    )
    out["height"] = -low  # pelvis height that puts the lowest sole point on the floor
    return out


def _stride(body: BodyShape, style: GaitStyle, hip_gain: float) -> tuple[float, float]:
    """(stride length, mean pelvis height) for a hip-oscillation gain, from one dense cycle."""
    ph = np.arange(64) / 64.0
    legs = _legs(body, style, np.concatenate([ph, [0.0, 0.5]]), hip_gain)
    ankle_x = legs["r_ankle"][:, 0]
    step = ankle_x[-2] - ankle_x[-1]  # right foot planted from its heel strike to the left heel strike
    return 2.0 * float(step), float(legs["height"][:64].mean())


def simulate_walk(
    body: BodyShape,
    style: GaitStyle,
    n_frames: int,
    fps: float,
    phase0: float,
    carry: CarryMods | None = None,
    drift: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Skeleton:
    """Joint positions of ``n_frames`` frames of a straight walk along ``+x``.

    Args:
        body: The body.
        style: The (sequence's) walking style.
        n_frames: Frame count ``T``.
        fps: Frame rate.
        phase0: Right-leg gait phase (cycles) at the first frame.
        carry: Arm/trunk changes caused by a carried object.
        drift: Slow non-periodic wander ``(amplitude deg, period s, phase)`` added to trunk lean and arm swing.

    Returns:
        The :class:`Skeleton` with every point [T,3].
    """
    carry = carry or CarryMods()
    target = style.stride * body.height
    gain = 1.0
    for _ in range(3):  # the stride is nearly proportional to the hip gain: a few fixed-point steps suffice
        stride, mean_h = _stride(body, style, gain)
        gain = float(np.clip(gain * target / max(stride, 1e-3), 0.4, 2.0))
    stride, mean_h = _stride(body, style, gain)
    cycle = 120.0 / style.cadence
    speed = stride / cycle
    t = np.arange(n_frames) / fps
    phase = phase0 + t / cycle
    legs = _legs(body, style, phase, gain)
    amp, period, dphase = drift
    wander = amp * np.sin(2 * np.pi * (t / max(period, 1e-3) + dphase))

    pelvis = np.stack(
        [
            speed * t,
            -style.sway * body.height * np.sin(2 * np.pi * (phase - 0.03)),
            mean_h + style.bob_gain * (legs["height"] - mean_h),
        ],
        -1,
    )
    pts = {k: v + pelvis for k, v in legs.items() if k[:2] in ("l_", "r_")}
    pts["pelvis"] = pelvis
    frames = {"pelvis": legs["R_pelvis"], "l_foot": legs["R_l_foot"], "r_foot": legs["R_r_foot"]}

    yaw_t = -style.thorax_rotation * np.cos(2 * np.pi * phase) * _D
    lean = (style.trunk_lean + carry.lean + 1.0 * np.cos(4 * np.pi * (phase - 0.05)) + 0.5 * wander) * _D
    roll_t = style.trunk_roll * np.sin(2 * np.pi * phase) * _D  # towards the stance side
    rt = rot_z(yaw_t) @ rot_y(lean) @ rot_x(roll_t)
    frames["thorax"] = rt
    neck_base = pelvis + _apply(rt, np.array([0.0, 0.0, body.trunk]))
    rh = rot_z(0.3 * yaw_t) @ rot_y(style.head_pitch * _D + 0.3 * lean)
    frames["head"] = rh
    head_base = neck_base + _apply(rot_y(0.5 * lean), np.array([style.head_forward * body.height, 0.0, body.neck]))
    pts["neck_base"] = neck_base
    pts["head_base"] = head_base
    pts["head"] = head_base + _apply(rh, np.array([0.1 * body.head_rx, 0.0, body.head_rz]))

    arm_yaw = rot_z(yaw_t)
    for i, (side, s, ph, asym) in enumerate(
        (
            ("l", 1.0, phase + 0.5 + style.left_phase, style.asym_arm),
            ("r", -1.0, phase, 1.0),
        )
    ):
        swing = asym * carry.arm_swing[i]
        flex = (style.shoulder.scaled(swing)(ph) + 0.6 * wander) * _D
        elbow_flex = np.maximum(style.elbow(ph) + carry.elbow[i], 0.0) * _D
        ab = (style.arm_abduction + carry.arm_abduction[i] + 25.0 * (body.build - 1.0)) * _D
        shoulder = pelvis + _apply(
            rt,
            np.array(
                [-0.1 * body.chest_depth, s * body.shoulder_half, body.trunk - 0.02 * body.height - body.shoulder_drop]
            ),
        )
        elbow = shoulder + body.upper_arm * _limb(flex, ab, s, arm_yaw)
        wrist = elbow + body.forearm * _limb(flex + elbow_flex, 0.6 * ab, s, arm_yaw)
        hand = wrist + body.hand * _limb(flex + elbow_flex + 10 * _D, 0.6 * ab, s, arm_yaw)
        pts.update(
            {
                f"{side}_shoulder": shoulder,
                f"{side}_elbow": elbow,
                f"{side}_wrist": wrist,
                f"{side}_hand": hand,
            }
        )
    return Skeleton(points=pts, frames=frames, speed=speed, stride=stride, cycle_s=cycle, extra={"hip_gain": gain})
