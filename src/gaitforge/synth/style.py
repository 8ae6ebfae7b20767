"""Per-identity walking style and its per-sequence variation.

Norms: cadence ≈ 105–120 steps/min and stride ≈ 0.8 × stature at free speed; pelvic rotation ≈ ±4–5°,
obliquity ≈ ±3–5°, tilt ≈ ±2°; lateral sway ≈ ±2–3 cm (Winter 1991; Murray, Drought & Kory 1964;
Inman, Ralston & Todd, *Human Walking*, 1981); lateral trunk bending ≈ ±2–4° (Thorstensson et al. 1984).
Identities differ by amounts of the order of the between-subject standard deviations reported there;
sequences of one person differ by speed, start phase and a smaller jitter of the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gaitforge.synth.curves import TEMPLATES, Curve

__all__ = ["GaitStyle", "sample_style", "vary_style"]


@dataclass(frozen=True)
class GaitStyle:
    """One person's walk (angles in degrees, right-side curves; the left side is derived).

    Attributes:
        cadence: Steps per minute.
        stride: Stride length (two steps) as a fraction of stature.
        hip, knee, ankle, shoulder, elbow: Sagittal joint-angle curves over the right leg's cycle.
        asym_hip, asym_knee, asym_arm: Left/right amplitude ratio of the left side.
        left_phase: Left-side timing offset from half a cycle (cycles).
        pelvis_rotation, pelvis_obliquity, pelvis_tilt: Pelvis oscillation amplitudes.
        thorax_rotation: Counter-rotation of the thorax.
        trunk_roll: Lateral trunk bending towards the stance side.
        trunk_lean: Mean forward lean of the trunk.
        head_pitch: Head pitch relative to the vertical (positive = chin down).
        head_forward: Forward head posture, fraction of stature.
        arm_abduction: Mean arm abduction (arms held away from the body).
        toe_out: Foot progression angle.
        step_width: Leg abduction setting the base of support.
        bob_gain: Scale of the vertical centre-of-mass excursion implied by the legs.
        sway: Lateral pelvis sway amplitude, fraction of stature.
    """

    cadence: float
    stride: float
    hip: Curve
    knee: Curve
    ankle: Curve
    shoulder: Curve
    elbow: Curve
    asym_hip: float
    asym_knee: float
    asym_arm: float
    left_phase: float
    pelvis_rotation: float
    pelvis_obliquity: float
    pelvis_tilt: float
    thorax_rotation: float
    trunk_roll: float
    trunk_lean: float
    head_pitch: float
    head_forward: float
    arm_abduction: float
    toe_out: float
    step_width: float
    bob_gain: float
    sway: float


def _g(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> float:
    return float(np.clip(rng.normal(mean, sd), lo, hi))


def sample_style(rng: np.random.Generator, spread: float = 1.0) -> GaitStyle:
    """Draw one identity's walking style around the adult norms.

    Args:
        rng: Source of randomness (one per identity).
        spread: Scale of between-identity variation (1 = human-like amounts).
    """
    s = spread
    hip = TEMPLATES["hip"].perturbed(rng, 0.10 * s, 0.012 * s).scaled(1.0, rng.normal(0, 3.0 * s))
    knee = TEMPLATES["knee"].perturbed(rng, 0.10 * s, 0.012 * s).scaled(_g(rng, 1, 0.10 * s, 0.7, 1.3))
    ankle = TEMPLATES["ankle"].perturbed(rng, 0.15 * s, 0.015 * s).scaled(_g(rng, 1, 0.15 * s, 0.6, 1.4))
    shoulder = (
        TEMPLATES["shoulder"]
        .perturbed(rng, 0.12 * s, 0.02 * s)
        .scaled(_g(rng, 1.0, 0.4 * s, 0.25, 2.0), rng.normal(0, 4.0 * s))
    )
    elbow = (
        TEMPLATES["elbow"]
        .perturbed(rng, 0.15 * s, 0.02 * s)
        .scaled(_g(rng, 1.0, 0.3 * s, 0.3, 1.8), rng.normal(0, 10.0 * s))
    )
    return GaitStyle(
        cadence=_g(rng, 112.0, 7.0 * s, 90.0, 135.0),
        stride=_g(rng, 0.82, 0.05 * s, 0.68, 0.96),
        hip=hip,
        knee=knee,
        ankle=ankle,
        shoulder=shoulder,
        elbow=elbow,
        asym_hip=_g(rng, 1.0, 0.04 * s, 0.88, 1.12),
        asym_knee=_g(rng, 1.0, 0.05 * s, 0.85, 1.15),
        asym_arm=_g(rng, 1.0, 0.18 * s, 0.6, 1.5),
        left_phase=_g(rng, 0.0, 0.012 * s, -0.035, 0.035),
        pelvis_rotation=_g(rng, 5.0, 2.0 * s, 0.5, 11.0),
        pelvis_obliquity=_g(rng, 4.0, 1.5 * s, 0.5, 8.0),
        pelvis_tilt=_g(rng, 1.5, 0.8 * s, 0.0, 4.0),
        thorax_rotation=_g(rng, 4.0, 1.8 * s, 0.0, 10.0),
        trunk_roll=_g(rng, 2.5, 1.2 * s, 0.0, 7.0),
        trunk_lean=_g(rng, 4.0, 3.5 * s, -5.0, 14.0),
        head_pitch=_g(rng, 3.0, 5.0 * s, -10.0, 18.0),
        head_forward=_g(rng, 0.008, 0.008 * s, -0.01, 0.03),
        arm_abduction=_g(rng, 8.0, 3.0 * s, 2.0, 18.0),
        toe_out=_g(rng, 6.0, 4.0 * s, -5.0, 18.0),
        step_width=_g(rng, 1.5, 1.2 * s, -1.5, 5.0),
        bob_gain=_g(rng, 1.0, 0.15 * s, 0.6, 1.4),
        sway=_g(rng, 0.013, 0.004 * s, 0.004, 0.025),
    )


def vary_style(style: GaitStyle, rng: np.random.Generator, noise: float = 1.0) -> tuple[GaitStyle, float]:
    """One sequence's version of a style: a speed change and small jitter of every parameter.

    Faster walking raises both cadence and stride (roughly speed ∝ cadence^0.45 · stride^0.55 over
    the free-speed range), widens the arm swing and the swing-phase knee flexion.

    Args:
        style: The identity's style.
        rng: Source of randomness (one per sequence).
        noise: Scale of within-identity variation.

    Returns:
        ``(style, speed_factor)``.
    """
    n = noise
    speed = float(np.clip(rng.normal(1.0, 0.05 * n), 0.8, 1.2))
    arm = float(np.clip(rng.normal(1.0, 0.06 * n), 0.8, 1.2)) * speed**1.5
    varied = replace(
        style,
        cadence=style.cadence * speed**0.45 * (1 + rng.normal(0, 0.01 * n)),
        stride=style.stride * speed**0.55 * (1 + rng.normal(0, 0.01 * n)),
        hip=style.hip.perturbed(rng, 0.03 * n, 0.004 * n).scaled(1.0, rng.normal(0, 1.0 * n)),
        knee=style.knee.perturbed(rng, 0.03 * n, 0.004 * n).scaled(speed**0.4),
        ankle=style.ankle.perturbed(rng, 0.05 * n, 0.005 * n),
        shoulder=style.shoulder.perturbed(rng, 0.05 * n, 0.006 * n).scaled(arm, rng.normal(0, 1.5 * n)),
        elbow=style.elbow.perturbed(rng, 0.06 * n, 0.006 * n).scaled(1.0, rng.normal(0, 3.0 * n)),
        pelvis_rotation=max(0.0, style.pelvis_rotation * speed + rng.normal(0, 0.5 * n)),
        thorax_rotation=max(0.0, style.thorax_rotation + rng.normal(0, 0.5 * n)),
        trunk_roll=max(0.0, style.trunk_roll + rng.normal(0, 0.4 * n)),
        trunk_lean=style.trunk_lean + rng.normal(0, 1.0 * n) + 3.0 * (speed - 1.0),
        head_pitch=style.head_pitch + rng.normal(0, 2.0 * n),
        arm_abduction=max(0.0, style.arm_abduction + rng.normal(0, 1.0 * n)),
        toe_out=style.toe_out + rng.normal(0, 1.0 * n),
        bob_gain=style.bob_gain * (1 + rng.normal(0, 0.04 * n)),
        sway=style.sway * (1 + rng.normal(0, 0.08 * n)),
    )
    return varied, speed
