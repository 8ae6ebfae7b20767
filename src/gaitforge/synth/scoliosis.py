"""A scoliosis world: the mannequin world with a graded spinal-curvature covariate, in Scoliosis1K's layout.

Scoliosis1K (Zhou et al., "Gait Patterns as Biomarkers: A Video-Based Approach for Classifying Scoliosis",
MICCAI 2024) labels every subject ``positive``, ``neutral`` (borderline) or ``negative``; the label is the
sequence's type, i.e. its *condition* (``<subject>/<status>/<view>``), which is where
:class:`~gaitforge.models.sconet.ScoNet` reads it (``Batch.conditions``).

The curvature is a posture change of the walk (:func:`curve_spine`, passed to
:func:`~gaitforge.synth.world.generate_sequence` as ``posture``): with a severity ``s`` in [0, 1] and a side
(left or right) the trunk leans sideways about the pelvis (``s · max_lean_deg``; this also shifts the chest,
neck and head laterally over the pelvis), the shoulder away from the lean rises (``s · shoulder_drop_m`` on top of
what the lean gives) and the pelvis tilts the other way (``s · pelvis_tilt_deg``, the hip joints follow). The
statuses are bands of severity:
``negative`` (the everyday asymmetry everyone has), ``neutral`` (borderline) and ``positive``; within a subject the
severity varies a little from walk to walk. These are screening-like visual cues, not a biomechanical model of a
Cobb angle.

Views are ``000`` / ``180`` (walking towards / away from the camera, where a lateral lean and shoulder asymmetry
show in a silhouette; a side view would hide them) and the slight obliques ``018`` / ``162``; every view is a
different walk, so a subject has ``len(views)`` sequences.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.synth.body import BodyShape
from gaitforge.synth.config import WorldConfig
from gaitforge.synth.kinematics import Skeleton, rot_x
from gaitforge.synth.world import generate_sequence

__all__ = [
    "SCOLIOSIS_PRESETS",
    "STATUSES",
    "ScoliosisSpec",
    "ScoliosisWorld",
    "curve_spine",
    "iter_scoliosis_world",
    "make_scoliosis_world",
    "scoliosis_spec",
]

logger = logging.getLogger(__name__)

#: The Scoliosis1K statuses (ScoNet's class order).
STATUSES: tuple[str, ...] = ("negative", "neutral", "positive")

_UPPER = ("neck_base", "head_base", "head") + tuple(
    f"{s}_{j}" for s in "lr" for j in ("shoulder", "elbow", "wrist", "hand")
)
_ARM = ("shoulder", "elbow", "wrist", "hand")


@dataclass(frozen=True)
class ScoliosisSpec:
    """The curvature of one walk.

    Attributes:
        status: ``negative``, ``neutral`` or ``positive``.
        severity: In [0, 1] (0: symmetric).
        side: +1 the trunk leans to the subject's right and its left shoulder rises, -1 the mirror image.
    """

    status: str
    severity: float
    side: int


@dataclass(frozen=True)
class ScoliosisWorld:
    """A scoliosis world: a mannequin :class:`WorldConfig` (subjects, frames, seed, camera...) plus the covariate.

    Attributes:
        base: The world the walkers come from; its ``conditions`` are unused (the statuses replace them) and its
            ``views`` are the views walked (one walk each).
        status_bands: Severity range of each status.
        status_weights: Share of subjects per status (normalised), in :data:`STATUSES` order.
        walk_jitter: Standard deviation of the per-walk severity change.
        max_lean_deg: Lateral trunk lean at severity 1.
        shoulder_drop_m: Shoulder height difference at severity 1 (metres).
        pelvis_tilt_deg: Pelvic obliquity at severity 1.
    """

    base: WorldConfig
    status_bands: tuple[tuple[float, float], ...] = ((0.0, 0.2), (0.3, 0.55), (0.65, 1.0))
    status_weights: tuple[float, ...] = (1.0, 1.0, 1.0)
    walk_jitter: float = 0.04
    max_lean_deg: float = 7.0
    shoulder_drop_m: float = 0.045
    pelvis_tilt_deg: float = 4.0

    def __post_init__(self) -> None:
        if self.base.realism is not None:
            raise ValueError("synth: the scoliosis world is built on the mannequin world (base.realism must be None)")
        if len(self.status_bands) != len(STATUSES) or len(self.status_weights) != len(STATUSES):
            raise ValueError(f"synth: status_bands and status_weights need one entry per status {list(STATUSES)}")
        for name, (lo, hi) in zip(STATUSES, self.status_bands):
            if not 0.0 <= lo <= hi <= 1.0:
                raise ValueError(f"synth: status_bands[{name!r}] must satisfy 0 <= low <= high <= 1, got {(lo, hi)}")
        if any(w < 0 for w in self.status_weights) or sum(self.status_weights) <= 0:
            raise ValueError(f"synth: status_weights must be >= 0 and not all 0, got {self.status_weights}")
        for name in ("walk_jitter", "max_lean_deg", "shoulder_drop_m", "pelvis_tilt_deg"):
            if getattr(self, name) < 0:
                raise ValueError(f"synth: {name} must be >= 0, got {getattr(self, name)}")

    @property
    def name(self) -> str:
        """Store folder name."""
        return self.base.name

    @property
    def n_sequences(self) -> int:
        return self.base.n_subjects * len(self.base.views)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``world.json``)."""
        d = dataclasses.asdict(self)
        d["base"] = self.base.to_dict()
        d["status_bands"] = [list(b) for b in self.status_bands]
        d["status_weights"] = list(self.status_weights)
        d["kind"] = "scoliosis"
        return d


def subject_status(world: ScoliosisWorld, subject_index: int) -> tuple[str, float, int]:
    """A subject's status, base severity and side, from ``default_rng([seed, 40, subject_index])``."""
    rng = np.random.default_rng([world.base.seed, 40, int(subject_index)])
    w = np.asarray(world.status_weights, np.float64)
    k = int(rng.choice(len(STATUSES), p=w / w.sum()))
    lo, hi = world.status_bands[k]
    return STATUSES[k], float(rng.uniform(lo, hi)), 1 if rng.random() < 0.5 else -1


def scoliosis_spec(world: ScoliosisWorld, subject_index: int, walk: int) -> ScoliosisSpec:
    """The curvature of one walk: the subject's severity with a per-walk jitter (clipped to its status band)."""
    status, severity, side = subject_status(world, subject_index)
    lo, hi = world.status_bands[STATUSES.index(status)]
    rng = np.random.default_rng([world.base.seed, 41, int(subject_index), int(walk)])
    s = float(np.clip(severity + rng.normal(0.0, world.walk_jitter), lo, hi))
    return ScoliosisSpec(status, s, side)


def curve_spine(body: BodyShape, skel: Skeleton, spec: ScoliosisSpec, world: ScoliosisWorld) -> Skeleton:
    """The walk ``skel`` with the curvature ``spec`` (a new skeleton; ``skel`` is unchanged).

    Local axes of the ``pelvis`` / ``thorax`` frames: x forward, y to the subject's left, z up. The upper body
    (neck, head, shoulders, arms) turns with the thorax about the pelvis centre by the lean about the thorax's x
    axis; the shoulder on the raised side moves up along the thorax's z; the pelvis frame rolls the other way and
    the hip joints follow its roll.

    Args:
        body: The walker's body.
        skel: Points ``[T, 3]`` and frames ``[T, 3, 3]`` of the walk.
        spec: Severity and side.
        world: Magnitudes at severity 1.
    """
    s, side = float(spec.severity), int(spec.side)
    if s == 0.0:
        return skel
    points = {k: v.copy() for k, v in skel.points.items()}
    frames = dict(skel.frames)
    t = points["pelvis"].shape[0]
    pel = points["pelvis"]
    rt = skel.frames["thorax"]
    lean = np.full(t, side * s * np.deg2rad(world.max_lean_deg))  # + about forward (x): z tips towards -y, right
    rt_new = np.einsum("tij,tjk->tik", rt, rot_x(lean))
    turn = np.einsum("tij,tkj->tik", rt_new, rt)  # world rotation rt_new · rtᵀ
    for name in _UPPER:
        points[name] = pel + np.einsum("tij,tj->ti", turn, points[name] - pel)
    frames["thorax"] = rt_new
    frames["head"] = np.einsum("tij,tjk->tik", turn, skel.frames["head"])
    up = rt_new[:, :, 2]  # the thorax's z axis in world coordinates [T, 3]
    raised = "l" if side > 0 else "r"  # the shoulder away from the lean rises further: the shoulder line tilts more
    for joint in _ARM:
        points[f"{raised}_{joint}"] = points[f"{raised}_{joint}"] + s * world.shoulder_drop_m * up
    rp = skel.frames["pelvis"]
    tilt = np.full(t, -side * s * np.deg2rad(world.pelvis_tilt_deg))
    rp_new = np.einsum("tij,tjk->tik", rp, rot_x(tilt))
    frames["pelvis"] = rp_new
    roll = np.einsum("tij,tkj->tik", rp_new, rp)
    for name in ("l_hip", "r_hip"):
        points[name] = pel + np.einsum("tij,tj->ti", roll, points[name] - pel)
    extra = dict(skel.extra, scoliosis_severity=s, scoliosis_side=float(side))
    return dataclasses.replace(skel, points=points, frames=frames, extra=extra)


def _walk_condition(walk: int) -> str:
    return f"nm-{walk + 1:02d}"


def generate_scoliosis_sequence(world: ScoliosisWorld, subject_index: int, walk: int) -> Sequence:
    """One sequence ``<subject>/<status>/<view>`` (view ``world.base.views[walk]``), its spec in ``meta``."""
    spec = scoliosis_spec(world, subject_index, walk)
    view = world.base.views[walk]
    seq = generate_sequence(
        world.base, subject_index, _walk_condition(walk), view, posture=partial(_posture, spec=spec, world=world)
    )
    meta = dict(
        seq.meta,
        scoliosis={"status": spec.status, "severity": round(spec.severity, 4), "side": spec.side},
        walk=_walk_condition(walk),
    )
    return Sequence(seq.subject, spec.status, seq.view, seq.modalities, meta)


def _posture(body: BodyShape, skel: Skeleton, spec: ScoliosisSpec, world: ScoliosisWorld) -> Skeleton:
    return curve_spine(body, skel, spec, world)


def _subject(world: ScoliosisWorld, subject_index: int) -> list[Sequence]:
    return [generate_scoliosis_sequence(world, subject_index, w) for w in range(len(world.base.views))]


def iter_scoliosis_world(world: ScoliosisWorld, workers: int = 1) -> Iterator[Sequence]:
    """Every sequence, by subject then view (``workers`` spawned processes; the arrays do not depend on it)."""
    if workers <= 1:
        for i in range(world.base.n_subjects):
            yield from _subject(world, i)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for batch in pool.map(partial(_subject, world), range(world.base.n_subjects), chunksize=4):
            yield from batch


def make_scoliosis_world(
    world: ScoliosisWorld, out_dir: str | Path, workers: int = 1, overwrite: bool = False
) -> Path:
    """Write the world as a store ``out_dir/<name>`` with ``partition.json`` and ``world.json``.

    Raises:
        FileExistsError: The store exists and ``overwrite`` is false.
    """
    from gaitforge.data.store import StoreWriter
    from gaitforge.data.store_writer import write_json_atomic

    root = Path(out_dir) / world.name
    with StoreWriter(root, overwrite=overwrite) as writer:
        for seq in iter_scoliosis_world(world, workers):
            writer.add(seq)
    part = {"TRAIN_SET": list(world.base.train_subjects), "TEST_SET": list(world.base.test_subjects)}
    write_json_atomic(root / "partition.json", part)
    write_json_atomic(root / "world.json", world.to_dict())
    logger.info("synth: wrote %d scoliosis sequences to %s", world.n_sequences, root)
    return root


_VIEWS = ("000", "180", "018", "162")

#: Named scoliosis worlds: ``scoliosis`` (120 subjects, 60 train / 60 test, 4 walks each, 30 frames) and
#: ``scoliosis-tiny`` (tests).
SCOLIOSIS_PRESETS: dict[str, ScoliosisWorld] = {
    "scoliosis": ScoliosisWorld(
        WorldConfig(name="scoliosis", n_subjects=120, n_train=60, frames=30, conditions=("nm-01",), views=_VIEWS)
    ),
    "scoliosis-tiny": ScoliosisWorld(
        WorldConfig(name="scoliosis-tiny", n_subjects=9, n_train=6, frames=10, conditions=("nm-01",), views=_VIEWS[:2])
    ),
}


def get_scoliosis_preset(name: str, seed: int = 0) -> ScoliosisWorld:
    """A :data:`SCOLIOSIS_PRESETS` world with ``seed``.

    Raises:
        ValueError: Unknown name.
    """
    if name not in SCOLIOSIS_PRESETS:
        raise ValueError(f"synth: scoliosis preset {name!r} unknown; expected one of {sorted(SCOLIOSIS_PRESETS)}")
    w = SCOLIOSIS_PRESETS[name]
    return dataclasses.replace(w, base=dataclasses.replace(w.base, seed=seed))
