"""Per-identity 3D body: stature, segment proportions, girths and head size.

Segment lengths are fractions of stature ``H`` taken from the anthropometric table of Drillis & Contini (1966)
as reproduced in D. A. Winter, *Biomechanics and Motor Control of Human Movement* (4th ed., 2009, Fig. 4.1):
hip (greater trochanter) at 0.530 H, knee 0.285 H, ankle 0.039 H, shoulder 0.818 H, chin 0.870 H; upper arm 0.186 H,
forearm 0.146 H, hand 0.108 H, foot length 0.152 H, shoulder breadth 0.259 H, hip breadth 0.191 H.
Girths are radii as fractions of ``H`` chosen to match typical adult circumferences (thigh ≈ 55 cm,
calf ≈ 37 cm, upper arm ≈ 30 cm at 1.75 m). Identities vary around these norms by a few percent in
proportion and ≈ 16 % in girth ("build"), with a continuous sex-like axis that trades shoulder for hip breadth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BodyShape", "sample_body"]


@dataclass(frozen=True)
class BodyShape:
    """One identity's body, lengths and radii in metres.

    Attributes:
        height: Standing height (floor to vertex).
        thigh, shank: Hip-to-knee and knee-to-ankle lengths.
        ankle_height: Ankle centre above the sole.
        foot: Heel-to-toe length.
        trunk: Hip-joint level to shoulder-joint level.
        neck: Shoulder-joint level to the base of the head.
        upper_arm, forearm, hand: Arm segment lengths.
        hip_half: Half the distance between the hip joint centres.
        shoulder_half: Half the distance between the shoulder joint centres.
        pelvis_width, pelvis_depth: Half-breadths of the pelvis block (lateral, front-back).
        waist_width, waist_depth, chest_width, chest_depth: Half-breadths of the torso cross-sections.
        head_rx, head_ry, head_rz: Head ellipsoid semi-axes (front-back, lateral, vertical).
        thigh_r, knee_r, calf_r, ankle_r: Leg radii (hip end of thigh, knee, upper calf, ankle).
        upper_arm_r, elbow_r, wrist_r, neck_r: Arm and neck radii.
        heel_r, toe_r: Foot radii at heel and toes.
        build: Girth factor of this identity (1 = average).
        shoulder_drop: How far the shoulder joints sit below the mannequin's level (sloping shoulders; 0 in the
            mannequin world, drawn by :func:`gaitforge.synth.anthropometry.sample_population_body`).
        female: 1.0 for a body drawn from the female population, 0.0 otherwise (the mannequin world: 0).
    """

    height: float
    thigh: float
    shank: float
    ankle_height: float
    foot: float
    trunk: float
    neck: float
    upper_arm: float
    forearm: float
    hand: float
    hip_half: float
    shoulder_half: float
    pelvis_width: float
    pelvis_depth: float
    waist_width: float
    waist_depth: float
    chest_width: float
    chest_depth: float
    head_rx: float
    head_ry: float
    head_rz: float
    thigh_r: float
    knee_r: float
    calf_r: float
    ankle_r: float
    upper_arm_r: float
    elbow_r: float
    wrist_r: float
    neck_r: float
    heel_r: float
    toe_r: float
    build: float
    shoulder_drop: float = 0.0
    female: float = 0.0

    @property
    def hip_height(self) -> float:
        """Hip joint centre above the floor when standing."""
        return self.ankle_height + self.shank + self.thigh


def _n(rng: np.random.Generator, sd: float, spread: float, clip: float = 3.0) -> float:
    """A factor ``1 + e`` with ``e ~ N(0, sd·spread)`` clipped at ``clip`` standard deviations."""
    s = sd * spread
    return 1.0 + float(np.clip(rng.normal(0.0, 1.0), -clip, clip)) * s


def sample_body(rng: np.random.Generator, spread: float = 1.0) -> BodyShape:
    """Draw one identity's body.

    Args:
        rng: Source of randomness (one per identity).
        spread: Scale of the between-identity variation (1 = human-like amounts).

    Returns:
        The body; ``height`` is the sum of the sampled vertical segments.
    """
    stature = 1.70 * _n(rng, 0.05, spread)  # ≈ 8.5 cm standard deviation
    sex = float(np.clip(rng.normal(0.0, 0.6), -1.0, 1.0)) * spread  # + broad shoulders, - broad hips
    build = float(np.clip(np.exp(rng.normal(0.0, 0.16 * spread)), 0.72, 1.45))
    belly = build**1.8 * _n(rng, 0.06, spread)  # front-back waist grows faster with build
    leg = _n(rng, 0.03, spread)
    arm = _n(rng, 0.03, spread)
    head = _n(rng, 0.05, spread)

    def local(sd: float) -> float:
        # Segment-level noise on top of the shared factors stays small: body dimensions are strongly
        # correlated (a few principal components carry most of their variance).
        return _n(rng, 0.5 * sd, spread)

    g = build
    H = stature
    shank = 0.246 * H * leg * local(0.02)
    thigh = 0.245 * H * leg * local(0.02)
    ankle_height = 0.039 * H
    trunk = 0.288 * H * local(0.05)
    head_rz = 0.066 * H * head
    neck = 0.052 * H * local(0.12)
    # Vertex = hip + trunk + neck + head height (≈ 0.13 H): the sampled stature is re-derived from the segments.
    height = ankle_height + shank + thigh + trunk + neck + 2 * head_rz
    return BodyShape(
        height=height,
        thigh=thigh,
        shank=shank,
        ankle_height=ankle_height,
        foot=0.152 * H * local(0.06),
        trunk=trunk,
        neck=neck,
        upper_arm=0.186 * H * arm * local(0.02),
        forearm=0.146 * H * arm * local(0.02),
        hand=0.100 * H * local(0.06),
        hip_half=0.050 * H * (1.0 - 0.06 * sex) * local(0.06),
        shoulder_half=0.110 * H * (1.0 + 0.07 * sex) * local(0.06),
        pelvis_width=0.094 * H * (1.0 - 0.07 * sex) * g**0.8 * local(0.06),
        pelvis_depth=0.062 * H * g**0.9 * local(0.06),
        waist_width=0.082 * H * g * local(0.06),
        waist_depth=0.058 * H * belly,
        chest_width=0.096 * H * (1.0 + 0.05 * sex) * g**0.8 * local(0.05),
        chest_depth=0.064 * H * g * local(0.06),
        head_rx=0.057 * H * head * local(0.05),
        head_ry=0.046 * H * head * local(0.05),
        head_rz=head_rz,
        thigh_r=0.048 * H * g * local(0.08),
        knee_r=0.029 * H * g**0.6 * local(0.06),
        calf_r=0.033 * H * g**0.8 * local(0.08),
        ankle_r=0.019 * H * local(0.06),
        upper_arm_r=0.026 * H * g * local(0.08),
        elbow_r=0.019 * H * g**0.7 * local(0.06),
        wrist_r=0.014 * H * local(0.06),
        neck_r=0.030 * H * g**0.7 * local(0.06),
        heel_r=0.022 * H,
        toe_r=0.017 * H,
        build=build,
    )
