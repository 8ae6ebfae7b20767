"""Joint-angle curves, body and style sampling, and forward kinematics of the walk."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.synth.body import sample_body
from gaitforge.synth.curves import TEMPLATES, Curve, fit_curve
from gaitforge.synth.kinematics import CarryMods, Skeleton, rot_x, rot_y, rot_z, simulate_walk
from gaitforge.synth.style import sample_style, vary_style


def test_fit_curve_recovers_a_sinusoid_and_templates_match_winter_norms() -> None:
    pts = [(p, 10 + 20 * np.cos(2 * np.pi * (p / 100 - 0.1))) for p in range(0, 100, 2)]
    c = fit_curve(pts)
    ph = np.linspace(0, 1, 50, endpoint=False)
    assert np.allclose(c(ph), 10 + 20 * np.cos(2 * np.pi * (ph - 0.1)), atol=0.3)
    knee, hip = TEMPLATES["knee"](ph), TEMPLATES["hip"](ph)
    assert 55 < knee.max() < 66 and 0.62 < ph[knee.argmax()] < 0.78  # peak swing flexion
    assert 25 < hip.max() < 33 and -13 < hip.min() < -6  # flexion at heel strike / late swing, extension near 50 %
    assert Curve(1.0, (2j,)).scaled(0.5, 1.0)(np.array([0.25]))[0] == pytest.approx(2.0 - 1.0)  # Re(j·2j)/2 = -1


def test_rotations_follow_the_stated_conventions() -> None:
    a = np.array([np.pi / 2])
    assert np.allclose(rot_z(a)[0] @ [1, 0, 0], [0, 1, 0])  # +x turns to the left (+y)
    assert np.allclose(rot_y(a)[0] @ [0, 0, 1], [1, 0, 0])  # +z tips forward
    assert np.allclose(rot_x(a)[0] @ [0, 1, 0], [0, 0, 1])  # left side up


def test_bodies_and_styles_vary_by_human_amounts() -> None:
    bodies = [sample_body(np.random.default_rng(i)) for i in range(200)]
    h = np.array([b.height for b in bodies])
    assert 1.62 < h.mean() < 1.78 and 0.05 < h.std() < 0.12 and h.min() > 1.4 and h.max() < 2.05
    legs = np.array([b.hip_height / b.height for b in bodies])
    assert 0.50 < legs.mean() < 0.56 and legs.std() < 0.03
    styles = [sample_style(np.random.default_rng(i)) for i in range(200)]
    cad = np.array([s.cadence for s in styles])
    assert 105 < cad.mean() < 119 and 4 < cad.std() < 10
    flat = sample_body(np.random.default_rng(0), spread=0.0)
    assert flat == sample_body(np.random.default_rng(1), spread=0.0)  # no spread: the norm itself


def test_walk_keeps_feet_on_the_floor_and_matches_the_stride() -> None:
    body = sample_body(np.random.default_rng(4))
    style = sample_style(np.random.default_rng(5))
    fps = 100.0
    sk = simulate_walk(body, style, n_frames=400, fps=fps, phase0=0.0)
    p = sk.points
    assert sk.stride == pytest.approx(style.stride * body.height, rel=0.05)
    assert sk.speed == pytest.approx(sk.stride * style.cadence / 120, rel=1e-6)
    soles = np.minimum.reduce(
        [
            p["l_heel"][:, 2] - body.heel_r,
            p["r_heel"][:, 2] - body.heel_r,
            p["l_toe"][:, 2] - body.toe_r,
            p["r_toe"][:, 2] - body.toe_r,
        ]
    )
    assert np.abs(soles).max() < 0.03 * body.height  # only the bob gain lifts or sinks the body a little
    # The stance ankle barely slides: in the first 30 % of the right leg's cycle it moves < 10 % of a stride.
    cycle_frames = int(sk.cycle_s * fps)
    stance = p["r_ankle"][: int(0.3 * cycle_frames), 0]
    assert np.ptp(stance) < 0.1 * sk.stride
    # Vertical bob twice per cycle, a few centimetres.
    z = p["pelvis"][:, 2]
    assert 0.01 < np.ptp(z) < 0.12
    # Arms swing opposite to the legs: right wrist ahead when the left ankle is ahead.
    lead_leg = p["l_ankle"][:, 0] - p["r_ankle"][:, 0]
    lead_arm = p["r_wrist"][:, 0] - p["l_wrist"][:, 0]
    assert np.corrcoef(lead_leg, lead_arm)[0, 1] > 0.5


def test_sequence_variation_and_carry_mods() -> None:
    body = sample_body(np.random.default_rng(1))
    style = sample_style(np.random.default_rng(2))
    a, sa = vary_style(style, np.random.default_rng(3))
    b, sb = vary_style(style, np.random.default_rng(4))
    assert sa != sb and a.cadence != b.cadence and 0.8 <= sa <= 1.2
    free = simulate_walk(body, style, 60, 25.0, 0.3)
    held = simulate_walk(body, style, 60, 25.0, 0.3, CarryMods(arm_swing=(1.0, 0.2)))

    def swing(sk: Skeleton, s: str) -> float:
        return float(np.ptp(sk.points[f"{s}_wrist"][:, 0] - sk.points["pelvis"][:, 0]))

    assert swing(held, "r") < 0.5 * swing(free, "r")
    assert swing(held, "l") == pytest.approx(swing(free, "l"))
