"""The realistic world: population bodies in clothes, filmed by varied cameras and cut out by an imperfect segmenter.

Enabled by :attr:`gaitforge.synth.config.WorldConfig.realism` (the ``realistic`` presets). Compared with the
mannequin world of :mod:`gaitforge.synth.world`:

* bodies come from a survey population (:mod:`gaitforge.synth.anthropometry`): sloping shoulders, thicker necks
  and limbs, sex-specific proportions; arms hang closer to the body;
* every walk wears an outfit from the identity's wardrobe (:mod:`gaitforge.synth.clothing`): loose or tight tops
  with sleeves that merge into the torso, slim or baggy trousers, skirts, shoes, hair; ``cl`` walks add a coat on
  top, ``bg`` walks a bag, and some ``nm`` walks carry a small bag too;
* each sequence has its own frame rate (7.5–30 fps), camera elevation and distance, and the walker's resolution
  (40–110 pixels tall); the camera is static along its line of sight and only pans, so walkers seen near 0° come
  closer and near 180° move away during the sequence;
* the clean render goes through :func:`gaitforge.synth.segnoise.segment_like` (smooth bumpy outlines, holes,
  halos, shadows, missing feet, merged passers-by, clutter).

Identity lives in the body and the walking style (and the hair); outfits, bags, frame rate, camera and segmenter
errors are nuisances drawn per walk or per sequence. Randomness is keyed as in :mod:`gaitforge.synth.world`,
with tags of their own (10–16), so any sequence is reproducible alone.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from gaitforge.synth.anthropometry import sample_population_body
from gaitforge.synth.body import BodyShape
from gaitforge.synth.camera import Camera
from gaitforge.synth.clothing import Outfit, coat_hem_lagged, dressed_parts, sample_wardrobe
from gaitforge.synth.config import WorldConfig, condition_code, condition_kind, parse_view
from gaitforge.synth.covariates import BAG_KINDS, COAT_KINDS, Bag, bag_parts, carry_mods, coat_part
from gaitforge.synth.estimator import joint_radii, simulate_topdown
from gaitforge.synth.kinematics import simulate_walk
from gaitforge.synth.pose import coco_joints3d, estimate_pose
from gaitforge.synth.raw import RawRender
from gaitforge.synth.segnoise import segment_like
from gaitforge.synth.style import GaitStyle, sample_style, vary_style

__all__ = ["realistic_identity", "render_realistic"]

_SMALL_BAGS = ("handbag", "shoulder_bag")


@lru_cache(maxsize=256)
def realistic_identity(
    seed: int, subject_index: int, spread: float, wardrobe: int
) -> tuple[BodyShape, GaitStyle, str, tuple[Outfit, ...]]:
    """One identity of the realistic world: body, walking style, coat kind and wardrobe."""
    body = sample_population_body(np.random.default_rng([seed, 10, subject_index]), spread)
    style = sample_style(np.random.default_rng([seed, 11, subject_index]), spread)
    # Arms hang closer to the body than the mannequin's (clothes and real posture).
    style = dataclasses.replace(style, arm_abduction=0.5 * style.arm_abduction)
    coats = sorted(COAT_KINDS)
    coat = coats[int(np.random.default_rng([seed, 12, subject_index]).integers(len(coats)))]
    clothes = sample_wardrobe(np.random.default_rng([seed, 13, subject_index]), body.female > 0.5, wardrobe)
    return body, style, coat, clothes


def render_realistic(cfg: WorldConfig, subject_index: int, condition: str, view: str):  # type: ignore[no-untyped-def]
    """One sequence of a realistic world on the raw canvas (the :class:`~gaitforge.synth.world.RawRender` of it).

    Args:
        cfg: A world with ``cfg.realism`` set.
        subject_index: 0-based identity index.
        condition: ``nm-NN``, ``bg-NN`` or ``cl-NN``.
        view: Three-digit azimuth.
    """
    rc = cfg.realism
    if rc is None:
        raise ValueError("synth: render_realistic needs cfg.realism (a RealismConfig)")
    kind = condition_kind(condition)
    code = condition_code(condition)
    azimuth = parse_view(view)
    i = int(subject_index)
    body, style, coat, clothes = realistic_identity(cfg.seed, i, cfg.identity_spread, rc.wardrobe)

    walk_rng = np.random.default_rng([cfg.seed, 14, i, code])
    seq_style, speed_factor = vary_style(style, walk_rng, cfg.sequence_noise)
    drift = (
        float(walk_rng.uniform(0.0, 2.0)) * cfg.sequence_noise,
        float(walk_rng.uniform(2.0, 6.0)),
        float(walk_rng.random()),
    )
    outfit = clothes[int(walk_rng.integers(len(clothes)))]
    bag = None
    if kind == "bg":
        kinds = sorted(BAG_KINDS)
        bag = Bag(kinds[int(walk_rng.integers(len(kinds)))], "l" if walk_rng.random() < 0.5 else "r")
    elif walk_rng.random() < rc.carry_prob:
        bag = Bag(_SMALL_BAGS[int(walk_rng.integers(2))], "l" if walk_rng.random() < 0.5 else "r")
    coat_kind = coat if kind == "cl" else None

    view_rng = np.random.default_rng([cfg.seed, 15, i, code, int(view)])
    fps = float(rc.fps[int(view_rng.integers(len(rc.fps)))])
    phase0 = float(view_rng.random())
    skel = simulate_walk(body, seq_style, cfg.frames, fps, phase0, carry_mods(bag, coat_kind), drift)
    H = body.height
    spec = COAT_KINDS[coat_kind] if coat_kind else None
    # A coat replaces the top's outline (it is worn over it): the body under it wears the tight version.
    under = dataclasses.replace(outfit, top="tight") if spec else outfit
    parts = dressed_parts(body, skel, under, fps, spec.sleeve * H if spec else 0.0, spec.collar * H if spec else 0.0)
    if coat_kind:
        # Real coats hang softer than the mannequin world's: less bulk and flare around the legs.
        soft = dataclasses.replace(spec, bulk=0.7 * spec.bulk, flare=0.5 * spec.flare)
        parts.append(coat_part(body, skel, parts[0], coat_kind, soft))
        parts = coat_hem_lagged(parts, body, skel, outfit, fps)
    if bag is not None:
        parts += bag_parts(body, skel, bag, coat_kind)

    az = azimuth + float(view_rng.normal(0.0, max(cfg.view_jitter_deg, 2.0)))
    elevation = float(view_rng.uniform(*rc.elevation_deg))
    d_mid = float(view_rng.uniform(*rc.distance_m))
    px_mid = float(view_rng.uniform(*rc.person_px))
    t = np.arange(cfg.frames) / fps
    x = skel.speed * t
    along = (x - x[len(x) // 2]) * np.cos(np.deg2rad(elevation)) * np.cos(np.deg2rad(az))
    d_mid = max(d_mid, 2.5 + float(along.max()))
    distance = d_mid - along
    px_mid = min(px_mid, 0.8 * cfg.canvas_height * float(distance.min()) / d_mid)
    focal = px_mid * d_mid / H
    target = np.stack([x, np.zeros_like(t), np.full_like(t, 0.5 * H)], -1)
    camera = Camera(az, elevation, distance[:, None], focal, cfg.canvas_width / 2.0, cfg.canvas_height / 2.0, target)
    from gaitforge.synth.render import rasterise

    labels = rasterise(parts, camera, cfg.canvas_height, cfg.canvas_width)
    clean = np.where(labels > 0, np.uint8(255), np.uint8(0))
    seg_rng = np.random.default_rng([cfg.seed, 16, i, code, int(view)])
    frames = segment_like(clean, seg_rng, rc.seg_noise, rc.neighbour_prob)
    names = [p.name for p in parts]
    joints3d = coco_joints3d(body, skel)
    est = None
    if cfg.pose_estimator == "topdown":
        est_rng = np.random.default_rng([cfg.seed, 5, i, code, int(view)])
        radii = joint_radii(body, coat_kind)
        est = simulate_topdown(joints3d, skel, camera, labels, names, frames, radii, cfg.pose_noise, est_rng)
        pose = est.keypoints
    else:
        pose = estimate_pose(joints3d, skel, camera, labels, names, cfg.pose_noise, view_rng)
    meta = {
        "generator": "gaitforge.synth",
        "world": cfg.name,
        "realism": "population-clothes-segmenter-v1",
        "seed": cfg.seed,
        "subject_index": i,
        "split": "train" if i < cfg.n_train else "test",
        "height_m": round(H, 4),
        "build": round(body.build, 4),
        "female": bool(body.female > 0.5),
        "cadence_spm": round(seq_style.cadence, 3),
        "stride_m": round(skel.stride, 4),
        "speed_mps": round(skel.speed, 4),
        "speed_factor": round(speed_factor, 4),
        "phase": round(phase0, 4),
        "outfit": dataclasses.asdict(outfit),
        "bag_kind": bag.kind if bag else None,
        "bag_side": bag.side if bag else None,
        "coat_kind": coat_kind,
        "view_deg": round(az, 3),
        "elevation_deg": round(elevation, 3),
        "distance_m": [round(float(distance[0]), 3), round(float(distance[-1]), 3)],
        "person_px": round(px_mid, 2),
        "fps": fps,
        "raw_canvas_hw": [cfg.canvas_height, cfg.canvas_width],
    }
    if cfg.pose_estimator == "topdown":
        meta["pose_estimator"] = "topdown"
    return RawRender(frames, labels, names, pose, joints3d, meta, est)
