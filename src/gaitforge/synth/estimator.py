"""A simulated top-down pose estimator: per-joint heatmaps and keypoints with the errors real estimators make.

This is a *model of estimator behaviour*, not an estimator: it knows the rendered body (joint positions, limb
radii, which part is visible at every pixel, the coat and bag) and produces what an HRNet / ViTPose-style
top-down network (Sun et al., CVPR 2019; Xu et al., NeurIPS 2022) outputs for such a person:

1. **Detector box and crop.** The person box is the foreground's bounding box with per-edge noise
   (``box_jitter`` × box height); it is grown to the 3:4 crop aspect and enlarged ×``crop_scale`` (1.25), and the
   256×192 crop is mapped to a 64×48 heatmap grid (:func:`gaitforge.preprocess.heatmaps.box_to_crop_affine`).
2. **Keypoint jitter.** Each joint's position gets noise of standard deviation ``pose_noise`` × person height,
   correlated between frames (AR(1), ``jitter_corr``) and ``occluded_jitter`` times larger when the joint is
   not visible.
3. **Blob shape follows the body.** A joint's heatmap is an anisotropic Gaussian: across the limb its spread is
   ``sqrt(sigma² + (width_gain · r)²)`` with ``r`` the projected limb radius at the joint (clothing included:
   sleeves, coat bulk, coat flare), along the limb ``elongation`` times that. A faint response (``tail`` × peak)
   runs along the adjacent limb segments for ``tail_reach`` of their length with the same width: heatmaps carry a
   rough limb shape, which coordinates do not.
4. **Visibility lowers and spreads the peak.** Peak ``peak`` (± ``peak_sd``) when the joint's own part is the
   visible surface at its pixel; ×``occluded_peak`` when another body part covers it (the far leg in a side
   view), ×``covered_peak`` when a coat or bag covers it; face points ×``face_away_peak`` when the face looks away.
   Hidden joints spread ×``occluded_spread``.
5. **Left/right ambiguity: second modes and swaps.** For each left/right pair, ambiguity
   ``a = exp(−(d / (swap_distance · height))²)`` grows as the two joints overlap in the image (legs crossing in
   side views). Pairs swap (the main mode moves to the counterpart) with probability ``swap_rate · a`` per
   frame; a swap persists with probability ``swap_persistence``. Back views also flip the whole body (the
   network takes the back for a front) with probability ``back_flip · b``, ``b = max(0, −cos azimuth)``, and
   leave every pair in doubt: ``a ≥ back_ambiguity · b``. Each channel gets a second mode at its counterpart,
   ``second_mode · a`` × peak.
6. **Keypoints are decoded from the heatmaps** (argmax with sub-pixel refinement, mapped back through the crop
   affine), and the confidence is the peak value — so coordinates and heatmaps tell the same story, as they do
   for a real estimator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from gaitforge.preprocess.heatmaps import (
    CROP_SIZE,
    HEATMAP_SIZE,
    HEATMAP_STRIDE,
    apply_affine,
    box_to_crop_affine,
    compose_affines,
    decode_heatmaps,
    heatmap_to_crop_affine,
    invert_affine,
)
from gaitforge.synth.body import BodyShape
from gaitforge.synth.camera import Camera
from gaitforge.synth.covariates import COAT_KINDS
from gaitforge.synth.kinematics import Skeleton
from gaitforge.synth.pose import _FACE, _OWNERS

__all__ = [
    "HEATMAP_SPACES",
    "LEFT_RIGHT_PAIRS",
    "EstimatorOutput",
    "EstimatorParams",
    "joint_radii",
    "pretreat_heatmaps",
    "simulate_topdown",
]

logger = logging.getLogger(__name__)

#: COCO-17 left/right pairs (eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
# Limb axis of each joint (from, to) and the neighbours its tail runs to; face points have neither.
_AXIS = {5: (5, 7), 6: (6, 8), 7: (5, 9), 8: (6, 10), 9: (7, 9), 10: (8, 10),
         11: (11, 13), 12: (12, 14), 13: (11, 15), 14: (12, 16), 15: (13, 15), 16: (14, 16)}  # fmt: skip
_TAILS = {5: (7,), 6: (8,), 7: (5, 9), 8: (6, 10), 9: (7,), 10: (8,),
          11: (13,), 12: (14,), 13: (11, 15), 14: (12, 16), 15: (13,), 16: (14,)}  # fmt: skip
_COVERING = ("coat", "bag", "strap")


@dataclass(frozen=True)
class EstimatorParams:
    """Parameters of the simulated estimator (see the module docstring for what each one does).

    Spreads are in heatmap pixels (64×48 grid); amplitudes are heatmap values in ``[0, 1]``.
    """

    crop_scale: float = 1.25
    box_jitter: float = 0.02
    sigma: float = 1.6
    width_gain: float = 0.8
    elongation: float = 1.5
    tail: float = 0.2
    tail_reach: float = 0.45
    peak: float = 0.9
    peak_sd: float = 0.04
    occluded_peak: float = 0.45
    covered_peak: float = 0.6
    face_away_peak: float = 0.3
    occluded_spread: float = 1.5
    jitter_corr: float = 0.6
    occluded_jitter: float = 2.5
    swap_rate: float = 0.1
    swap_distance: float = 0.08
    swap_persistence: float = 0.6
    back_flip: float = 0.05
    back_ambiguity: float = 0.5
    second_mode: float = 0.5


@dataclass
class EstimatorOutput:
    """What the simulated estimator returns for one sequence.

    Attributes:
        heatmaps: float32 ``[T, 17, 64, 48]`` in crop coordinates, values in ``[0, 1]``.
        keypoints: float32 ``[T, 17, 3]``: x, y in image pixels (decoded from the heatmaps), confidence.
        crop_affines: float64 ``[T, 2, 3]`` image → crop (256×192) maps.
        boxes: float32 ``[T, 4]`` detector boxes ``x0, y0, x1, y1``.
        swapped: bool ``[T, 8]`` which left/right pairs were swapped (ground truth for tests).
    """

    heatmaps: np.ndarray
    keypoints: np.ndarray
    crop_affines: np.ndarray
    boxes: np.ndarray
    swapped: np.ndarray


def joint_radii(body: BodyShape, coat: str | None = None) -> np.ndarray:
    """Limb radius at each COCO-17 joint (metres), clothing included: ``[17]``."""
    face = 0.35 * body.head_ry
    r = np.array(
        [face] * 5
        + [body.upper_arm_r] * 2
        + [body.elbow_r] * 2
        + [body.wrist_r] * 2
        + [body.thigh_r] * 2
        + [body.knee_r] * 2
        + [body.ankle_r] * 2
    )
    if coat is not None:
        spec = COAT_KINDS[coat]
        H = body.height
        r[5:11] += spec.sleeve * H
        r[11:13] += spec.bulk * H
        knee_height = body.ankle_height + body.shank
        if spec.hem * H < knee_height:  # the hem falls below the knee: the coat flares around it
            r[13:15] += spec.flare * H
    return r


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: float) -> np.ndarray:
    """Unit-variance AR(1) noise along axis 0."""
    n = rng.standard_normal(shape)
    out = np.empty(shape)
    out[0] = n[0]
    k = np.sqrt(max(1.0 - rho * rho, 0.0))
    for t in range(1, shape[0]):
        out[t] = rho * out[t - 1] + k * n[t]
    return out


def _markov(rng: np.random.Generator, p_start: np.ndarray, persistence: float) -> np.ndarray:
    """Boolean states over axis 0: start with probability ``p_start[t]``, carry on with ``persistence``."""
    u, v = rng.random(p_start.shape), rng.random(p_start.shape)
    out = np.zeros(p_start.shape, dtype=bool)
    prev = np.zeros(p_start.shape[1:], dtype=bool)
    for t in range(p_start.shape[0]):
        prev = (prev & (u[t] < persistence)) | (v[t] < p_start[t])
        out[t] = prev
    return out


def _visibility(
    uv: np.ndarray, labels: np.ndarray, part_names: list[str], skel: Skeleton, camera: Camera
) -> tuple[np.ndarray, np.ndarray]:
    """(visible, covered by clothing or bag) ``[T, 17]`` from the part label at each joint's pixel."""
    t, height, width = labels.shape
    xi = np.clip(np.round(uv[..., 0]).astype(int), 0, width - 1)
    yi = np.clip(np.round(uv[..., 1]).astype(int), 0, height - 1)
    seen = labels[np.arange(t)[:, None], yi, xi]
    lookup = {name: i + 1 for i, name in enumerate(part_names)}
    owners = np.zeros((17, 256), dtype=bool)
    for j, names in enumerate(_OWNERS):
        owners[j, [lookup[n] for n in names if n in lookup]] = True
    visible = owners[np.arange(17)[None, :], seen]
    covering = np.zeros(256, dtype=bool)
    covering[[lookup[n] for n in _COVERING if n in lookup]] = True
    covered = covering[seen] & ~visible
    normals = np.einsum("tij,kj->tki", skel.frames["head"], _FACE / np.linalg.norm(_FACE, axis=1, keepdims=True))
    face_away = np.zeros_like(visible)
    face_away[:, :5] = normals @ camera.to_camera <= 0.15
    visible[:, :5] &= ~face_away[:, :5]
    return visible, covered | face_away


def _person_boxes(frames: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Foreground bounding boxes ``[T, 4]`` (pixel extents); the keypoints' box where a frame is empty."""
    boxes = np.empty((frames.shape[0], 4))
    for t, f in enumerate(frames):
        ys, xs = np.nonzero(f)
        if len(ys):
            boxes[t] = [xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5]
        else:
            lo, hi = uv[t].min(0), uv[t].max(0)
            boxes[t] = [lo[0], lo[1], hi[0], hi[1]]
    return boxes


def _gauss(g: np.ndarray, mu: np.ndarray, axis: np.ndarray, s_along: np.ndarray, s_across: np.ndarray) -> np.ndarray:
    """Anisotropic Gaussians on grid points ``g`` ``[P, 2]`` for centres ``mu`` ``[..., 2]`` → float32 ``[..., P]``."""
    f = np.float32
    dx = g[:, 0].astype(f) - mu[..., 0:1].astype(f)  # [..., P]
    dy = g[:, 1].astype(f) - mu[..., 1:2].astype(f)
    ax, ay = axis[..., 0:1].astype(f), axis[..., 1:2].astype(f)
    da = (dx * ax + dy * ay) / s_along[..., None].astype(f)
    dc = (dy * ax - dx * ay) / s_across[..., None].astype(f)
    return np.exp(-0.5 * (da * da + dc * dc))


def _segment(g: np.ndarray, p: np.ndarray, q: np.ndarray, reach: float, width: np.ndarray) -> np.ndarray:
    """Fading tube from ``p`` towards ``q`` over ``reach`` of the segment: float32 ``[..., P]``."""
    f = np.float32
    vx, vy = (q[..., 0:1] - p[..., 0:1]).astype(f), (q[..., 1:2] - p[..., 1:2]).astype(f)
    L2 = np.maximum(vx * vx + vy * vy, f(1e-6))
    dx = g[:, 0].astype(f) - p[..., 0:1].astype(f)
    dy = g[:, 1].astype(f) - p[..., 1:2].astype(f)
    s = np.clip((dx * vx + dy * vy) / L2, 0.0, reach)
    ex, ey = dx - s * vx, dy - s * vy
    return (1.0 - s / f(reach)) * np.exp(-0.5 * (ex * ex + ey * ey) / (width[..., None].astype(f) ** 2))


def simulate_topdown(
    joints3d: np.ndarray,
    skel: Skeleton,
    camera: Camera,
    labels: np.ndarray,
    part_names: list[str],
    frames: np.ndarray,
    radii_m: np.ndarray,
    noise: float,
    rng: np.random.Generator,
    params: EstimatorParams | None = None,
) -> EstimatorOutput:
    """Run the simulated top-down estimator on one rendered sequence.

    Args:
        joints3d: ``[T, 17, 3]`` world joints (COCO-17).
        skel: The skeleton (head orientation).
        camera: The camera that rendered the frames.
        labels: uint8 ``[T, H, W]`` part labels (``i + 1`` = ``part_names[i]``).
        part_names: Names of the labelled parts.
        frames: ``[T, H, W]`` foreground frames the detector sees (artefacts included).
        radii_m: ``[17]`` limb radius at each joint in metres (:func:`joint_radii`).
        noise: Keypoint jitter as a fraction of the person's image height.
        rng: Source of randomness.
        params: Estimator parameters (defaults when ``None``).

    Returns:
        The :class:`EstimatorOutput`.
    """
    p = params or EstimatorParams()
    n_frames = labels.shape[0]
    hh, hw = HEATMAP_SIZE
    uv, z = camera.project(joints3d.astype(np.float64))  # [T, 17, 2], [T, 17]
    visible, covered = _visibility(uv, labels, part_names, skel, camera)
    boxes = _person_boxes(frames, uv)
    box_h = boxes[:, 3] - boxes[:, 1]
    person_px = float(np.median(box_h))
    boxes = boxes + rng.normal(0.0, p.box_jitter, (n_frames, 4)) * box_h[:, None]
    crop = box_to_crop_affine(boxes, CROP_SIZE, p.crop_scale)  # [T, 2, 3] image → crop
    to_hm = compose_affines(invert_affine(heatmap_to_crop_affine(HEATMAP_STRIDE)), crop)  # image → heatmap grid
    px_scale = crop[:, 0, 0] / HEATMAP_STRIDE  # heatmap pixels per image pixel [T]

    hidden = ~visible
    jitter = _ar1(rng, (n_frames, 17, 2), p.jitter_corr) * (noise * person_px)
    jitter *= np.where(hidden, p.occluded_jitter, 1.0)[..., None]
    pos = apply_affine(to_hm, uv + jitter)  # [T, 17, 2] jittered joints on the heatmap grid

    radius = radii_m[None, :] * camera.focal_px / z * px_scale[:, None]  # [T, 17] heatmap pixels
    s_across = np.sqrt(p.sigma**2 + (p.width_gain * radius) ** 2) * np.where(hidden, p.occluded_spread, 1.0)
    s_along = s_across.copy()
    axis = np.zeros((n_frames, 17, 2))
    axis[..., 1] = 1.0
    for j, (a, b) in _AXIS.items():
        v = pos[:, b] - pos[:, a]
        axis[:, j] = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)
        s_along[:, j] *= p.elongation
    amp = np.clip(rng.normal(p.peak, p.peak_sd, (n_frames, 17)), 0.05, 1.0)
    amp *= np.where(visible, 1.0, np.where(covered, p.covered_peak, p.occluded_peak))
    amp[:, :5] *= np.where(covered[:, :5] & hidden[:, :5], p.face_away_peak / p.covered_peak, 1.0)

    # Left/right ambiguity, swaps and back-view flips.
    left, right = (np.array(s) for s in zip(*LEFT_RIGHT_PAIRS))
    dist = np.linalg.norm(uv[:, left] - uv[:, right], axis=-1)  # [T, 8] image pixels
    ambiguity = np.exp(-((dist / (p.swap_distance * person_px)) ** 2))
    swapped = _markov(rng, p.swap_rate * ambiguity, p.swap_persistence)
    back = max(0.0, -float(np.cos(np.deg2rad(camera.azimuth_deg))))
    ambiguity = np.maximum(ambiguity, p.back_ambiguity * back)  # seen from behind, every pair is in doubt
    flipped = _markov(rng, np.full((n_frames, 1), p.back_flip * back), p.swap_persistence)
    swapped ^= flipped
    source = np.tile(np.arange(17), (n_frames, 1))  # which joint's position each channel's main mode sits on
    source[:, left] = np.where(swapped, right, left)
    source[:, right] = np.where(swapped, left, right)
    other = np.tile(np.arange(17), (n_frames, 1))
    other[:, left], other[:, right] = source[:, right], source[:, left]
    pair_amb = np.zeros((n_frames, 17))
    pair_amb[:, left] = pair_amb[:, right] = ambiguity

    ys, xs = np.mgrid[0:hh, 0:hw].astype(np.float64)
    grid = np.stack([xs.ravel(), ys.ravel()], -1)  # [P, 2]
    rows = np.arange(n_frames)[:, None]

    def mode(src: np.ndarray) -> np.ndarray:
        return _gauss(grid, pos[rows, src], axis[rows, src], s_along[rows, src], s_across[rows, src])

    heat = amp[..., None] * mode(source)  # [T, 17, P]
    second = (p.second_mode * pair_amb * amp)[..., None] * mode(other)
    np.maximum(heat, second, out=heat)
    for j, neighbours in _TAILS.items():
        for n in neighbours:
            src = source[:, j]
            nb = np.where(src == j, n, n + 1 if n % 2 else n - 1)  # the neighbour on the main mode's side
            width = s_across[rows[:, 0], src]
            tube = _segment(grid, pos[rows[:, 0], src], pos[rows[:, 0], nb], p.tail_reach, width)
            np.maximum(heat[:, j], (p.tail * amp[:, j])[:, None] * tube, out=heat[:, j])
    heatmaps = np.clip(heat, 0.0, 1.0).reshape(n_frames, 17, hh, hw).astype(np.float32)

    xy, score = decode_heatmaps(heatmaps)
    image_xy = apply_affine(invert_affine(to_hm), xy.astype(np.float64))
    keypoints = np.concatenate([image_xy, score[..., None]], -1).astype(np.float32)
    return EstimatorOutput(heatmaps, keypoints, crop, boxes.astype(np.float32), swapped)


#: How :func:`pretreat_heatmaps` normalises heatmaps: RGB-space (GaitHeat), heatmap-space (ablation), or not.
HEATMAP_SPACES: tuple[str, ...] = ("rgb", "heatmap", "crop")


def pretreat_heatmaps(
    heatmaps: np.ndarray, crop_affines: np.ndarray, frames: np.ndarray, space: str = "rgb", dtype: str = "uint8"
) -> np.ndarray:
    """Estimator heatmaps → the stored ``heatmap`` modality ``[T, 17, 64, 48]``.

    Args:
        heatmaps: float32 ``[T, 17, 64, 48]`` in crop coordinates.
        crop_affines: ``[T, 2, 3]`` image → crop maps.
        frames: ``[T, H, W]`` foreground frames (the image the RGB-space extent is measured on).
        space: ``"rgb"`` (:func:`~gaitforge.preprocess.heatmaps.rgb_space_heatmaps` with the person's extent
            measured on the frame, as the silhouette pretreatment measures it), ``"heatmap"``
            (:func:`~gaitforge.preprocess.heatmaps.heatmap_space_heatmaps`) or ``"crop"`` (as the estimator
            returned them).
        dtype: ``"uint8"`` (``T · 52,224`` bytes) or ``"float16"`` (``T · 104,448`` bytes).
    """
    from gaitforge.preprocess.heatmaps import (
        heatmap_space_heatmaps,
        person_extent,
        quantize_heatmaps,
        rgb_space_heatmaps,
    )

    if space == "rgb":
        extents = []
        for t, f in enumerate(frames):
            e = person_extent(f)
            if e is None:  # no foreground: fall back to the crop's own framing
                inv = invert_affine(crop_affines[t])
                top, bottom = apply_affine(inv, np.array([[0.0, 25.6], [0.0, 230.4]]))[:, 1]
                e = (float(top), float(bottom), float(apply_affine(inv, np.array([[95.5, 0.0]]))[0, 0]))
            extents.append(e)
        out, _ = rgb_space_heatmaps(heatmaps, crop_affines, np.asarray(extents))
    elif space == "heatmap":
        out, _ = heatmap_space_heatmaps(heatmaps)
    elif space == "crop":
        out = heatmaps
    else:
        raise ValueError(f"heatmap_space: expected one of {HEATMAP_SPACES}, got {space!r}")
    return quantize_heatmaps(out, dtype)
