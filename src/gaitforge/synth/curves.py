"""Smooth periodic joint-angle curves: a mean plus a few Fourier harmonics over the gait cycle.

The normative sagittal-plane templates (degrees, 0 % = right heel strike) follow the adult free-speed
averages of D. A. Winter, *The Biomechanics and Motor Control of Human Gait* (2nd ed., 1991) and
*Biomechanics and Motor Control of Human Movement* (4th ed., 2009, ch. 4): hip ≈ 25° flexion at heel strike,
≈ 10° extension near 50 %, ≈ 30° flexion in late swing; knee ≈ 18° loading-response flexion at 15 %,
≈ 60° peak swing flexion near 72 %; ankle ≈ 10° dorsiflexion near 45 % and ≈ 15° plantarflexion at toe-off.
Arm swing (shoulder ±15°, elbow 10–35°) follows M. P. Murray, A. B. Drought and R. C. Kory,
"Walking patterns of normal men" (J. Bone Joint Surg. 46-A, 1964) and Murray, Sepic & Barnard (1967).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["N_HARMONICS", "TEMPLATES", "Curve", "fit_curve"]

#: Harmonics kept per curve.
N_HARMONICS = 5


@dataclass(frozen=True)
class Curve:
    """``f(φ) = mean + Σ_k Re(c_k · exp(2πi k φ))`` for phase ``φ`` in cycles.

    Attributes:
        mean: Constant term (degrees).
        coefs: Complex harmonic coefficients ``c_1..c_K``.
    """

    mean: float
    coefs: tuple[complex, ...]

    def __call__(self, phase: np.ndarray) -> np.ndarray:
        """Evaluate at ``phase`` (any shape, in cycles); returns degrees of the same shape."""
        phase = np.asarray(phase, dtype=np.float64)
        out = np.full(phase.shape, self.mean)
        for k, c in enumerate(self.coefs, start=1):
            w = 2.0 * np.pi * k * phase
            out += c.real * np.cos(w) - c.imag * np.sin(w)
        return out

    def scaled(self, gain: float, offset: float = 0.0) -> Curve:
        """Oscillation multiplied by ``gain``, mean shifted by ``offset``."""
        return Curve(self.mean + offset, tuple(c * gain for c in self.coefs))

    def perturbed(self, rng: np.random.Generator, rel: float, phase_sd: float) -> Curve:
        """Each harmonic's magnitude jittered by ``N(0, rel)`` (relative) and its timing by ``N(0, phase_sd)`` cycles.

        The timing shift of harmonic ``k`` is ``k`` times the shift in cycles, so a common
        ``phase_sd`` moves the whole curve's features together with some independent wobble.
        """
        shift = rng.normal(0.0, phase_sd)
        out = []
        for k, c in enumerate(self.coefs, start=1):
            gain = 1.0 + float(np.clip(rng.normal(0.0, rel), -2.5 * rel, 2.5 * rel))
            dphi = 2.0 * np.pi * k * (shift + rng.normal(0.0, phase_sd * 0.5))
            out.append(c * gain * np.exp(1j * dphi))
        return Curve(self.mean, tuple(out))


def fit_curve(points: list[tuple[float, float]], n_harmonics: int = N_HARMONICS) -> Curve:
    """Fourier fit of a periodic curve given as ``(percent of cycle, degrees)`` key points.

    Args:
        points: Key points with percent in [0, 100); the curve wraps from 100 back to 0.
        n_harmonics: Harmonics kept.
    """
    x = np.array([p for p, _ in points], dtype=np.float64) / 100.0
    y = np.array([v for _, v in points], dtype=np.float64)
    n = 256
    grid = np.arange(n) / n
    dense = np.interp(grid, x, y, period=1.0)
    spec = np.fft.rfft(dense) / n
    coefs = tuple(complex(2.0 * spec[k]) for k in range(1, n_harmonics + 1))
    return Curve(float(spec[0].real), coefs)


#: Normative right-side curves (degrees; flexion / dorsiflexion positive), keyed by joint.
TEMPLATES: dict[str, Curve] = {
    "hip": fit_curve(
        [
            (0, 25),
            (10, 22),
            (20, 14),
            (30, 6),
            (40, -3),
            (50, -9),
            (56, -10),
            (62, -4),
            (68, 6),
            (75, 18),
            (82, 27),
            (88, 30),
            (94, 28),
        ]
    ),
    "knee": fit_curve(
        [
            (0, 4),
            (6, 12),
            (15, 18),
            (25, 13),
            (35, 6),
            (42, 4),
            (50, 9),
            (56, 20),
            (62, 38),
            (68, 55),
            (73, 61),
            (79, 56),
            (85, 40),
            (90, 22),
            (95, 8),
        ]
    ),
    "ankle": fit_curve(
        [
            (0, 0),
            (7, -6),
            (15, 0),
            (30, 6),
            (45, 10),
            (52, 7),
            (57, 0),
            (62, -15),
            (67, -12),
            (75, -3),
            (85, 1),
        ]
    ),
    "shoulder": fit_curve([(0, -16), (25, -3), (50, 14), (75, 1)]),
    "elbow": fit_curve([(0, 12), (25, 20), (50, 34), (75, 22)]),
}
