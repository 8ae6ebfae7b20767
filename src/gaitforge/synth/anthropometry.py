"""Population bodies: adult dimensions drawn from the summary statistics of a real anthropometric survey.

The means and standard deviations below are those of the 2012 U.S. Army Anthropometric Survey (ANSUR II:
C. C. Gordon et al., *2012 Anthropometric Survey of U.S. Army Personnel: Methods and Summary Statistics*,
NATICK/TR-15/007, 2014; 4,082 men and 1,986 women), rounded to 5 mm and transcribed from memory of its summary
tables rather than from the data files, so they are plausible population figures, not reference values. A
military population is leaner and taller than the general one; :data:`GIRTH_SHIFT` widens the girths by
about half a standard deviation to move towards a civilian street population.

A body is drawn as a sex (1 : 1) and three shared latent factors, as in principal-component analyses of body
dimensions (a size factor carrying the lengths, a girth factor carrying breadths and circumferences, a
shoulder-to-hip factor), plus a small independent part per dimension: each dimension is
``mean + sd · (a_size · z_size + a_girth · z_girth + a_shape · z_shape + a_own · e)`` with unit total variance.
The survey's dimensions map onto the mannequin's :class:`~gaitforge.synth.body.BodyShape` (half-breadths,
radii = circumference / 2π, segment lengths from the heights) so that kinematics and rendering are shared
with the mannequin world; the new ``shoulder_drop`` slopes the shoulders (cervicale height − acromial
height ≈ 90 mm in men, 75 mm in women).
"""

from __future__ import annotations

import math

import numpy as np

from gaitforge.synth.body import BodyShape

__all__ = ["ANSUR_II", "GIRTH_SHIFT", "sample_population_body"]

#: Dimension → ((male mean, male sd), (female mean, female sd)) in millimetres, and its loadings
#: (size, girth, shoulder-vs-hip) on the shared factors.
ANSUR_II: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float, float]]] = {
    "stature": ((1755.0, 70.0), (1630.0, 65.0), (1.0, 0.0, 0.0)),
    "acromial_height": ((1435.0, 65.0), (1335.0, 60.0), (0.95, 0.0, 0.0)),
    "cervicale_height": ((1525.0, 65.0), (1410.0, 60.0), (0.95, 0.0, 0.0)),
    "crotch_height": ((840.0, 45.0), (775.0, 45.0), (0.85, -0.1, 0.0)),
    "trochanter_height": ((920.0, 45.0), (855.0, 45.0), (0.85, 0.0, 0.0)),
    "biacromial_breadth": ((400.0, 19.0), (365.0, 17.0), (0.45, 0.2, 0.55)),
    "bideltoid_breadth": ((505.0, 30.0), (440.0, 28.0), (0.35, 0.7, 0.3)),
    "chest_breadth": ((325.0, 24.0), (285.0, 22.0), (0.3, 0.8, 0.2)),
    "chest_depth": ((255.0, 24.0), (240.0, 22.0), (0.2, 0.85, 0.0)),
    "waist_breadth": ((315.0, 30.0), (285.0, 28.0), (0.2, 0.9, 0.0)),
    "waist_depth": ((240.0, 33.0), (210.0, 28.0), (0.1, 0.9, 0.0)),
    "hip_breadth": ((345.0, 22.0), (360.0, 25.0), (0.35, 0.75, -0.35)),
    "buttock_depth": ((250.0, 22.0), (245.0, 25.0), (0.15, 0.85, 0.0)),
    "neck_circumference": ((400.0, 25.0), (330.0, 18.0), (0.25, 0.75, 0.3)),
    "head_breadth": ((157.0, 5.5), (149.0, 5.0), (0.35, 0.15, 0.0)),
    "head_length": ((199.0, 7.0), (189.0, 6.5), (0.4, 0.1, 0.0)),
    "head_height": ((235.0, 11.0), (220.0, 10.0), (0.4, 0.0, 0.0)),
    "foot_length": ((270.0, 13.0), (245.0, 12.0), (0.8, 0.1, 0.0)),
    "thigh_circumference": ((620.0, 45.0), (615.0, 50.0), (0.15, 0.9, -0.2)),
    "calf_circumference": ((390.0, 27.0), (370.0, 27.0), (0.2, 0.85, 0.0)),
    "biceps_circumference": ((330.0, 30.0), (285.0, 30.0), (0.15, 0.85, 0.3)),
    "forearm_circumference": ((290.0, 18.0), (245.0, 17.0), (0.2, 0.8, 0.3)),
    "upper_arm_length": ((365.0, 18.0), (335.0, 17.0), (0.85, 0.0, 0.0)),
    "forearm_length": ((270.0, 15.0), (245.0, 14.0), (0.85, 0.0, 0.0)),
    "hand_length": ((195.0, 9.0), (180.0, 9.0), (0.8, 0.0, 0.0)),
}

#: Girth shift (in standard deviations) from the survey's soldiers towards a civilian population.
GIRTH_SHIFT = 0.5


def _draw(rng: np.random.Generator, female: bool, spread: float) -> dict[str, float]:
    """One body's survey dimensions in metres (clipped at ±3 sd of the factors)."""
    z = np.clip(rng.normal(0.0, 1.0, 3), -3.0, 3.0)
    z[1] += GIRTH_SHIFT
    out = {}
    for name, (male, fem, loads) in ANSUR_II.items():
        mean, sd = fem if female else male
        a = np.asarray(loads)
        own = math.sqrt(max(0.05, 1.0 - float(a @ a)))
        e = float(np.clip(rng.normal(), -3.0, 3.0))
        out[name] = (mean + sd * spread * (float(a @ z) + own * e)) / 1000.0
    return out


def sample_population_body(rng: np.random.Generator, spread: float = 1.0) -> BodyShape:
    """Draw one identity's body from the survey population.

    Args:
        rng: Source of randomness (one per identity).
        spread: Scale of the between-identity variation (1 = the survey's standard deviations).

    Returns:
        The body (lengths and radii in metres); ``height`` is re-derived from the segments as in
        :func:`gaitforge.synth.body.sample_body`, ``female`` records the population it came from.
    """
    female = bool(rng.random() < 0.5)
    d = _draw(rng, female, spread)
    two_pi = 2.0 * math.pi
    H = d["stature"]
    ankle_height = 0.039 * H
    hip_height = d["trochanter_height"] - 0.02 * H  # hip joint centre a little below the trochanter
    shank = 0.49 * (hip_height - ankle_height) * (d["crotch_height"] / (0.478 * H))
    thigh = hip_height - ankle_height - shank
    head_rz = 0.5 * d["head_height"]
    # The neck base (top of the trunk) sits a little below the cervicale, the head's ellipsoid on a short neck.
    trunk = d["cervicale_height"] - 0.03 * H - hip_height
    neck_len = max(H - hip_height - trunk - 2 * head_rz, 0.015 * H)
    height = ankle_height + shank + thigh + trunk + neck_len + 2 * head_rz
    build = float(np.clip((d["waist_breadth"] / (0.18 * H)) ** 1.0, 0.7, 1.6))
    # Circumferences are maxima (thigh at the gluteal furrow, calf at its bulge); the tapered capsules use less.
    thigh_r = 0.76 * d["thigh_circumference"] / two_pi
    calf_r = 0.85 * d["calf_circumference"] / two_pi
    arm_r = d["biceps_circumference"] / two_pi
    forearm_r = d["forearm_circumference"] / two_pi
    shoulder_half = 0.5 * d["biacromial_breadth"] - 0.02
    # Shoulder joint centre ≈ 35 mm below the acromion; the mannequin already puts it 0.02 H below the neck base.
    drop = (d["cervicale_height"] - d["acromial_height"]) - 0.05 * H + 0.035
    return BodyShape(
        height=height,
        thigh=thigh,
        shank=shank,
        ankle_height=ankle_height,
        foot=d["foot_length"],
        trunk=trunk,
        neck=neck_len,
        upper_arm=d["upper_arm_length"] * 0.93,
        forearm=d["forearm_length"],
        hand=0.55 * d["hand_length"],
        hip_half=0.25 * d["hip_breadth"],
        shoulder_half=shoulder_half,
        pelvis_width=0.5 * d["hip_breadth"] * 0.72,
        pelvis_depth=0.5 * d["buttock_depth"] * 0.9,
        waist_width=0.5 * d["waist_breadth"],
        waist_depth=0.5 * d["waist_depth"],
        chest_width=0.5 * d["chest_breadth"],
        chest_depth=0.5 * d["chest_depth"],
        head_rx=0.5 * d["head_length"],
        head_ry=0.5 * d["head_breadth"],
        head_rz=head_rz,
        thigh_r=thigh_r,
        knee_r=0.62 * thigh_r,
        calf_r=calf_r,
        ankle_r=0.55 * calf_r,
        upper_arm_r=arm_r,
        elbow_r=0.85 * forearm_r,
        wrist_r=0.55 * forearm_r,
        neck_r=d["neck_circumference"] / two_pi,
        heel_r=0.085 * d["foot_length"],
        toe_r=0.07 * d["foot_length"],
        build=build,
        shoulder_drop=max(0.0, drop),
        female=1.0 if female else 0.0,
    )
