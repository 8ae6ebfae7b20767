"""Generating sequences of the synthetic world: one sequence, all of them in parallel, or a whole store.

Randomness is keyed, never streamed: identity ``i`` draws its body, style and coat from
``default_rng([seed, tag, i])``; one walk (subject, condition), shared by all views as in CASIA-B where the
cameras film the same walk, from ``[seed, 3, i, condition]``; and the camera, start phase, pose noise and
artefacts of one view from ``[seed, 4, i, condition, view]``; the simulated top-down estimator
(``pose_estimator="topdown"``) from ``[seed, 5, i, condition, view]``. Any sequence can therefore be made alone,
in any order, in any process, with byte-identical results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.preprocess.silhouette import pretreat_sequence
from gaitforge.synth.body import BodyShape, sample_body
from gaitforge.synth.camera import Camera
from gaitforge.synth.config import WorldConfig, condition_code, condition_kind, parse_view
from gaitforge.synth.covariates import (
    BAG_KINDS,
    COAT_KINDS,
    Bag,
    bag_parts,
    carry_mods,
    coat_part,
    coat_sleeves,
)
from gaitforge.synth.estimator import joint_radii, pretreat_heatmaps, simulate_topdown
from gaitforge.synth.kinematics import Skeleton, simulate_walk
from gaitforge.synth.parts import Sleeves, body_parts
from gaitforge.synth.pose import coco_joints3d, estimate_pose
from gaitforge.synth.raw import RawRender
from gaitforge.synth.render import add_artefacts, rasterise
from gaitforge.synth.style import GaitStyle, sample_style, vary_style

__all__ = ["RawRender", "generate_sequence", "identity", "render_raw"]

logger = logging.getLogger(__name__)

#: ``posture(body, skeleton) -> skeleton``: a change of the walk's posture (see :func:`render_raw`).
PostureFn = Callable[[BodyShape, Skeleton], Skeleton]


def _check(cfg: WorldConfig, subject_index: int, condition: str, view: str) -> None:
    if not isinstance(subject_index, (int, np.integer)) or not 0 <= subject_index < cfg.n_subjects:
        raise ValueError(
            f"synth: subject_index {subject_index!r} out of range; expected an int in [0, {cfg.n_subjects})"
        )
    condition_kind(condition)
    parse_view(view)


@lru_cache(maxsize=256)
def identity(seed: int, subject_index: int, spread: float) -> tuple[BodyShape, GaitStyle, str]:
    """One identity: body, walking style and the coat worn in every ``cl`` sequence."""
    body = sample_body(np.random.default_rng([seed, 0, subject_index]), spread)
    style = sample_style(np.random.default_rng([seed, 1, subject_index]), spread)
    coats = sorted(COAT_KINDS)
    coat = coats[int(np.random.default_rng([seed, 2, subject_index]).integers(len(coats)))]
    return body, style, coat


def render_raw(
    cfg: WorldConfig, subject_index: int, condition: str, view: str, posture: PostureFn | None = None
) -> RawRender:
    """Render one sequence on the raw canvas (no pretreatment).

    Args:
        cfg: The world.
        subject_index: 0-based identity index (subject name ``cfg.subjects[subject_index]``).
        condition: ``nm-NN``, ``bg-NN`` or ``cl-NN``.
        view: Three-digit azimuth (``"000"`` walking towards the camera, ``"090"`` side view).
        posture: Mannequin world only: ``posture(body, skeleton) -> skeleton`` reshapes the walk before the body
            is built on it (e.g. :mod:`gaitforge.synth.scoliosis`'s spinal curvature).

    Raises:
        ValueError: Index out of range or a malformed condition/view.
    """
    _check(cfg, subject_index, condition, view)
    if cfg.realism is not None:
        if posture is not None:
            raise ValueError("synth: posture changes apply to the mannequin world only (realism must be None)")
        from gaitforge.synth.realistic import render_realistic

        return render_realistic(cfg, subject_index, condition, view)  # type: ignore[no-any-return]
    kind = condition_kind(condition)
    code = condition_code(condition)
    azimuth = parse_view(view)
    body, style, coat = identity(cfg.seed, int(subject_index), cfg.identity_spread)

    walk_rng = np.random.default_rng([cfg.seed, 3, int(subject_index), code])
    seq_style, speed_factor = vary_style(style, walk_rng, cfg.sequence_noise)
    drift = (
        float(walk_rng.uniform(0.0, 2.0)) * cfg.sequence_noise,
        float(walk_rng.uniform(2.0, 6.0)),
        float(walk_rng.random()),
    )
    bag = None
    if kind == "bg":
        kinds = sorted(BAG_KINDS)
        bag = Bag(kinds[int(walk_rng.integers(len(kinds)))], "l" if walk_rng.random() < 0.5 else "r")
    coat_kind = coat if kind == "cl" else None

    view_rng = np.random.default_rng([cfg.seed, 4, int(subject_index), code, int(view)])
    phase0 = float(view_rng.random())
    skel = simulate_walk(body, seq_style, cfg.frames, cfg.fps, phase0, carry_mods(bag, coat_kind), drift)
    if posture is not None:
        skel = posture(body, skel)
    parts = body_parts(body, skel, coat_sleeves(body, coat_kind) if coat_kind else Sleeves())
    if coat_kind:
        parts.append(coat_part(body, skel, parts[0], coat_kind))
    if bag is not None:
        parts += bag_parts(body, skel, bag, coat_kind)

    az = azimuth + float(view_rng.normal(0.0, cfg.view_jitter_deg))
    elevation = cfg.camera_elevation_deg + float(view_rng.normal(0.0, 0.5))
    distance = cfg.camera_distance_m * (1.0 + float(view_rng.normal(0.0, 0.05)))
    px_per_m = 0.9 * cfg.canvas_height / 2.0 * (1.0 + float(view_rng.normal(0.0, 0.03)))
    t = np.arange(cfg.frames) / cfg.fps
    target = np.stack([skel.speed * t, np.zeros_like(t), np.full_like(t, 0.5 * body.height)], -1)
    camera = Camera(
        az, elevation, distance, px_per_m * distance, cfg.canvas_width / 2.0, cfg.canvas_height / 2.0, target
    )
    labels = rasterise(parts, camera, cfg.canvas_height, cfg.canvas_width)
    frames = np.where(labels > 0, np.uint8(255), np.uint8(0))
    if cfg.artefacts.enabled:
        frames = add_artefacts(frames, cfg.artefacts, view_rng)
    names = [p.name for p in parts]
    joints3d = coco_joints3d(body, skel)
    est = None
    if cfg.pose_estimator == "topdown":
        est_rng = np.random.default_rng([cfg.seed, 5, int(subject_index), code, int(view)])
        radii = joint_radii(body, coat_kind)
        est = simulate_topdown(joints3d, skel, camera, labels, names, frames, radii, cfg.pose_noise, est_rng)
        pose = est.keypoints
    else:
        pose = estimate_pose(joints3d, skel, camera, labels, names, cfg.pose_noise, view_rng)
    meta = {
        "generator": "gaitforge.synth",
        "world": cfg.name,
        "seed": cfg.seed,
        "subject_index": int(subject_index),
        "split": "train" if subject_index < cfg.n_train else "test",
        "height_m": round(body.height, 4),
        "build": round(body.build, 4),
        "cadence_spm": round(seq_style.cadence, 3),
        "stride_m": round(skel.stride, 4),
        "speed_mps": round(skel.speed, 4),
        "speed_factor": round(speed_factor, 4),
        "phase": round(phase0, 4),
        "bag_kind": bag.kind if bag else None,
        "bag_side": bag.side if bag else None,
        "coat_kind": coat_kind,
        "view_deg": round(az, 3),
        "elevation_deg": round(elevation, 3),
        "fps": cfg.fps,
        "raw_canvas_hw": [cfg.canvas_height, cfg.canvas_width],
    }
    if cfg.pose_estimator == "topdown":
        meta["pose_estimator"] = "topdown"
    return RawRender(frames, labels, names, pose, joints3d, meta, est)


def generate_sequence(
    cfg: WorldConfig, subject_index: int, condition: str, view: str, posture: PostureFn | None = None
) -> Sequence:
    """One sequence: ``sil`` uint8 ``[T,64,64]``, ``pose`` and ``joints3d`` float32 ``[T,17,3]`` (the default
    ``cfg.modalities``), and ``heatmap`` ``[T,17,64,48]`` (uint8 or float16) when asked for.

    The silhouettes are the raw frames passed through the field's standard pretreatment
    (:func:`gaitforge.preprocess.silhouette.pretreat_sequence`); ``pose`` keeps raw-frame pixel coordinates;
    heatmaps are normalised as ``cfg.heatmap_space`` says (:func:`gaitforge.synth.estimator.pretreat_heatmaps`).

    Args:
        cfg: The world.
        subject_index: 0-based identity index.
        condition: ``nm-NN``, ``bg-NN`` or ``cl-NN``.
        view: Three-digit azimuth.

    Raises:
        ValueError: Index out of range or a malformed condition/view.
        RuntimeError: No frame survived pretreatment (only possible with extreme artefacts).
    """
    raw = render_raw(cfg, subject_index, condition, view, posture)
    sil, kept = pretreat_sequence(raw.frames, return_kept=True)
    subject = cfg.subjects[subject_index]
    if not kept:
        raise RuntimeError(f"synth: {subject}/{condition}/{view}: no frame survived pretreatment")
    meta = dict(raw.meta, frames_dropped=cfg.frames - len(kept))
    idx = np.asarray(kept)
    modalities = {
        "sil": np.ascontiguousarray(sil, dtype=np.uint8),
        "pose": np.ascontiguousarray(raw.pose[idx]),
        "joints3d": np.ascontiguousarray(raw.joints3d[idx]),
    }
    if "heatmap" in cfg.modalities and raw.estimator is not None:
        est = raw.estimator
        modalities["heatmap"] = pretreat_heatmaps(
            est.heatmaps[idx], est.crop_affines[idx], raw.frames[idx], cfg.heatmap_space, cfg.heatmap_dtype
        )
        meta["heatmap_space"] = cfg.heatmap_space
    modalities = {k: v for k, v in modalities.items() if k in cfg.modalities}
    return Sequence(subject, condition, view, modalities, meta)
