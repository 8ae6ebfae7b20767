"""Population bodies: survey-like statistics, sex differences, sloping shoulders, determinism."""

from __future__ import annotations

import numpy as np

from gaitforge.synth.anthropometry import ANSUR_II, sample_population_body
from gaitforge.synth.body import sample_body


def _bodies(n: int = 400, spread: float = 1.0) -> list:
    return [sample_population_body(np.random.default_rng([3, i]), spread) for i in range(n)]


def test_statures_follow_the_survey_by_sex() -> None:
    bodies = _bodies()
    men = np.array([b.height for b in bodies if b.female == 0.0])
    women = np.array([b.height for b in bodies if b.female == 1.0])
    assert 120 < len(men) < 280 and 120 < len(women) < 280  # drawn 1:1
    for sample, (mean, sd) in ((men, ANSUR_II["stature"][0]), (women, ANSUR_II["stature"][1])):
        # The rendered height is re-derived from segments: it tracks the survey's stature closely.
        assert abs(sample.mean() * 1000 - mean) < 25
        assert 0.6 * sd < sample.std() * 1000 < 1.5 * sd
    assert men.mean() - women.mean() > 0.08


def test_proportions_girths_and_shoulders() -> None:
    bodies = _bodies()
    ratio = np.array([b.shoulder_half / b.pelvis_width for b in bodies])
    female = np.array([b.female for b in bodies]) == 1.0
    assert ratio[~female].mean() > ratio[female].mean()  # broader shoulders relative to hips in men
    # Shoulders slope below the mannequin's level; necks are thicker than the mannequin's (≈ 0.030 H).
    assert np.mean([b.shoulder_drop > 0 for b in bodies]) > 0.8
    assert np.mean([b.neck_r / b.height for b in bodies]) > 0.033
    # Segment lengths add up to the height and stay anatomical.
    for b in bodies[:50]:
        total = b.ankle_height + b.shank + b.thigh + b.trunk + b.neck + 2 * b.head_rz
        assert abs(total - b.height) < 1e-9
        assert 0.45 < b.hip_height / b.height < 0.56 and b.neck > 0


def test_spread_scales_variation_and_draws_are_deterministic() -> None:
    a = sample_population_body(np.random.default_rng(5))
    assert a == sample_population_body(np.random.default_rng(5))
    # Within one sex (the between-sex difference is a fact of the population, not of the spread).
    wide = np.std([b.chest_width for b in _bodies(200, 1.0) if b.female == 0.0])
    narrow = np.std([b.chest_width for b in _bodies(200, 0.3) if b.female == 0.0])
    assert narrow < 0.6 * wide
    # The mannequin sampler is untouched by the new fields (defaults).
    m = sample_body(np.random.default_rng(0))
    assert m.shoulder_drop == 0.0 and m.female == 0.0
