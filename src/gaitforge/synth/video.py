"""Synthetic RGB street videos with ground truth: textured walkers crossing a static textured scene.

The walkers come from the synthetic gait world (body shape, walking style, kinematics and the part rasteriser of
:mod:`gaitforge.synth`); here several of them share one ground plane, at different depths and headings, seen by one
static camera. Each is dressed in textured clothes (shirt, trousers, shoes, skin), composited far to near with a
soft ground shadow over a procedurally textured background, given sensor noise, and encoded as a real video file
with PyAV. Ground truth per frame: which person is visible at each pixel (masks), boxes of the visible pixels, and
COCO-17 keypoints.

The failure cases of real footage can be switched on per scene: a hand-held camera (slow drift, shake, roll and a
slow zoom, applied as a per-frame similarity transform of a larger rendered canvas, so the view moves as a phone's
does for small rotations), an elevated camera (``camera_elevation_deg``), people walking toward and away from the
camera (``headings_deg``), static foreground objects that hide parts of the walkers (``occluders``) and screen
overlays that stay fixed while the scene moves (a running timestamp and a logo, ``overlays``). The ground truth
follows every one of them: masks and boxes are of the *visible* pixels after occlusion and overlays, and the camera
motion itself is saved (``camera``). :func:`failure_scenes` names a set of such scenes.

World frame as in :mod:`gaitforge.synth.kinematics` (``z`` up, floor at ``z = 0``); the camera looks along ``+y``
(azimuth 90°), so a heading of 0° walks to the image right and larger ``y`` is farther away.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gaitforge.synth.body import BodyShape, sample_body
from gaitforge.synth.camera import Camera
from gaitforge.synth.kinematics import rot_z, simulate_walk
from gaitforge.synth.parts import Blob, Part, body_parts
from gaitforge.synth.pose import coco_joints3d
from gaitforge.synth.render import rasterise
from gaitforge.synth.style import sample_style

__all__ = [
    "SceneConfig",
    "VideoGroundTruth",
    "failure_scenes",
    "load_video_ground_truth",
    "make_synthetic_video",
    "render_scene",
]

logger = logging.getLogger(__name__)

# Part name → clothing class: 1 skin, 2 shirt, 3 trousers, 4 shoes.
_CLASS = {"head": 1, "neck": 1, "hand": 1, "torso": 2, "upper_arm": 2, "forearm": 2, "thigh": 3, "shank": 3, "foot": 4}
_SKIN = np.array([[224, 180, 150], [198, 140, 105], [141, 96, 66], [90, 60, 45], [240, 205, 180]], np.float32)
_TROUSERS = np.array(
    [[40, 50, 90], [25, 25, 30], [150, 130, 90], [95, 70, 50], [70, 90, 60], [60, 70, 110]], np.float32
)
_CHUNK = 16


@dataclass(frozen=True)
class SceneConfig:
    """One synthetic street video.

    Attributes:
        width, height: Frame size (even numbers).
        frames: Frame count.
        fps: Frame rate.
        n_people: Walkers in the scene.
        seed: Root seed (people, clothes, background and noise all derive from it).
        camera_distance_m: Distance from the camera to its aiming point on the middle path.
        camera_elevation_deg: Downward tilt of the camera.
        focal_px: Focal length; ``None`` = ``1.05 * width``.
        depth_range_m: Range of path offsets along the viewing direction (negative = nearer).
        max_heading_deg: Largest deviation of a walking direction from a straight crossing.
        shadows: Soft ground shadows under the walkers.
        noise_sigma: Sensor noise (grey levels).
        codec: FFmpeg encoder for :func:`make_synthetic_video`.
        crf: Quality for ``libx264``.
        headings_deg: Base walking direction per person, cycled over the people (0 = image right, 180 = left,
            90 = away from the camera, -90 = toward it), each jittered by up to ``max_heading_deg``; empty =
            alternately 0 and 180 (crossing walkers). People walking in depth pass their reference point mid-clip
            and are kept at least 4 m from the camera.
        camera_drift_px: Hand-held drift: the view wanders along a smooth random path whose largest distance from
            its start is this many pixels over the clip (0 = static camera).
        camera_shake_px: Hand-held shake: RMS per axis of a sum of 1.5–6 Hz oscillations (pixels).
        camera_roll_deg: Largest roll (rotation about the viewing axis), slowly oscillating.
        camera_zoom: Slow zoom in over the clip: the last frame is magnified ``1 + camera_zoom`` times.
        occluders: Static foreground objects (posts and low walls) on the ground between the camera and the walkers;
            they hide whoever walks behind them.
        overlays: Draw a running timestamp (top left) and a logo (bottom right) fixed on the screen.
    """

    width: int = 768
    height: int = 576
    frames: int = 100
    fps: float = 25.0
    n_people: int = 4
    seed: int = 0
    camera_distance_m: float = 12.0
    camera_elevation_deg: float = 12.0
    focal_px: float | None = None
    depth_range_m: tuple[float, float] = (-3.0, 6.0)
    max_heading_deg: float = 30.0
    shadows: bool = True
    noise_sigma: float = 2.0
    codec: str = "libx264"
    crf: int = 18
    headings_deg: tuple[float, ...] = ()
    camera_drift_px: float = 0.0
    camera_shake_px: float = 0.0
    camera_roll_deg: float = 0.0
    camera_zoom: float = 0.0
    occluders: int = 0
    overlays: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth_range_m", tuple(self.depth_range_m))
        object.__setattr__(self, "headings_deg", tuple(float(h) for h in self.headings_deg))
        motion = (self.camera_drift_px, self.camera_shake_px, self.camera_roll_deg, self.camera_zoom)
        if min(motion) < 0 or self.occluders < 0:
            raise ValueError(
                f"synth video: camera_drift_px, camera_shake_px, camera_roll_deg, camera_zoom and occluders must be "
                f">= 0, got {motion} and {self.occluders}"
            )
        if self.camera_roll_deg > 10 or self.camera_zoom > 1:
            raise ValueError(
                f"synth video: camera_roll_deg {self.camera_roll_deg} (max 10) or camera_zoom {self.camera_zoom} "
                "(max 1) out of range"
            )
        if self.width % 2 or self.height % 2 or min(self.width, self.height) < 32:
            raise ValueError(f"synth video: size {self.width}x{self.height} must be even and at least 32x32")
        if self.frames < 1 or self.n_people < 1 or self.fps <= 0:
            raise ValueError("synth video: frames, n_people and fps must be positive")


@dataclass
class VideoGroundTruth:
    """Ground truth of a synthetic video (``P`` people, ``T`` frames).

    Attributes:
        ids: uint8 ``[T, H, W]``: ``p + 1`` where person ``p`` is the visible surface, 0 elsewhere (shadows are 0).
        boxes: float32 ``[T, P, 4]`` ``x1, y1, x2, y2`` of the visible pixels (``x2``, ``y2`` exclusive); NaN when
            the person is not visible.
        keypoints: float32 ``[T, P, 17, 3]`` COCO-17 ``x, y`` in pixels and ``v``: 1 inside the frame and not covered
            by another person, else 0 (self-occlusion is not modelled).
        fps: Frame rate.
        people: Per person: heading, depth, speed, stature, clothing colours.
        camera: float32 ``[T, 2, 3]``: the affine map from the static view's pixels to each frame's pixels (the
            hand-held camera motion; the identity for a static camera).
    """

    ids: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray
    fps: float
    people: list[dict[str, Any]] = field(default_factory=list)
    camera: np.ndarray | None = None

    def mask(self, frame: int, person: int) -> np.ndarray:
        """bool ``[H, W]`` visible pixels of ``person`` in ``frame``."""
        return self.ids[frame] == person + 1

    def area(self) -> np.ndarray:
        """int64 ``[T, P]`` visible pixels per person and frame."""
        n = len(self.people)
        return np.stack([np.bincount(f.ravel(), minlength=n + 1)[1 : n + 1] for f in self.ids])


def _noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth value noise in [-1, 1], float32 ``[h, w]``."""
    small = rng.uniform(-1.0, 1.0, (max(2, h // cells), max(2, w // cells))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _background(cfg: SceneConfig, horizon: float, rng: np.random.Generator) -> np.ndarray:
    """A static street: textured wall with windows above the horizon, asphalt and a lawn strip below, float32 RGB."""
    h, w = cfg.height, cfg.width
    tex = 0.6 * _noise(rng, h, w, 4) + 0.3 * _noise(rng, h, w, 16) + 0.1 * _noise(rng, h, w, 64)
    img = np.empty((h, w, 3), np.float32)
    split = int(np.clip(horizon, 0.15 * h, 0.6 * h))
    img[:split] = np.array([165, 95, 70], np.float32) + 25 * tex[:split, :, None]
    for y in range(0, split, max(4, h // 60)):  # mortar lines
        img[y] = (200, 190, 175)
    for _ in range(int(rng.integers(3, 7))):
        x0, ww = int(rng.integers(0, w - 20)), int(rng.integers(w // 20, w // 6))
        y0, hh = int(rng.integers(0, max(1, split - 10))), int(rng.integers(h // 20, h // 6))
        img[y0 : min(y0 + hh, split), x0 : x0 + ww] = rng.uniform(30, 220, 3).astype(np.float32) + 8 * tex[:1, :1]
    ground = np.array([118, 116, 110], np.float32) + 22 * tex[split:, :, None]
    img[split:] = ground
    lawn = int(split + rng.uniform(0.05, 0.15) * (h - split))
    img[split:lawn] = np.array([70, 120, 55], np.float32) + 30 * tex[split:lawn, :, None]
    for _ in range(int(rng.integers(2, 5))):  # poles and markings
        x = int(rng.integers(0, w))
        cv2.line(
            img, (x, int(rng.integers(0, split))), (x, int(rng.integers(split, h))), (70, 70, 75), max(2, w // 150)
        )
    cv2.line(img, (0, int(0.8 * h)), (w, int(0.75 * h)), (225, 225, 215), max(2, h // 100))
    return img


@dataclass
class _Person:
    parts: list[Part]
    joints: np.ndarray  # [T,17,3] world
    pelvis: np.ndarray  # [T,3] world
    height: float
    colours: np.ndarray  # [5,3] per clothing class (0 unused)
    pattern: int
    tile: np.ndarray  # [64,64] texture noise
    meta: dict[str, Any]


def _moved(parts: list[Part], rot: np.ndarray, offset: np.ndarray) -> list[Part]:
    def blob(b: Blob) -> Blob:
        return Blob(
            b.centre @ rot.T + offset, np.einsum("ij,tjk->tik", rot, np.broadcast_to(b.axes, (len(b.centre), 3, 3)))
        )

    return [replace(p, blobs=[blob(b) for b in p.blobs]) for p in parts]


def _sliced(parts: list[Part], a: int, b: int) -> list[Part]:
    return [replace(p, blobs=[Blob(x.centre[a:b], x.axes[a:b]) for x in p.blobs]) for p in parts]


def _people(cfg: SceneConfig, focal: float) -> list[_Person]:
    depths = np.linspace(*cfg.depth_range_m, cfg.n_people)
    order = np.random.default_rng([cfg.seed, 20]).permutation(cfg.n_people)
    out = []
    for k in range(cfg.n_people):
        rng = np.random.default_rng([cfg.seed, 21, k])
        body: BodyShape = sample_body(np.random.default_rng([cfg.seed, 22, k]))
        style = sample_style(np.random.default_rng([cfg.seed, 23, k]))
        skel = simulate_walk(body, style, cfg.frames, cfg.fps, float(rng.random()))
        base = cfg.headings_deg[k % len(cfg.headings_deg)] if cfg.headings_deg else (0.0 if k % 2 == 0 else 180.0)
        heading = base + float(rng.uniform(-1, 1)) * cfg.max_heading_deg
        rot = rot_z(np.array([np.deg2rad(heading)]))[0]
        depth = float(depths[order[k]]) + float(rng.normal(0.0, 0.3))
        t_ref = int(rng.uniform(0.25, 0.75) * (cfg.frames - 1))  # when the walker passes its reference point
        lateral = float(rng.uniform(-0.6, 0.6))
        in_depth = abs(np.sin(np.deg2rad(heading))) > 0.7  # walking toward or away from the camera
        if in_depth:
            t_ref = (cfg.frames - 1) // 2
            lateral *= 0.5
        half_width = 0.5 * cfg.width / focal * (cfg.camera_distance_m + depth)
        if in_depth:  # kept at least 4 m from the camera over the whole clip, and in view where nearest
            reach = skel.speed * max(t_ref, cfg.frames - 1 - t_ref) / cfg.fps
            depth = max(depth, 4.0 - cfg.camera_distance_m + reach)
            half_width = 0.5 * cfg.width / focal * (cfg.camera_distance_m + depth - reach)
        ref = np.array([lateral * half_width, depth, 0.0])
        offset = ref - rot @ np.array([skel.points["pelvis"][t_ref, 0], 0.0, 0.0])
        parts = _moved(body_parts(body, skel), rot, offset)
        joints = coco_joints3d(body, skel).astype(np.float64) @ rot.T + offset
        colours = np.zeros((5, 3), np.float32)
        colours[1] = _SKIN[rng.integers(len(_SKIN))]
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(90, 255), rng.integers(90, 250)]]])
        colours[2] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
        colours[3] = _TROUSERS[rng.integers(len(_TROUSERS))] * rng.uniform(0.85, 1.15)
        colours[4] = rng.uniform(10, 60, 3) if rng.random() < 0.7 else rng.uniform(180, 240, 3)
        pelvis = skel.points["pelvis"] @ rot.T + offset
        meta = {
            "heading_deg": round(heading, 2),
            "depth_m": round(depth, 3),
            "speed_mps": round(skel.speed, 3),
            "height_m": round(body.height, 3),
            "shirt_rgb": colours[2].round().tolist(),
            "trousers_rgb": colours[3].round().tolist(),
        }
        tile = cv2.GaussianBlur(rng.uniform(-1, 1, (64, 64)).astype(np.float32), (0, 0), 1.0)
        out.append(_Person(parts, joints, pelvis, body.height, colours, int(rng.integers(4)), tile, meta))
    return out


def _dress(p: _Person, labels: np.ndarray, lut: np.ndarray, anchor: np.ndarray, px_height: float) -> np.ndarray:
    """Colour the person's pixels in a crop: float32 ``[h, w, 3]`` (valid where ``labels > 0``)."""
    cls = lut[labels]  # [h,w]
    ys, xs = np.mgrid[0 : labels.shape[0], 0 : labels.shape[1]].astype(np.float32)
    u, v = (xs - anchor[0]) / px_height, (ys - anchor[1]) / px_height  # person-relative coordinates
    tex = p.tile[(v * 400).astype(np.int32) % 64, (u * 400).astype(np.int32) % 64]
    shade = 1.0 + 0.12 * tex
    stripes = {0: 0.0, 1: np.sin(v * 110.0), 2: np.sin(v * 90.0) * np.sin(u * 90.0), 3: np.sin((u + v) * 80.0)}
    pattern = np.where(cls == 2, 1.0 + 0.22 * np.sign(stripes[p.pattern]), 1.0)
    lit = 1.08 - 0.5 * np.clip(np.abs(u) * 2.5, 0.0, 1.0) ** 2  # rounder bodies look darker at the sides
    return p.colours[cls] * (shade * pattern * lit)[..., None]


def _camera_motion(cfg: SceneConfig) -> np.ndarray | None:
    """The hand-held camera: float64 ``[T, 2, 3]`` affine maps from output pixels to the static view's pixels
    (``None`` for a static camera). Offsets are relative to the view's centre."""
    if not (cfg.camera_drift_px or cfg.camera_shake_px or cfg.camera_roll_deg or cfg.camera_zoom):
        return None
    rng = np.random.default_rng([cfg.seed, 40])
    n = cfg.frames
    s = np.linspace(0.0, 1.0, n)[:, None]  # clip progress
    t = np.arange(n)[:, None] / cfg.fps
    shift = np.zeros((n, 2))
    if cfg.camera_drift_px:  # a smooth random path, scaled to its largest distance from the start
        a, b, c = rng.normal(size=(3, 2))
        f = rng.uniform(0.5, 1.5)
        path = a * s + b * s**2 + 0.5 * c * np.sin(2 * np.pi * f * s)
        shift += cfg.camera_drift_px * path / max(float(np.linalg.norm(path, axis=1).max()), 1e-9)
    if cfg.camera_shake_px:  # a few oscillations of 1.5–6 Hz per axis (below the Nyquist rate)
        freq = rng.uniform(1.5, min(6.0, 0.45 * cfg.fps), size=(3, 2))
        phase = rng.uniform(0, 2 * np.pi, size=(3, 2))
        amp = rng.uniform(0.5, 1.0, size=(3, 2))
        shake = (amp[None] * np.sin(2 * np.pi * freq[None] * t[:, :, None].swapaxes(1, 2) + phase[None])).sum(1)
        shake -= shake.mean(0)
        shift += cfg.camera_shake_px * shake / np.maximum(shake.std(0), 1e-9)
    roll = np.zeros(n)
    if cfg.camera_roll_deg:
        f, phase = rng.uniform(0.1, 0.3), rng.uniform(0, 2 * np.pi)
        roll = np.deg2rad(cfg.camera_roll_deg) * np.sin(2 * np.pi * f * t[:, 0] + phase)
    zoom = 1.0 + cfg.camera_zoom * s[:, 0]
    cos, sin = np.cos(roll) / zoom, np.sin(roll) / zoom
    out = np.zeros((n, 2, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1] = cos, -sin, sin, cos
    out[:, :, 2] = shift
    return out


def _pad_for(motion: np.ndarray, width: int, height: int) -> int:
    """Canvas margin (pixels, even) that keeps every frame's view inside the rendered canvas."""
    corners = np.array([[sx * width / 2, sy * height / 2] for sx in (-1, 1) for sy in (-1, 1)])
    p = np.einsum("tij,kj->tki", motion[:, :, :2], corners) + motion[:, None, :, 2]  # [T,4,2] from the centre
    over = max(float((np.abs(p[..., 0]) - width / 2).max()), float((np.abs(p[..., 1]) - height / 2).max()), 0.0)
    return 2 * int(np.ceil((over + 2) / 2))


@dataclass
class _Occluder:
    mask: np.ndarray  # bool [Hc, Wc] on the canvas
    colour: np.ndarray  # float32 [Hc, Wc, 3] (valid under mask)
    depth: float  # camera depth of its centre


def _occluders(cfg: SceneConfig, cam: Camera, focal: float, shape: tuple[int, int]) -> list[_Occluder]:
    """Static posts and low walls standing on the ground in front of the walkers' paths."""
    rng = np.random.default_rng([cfg.seed, 41])
    hc, wc = shape
    out = []
    for k in range(cfg.occluders):
        y = float(rng.uniform(max(3.0 - cfg.camera_distance_m, cfg.depth_range_m[0] - 2.5), cfg.depth_range_m[0] - 0.5))
        half = 0.5 * cfg.width / focal * (cfg.camera_distance_m + y)
        x = float(rng.uniform(-0.6, 0.6)) * half
        if k % 2 == 0:  # a post
            size, colour = np.array([rng.uniform(0.12, 0.25), 0.15, rng.uniform(2.5, 3.5)]), (60, 65, 60)
        else:  # a low wall or hedge
            size, colour = np.array([rng.uniform(1.5, 3.0), 0.4, rng.uniform(0.6, 1.0)]), (110, 105, 95)
        corners = np.array([[i, j, m] for i in (-0.5, 0.5) for j in (-0.5, 0.5) for m in (0.0, 1.0)]) * size
        corners[:, :2] += (x, y)
        uv, z = cam.project(corners[None])
        mask = np.zeros((hc, wc), np.uint8)
        hull = cv2.convexHull(np.round(uv[0] * 16).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1, cv2.LINE_8, 4)
        tex = _noise(rng, hc, wc, 6)
        base = np.array(colour, np.float32) * rng.uniform(0.8, 1.2)
        out.append(_Occluder(mask > 0, base + 18 * tex[..., None], float(z[0].mean())))
    return out


def _overlay(t: int, cfg: SceneConfig) -> tuple[np.ndarray, np.ndarray]:
    """Screen overlays of frame ``t``: uint8 RGB layer ``[H, W, 3]`` and its bool mask ``[H, W]``."""
    h, w = cfg.height, cfg.width
    layer = np.zeros((h, w, 3), np.uint8)
    scale = max(0.3, h / 900)
    thick = max(1, round(2 * scale))
    sec = t / cfg.fps
    text = f"2026-05-14 17:{int(sec // 60) + 12:02d}:{sec % 60:05.2f}"
    org = (max(4, w // 60), max(12, round(32 * scale)))
    cv2.putText(layer, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (1, 1, 1), thick + 2, cv2.LINE_8)
    cv2.putText(layer, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_8)
    lw, lh = max(24, w // 7), max(12, h // 14)
    x0, y0 = w - lw - max(4, w // 60), h - lh - max(4, h // 40)
    cv2.rectangle(layer, (x0, y0), (x0 + lw, y0 + lh), (200, 30, 40), -1)
    cv2.circle(layer, (x0 + lh // 2, y0 + lh // 2), max(3, lh // 3), (250, 250, 250), -1)
    cv2.putText(layer, "CAM", (x0 + lh, y0 + int(0.75 * lh)), cv2.FONT_HERSHEY_SIMPLEX, lh / 45, (250, 250, 250), thick)
    return layer, layer.any(-1)


def render_scene(cfg: SceneConfig) -> tuple[Iterator[np.ndarray], VideoGroundTruth]:
    """Render the video frame by frame.

    Returns:
        ``(frames, ground_truth)``: an iterator of uint8 ``[H, W, 3]`` RGB frames, and the
        :class:`VideoGroundTruth` that the iterator fills in as it goes (complete once exhausted).
    """
    focal = cfg.focal_px or 1.05 * cfg.width
    motion = _camera_motion(cfg)
    pad = 0 if motion is None else _pad_for(motion, cfg.width, cfg.height)
    wc, hc = cfg.width + 2 * pad, cfg.height + 2 * pad  # the rendered canvas: the static view plus a margin
    target = np.array([0.0, 0.0, 0.9])
    cam_all = Camera(90.0, cfg.camera_elevation_deg, cfg.camera_distance_m, focal, wc / 2, hc / 2, target[None])
    horizon = hc / 2 - focal * np.tan(np.deg2rad(cfg.camera_elevation_deg))
    canvas_cfg = cfg if pad == 0 else replace(cfg, width=wc, height=hc)
    bg = _background(canvas_cfg, horizon, np.random.default_rng([cfg.seed, 30]))
    people = _people(cfg, focal)
    occluders = _occluders(cfg, cam_all, focal, (hc, wc))
    n, t_all = len(people), cfg.frames
    # static view pixel r -> frame pixel u: u = A⁻¹ (r - c - d) + c, with A the output -> view map of `motion`
    forward = np.tile(np.eye(2, 3, dtype=np.float64), (t_all, 1, 1))
    inverse = None
    if motion is not None:
        centre = np.array([cfg.width / 2, cfg.height / 2])
        inverse = np.empty_like(motion)  # frame pixel -> canvas pixel, for cv2.warpAffine
        for t in range(t_all):
            a_inv = np.linalg.inv(motion[t, :, :2])
            forward[t, :, :2] = a_inv
            forward[t, :, 2] = centre - a_inv @ (centre + motion[t, :, 2])
            inverse[t, :, :2] = motion[t, :, :2]
            inverse[t, :, 2] = centre + pad + motion[t, :, 2] - motion[t, :, :2] @ centre
    gt = VideoGroundTruth(
        ids=np.zeros((t_all, cfg.height, cfg.width), np.uint8),
        boxes=np.full((t_all, n, 4), np.nan, np.float32),
        keypoints=np.zeros((t_all, n, 17, 3), np.float32),
        fps=cfg.fps,
        people=[dict(p.meta, person=k) for k, p in enumerate(people)],
        camera=forward.astype(np.float32),
    )
    names = [[q.name for q in p.parts] for p in people]
    luts = []
    for nm in names:
        lut = np.zeros(256, np.int64)
        lut[1 : len(nm) + 1] = [_CLASS[x[2:] if x[:2] in ("l_", "r_") else x] for x in nm]
        luts.append(lut)
    noise_rng = np.random.default_rng([cfg.seed, 31])
    canvas_ids = np.zeros((hc, wc), np.uint8)

    def frames() -> Iterator[np.ndarray]:
        for a in range(0, t_all, _CHUNK):
            b = min(t_all, a + _CHUNK)
            tgt = np.broadcast_to(target, (b - a, 3))
            cam = Camera(90.0, cfg.camera_elevation_deg, cfg.camera_distance_m, focal, wc / 2, hc / 2, tgt)
            labels = [rasterise(_sliced(p.parts, a, b), cam, hc, wc) for p in people]
            pel_uv, pel_z = cam.project(np.stack([p.pelvis[a:b] for p in people], 1))  # [c,P,2], [c,P]
            kp_uv, _ = cam.project(np.stack([p.joints[a:b] for p in people], 1))  # [c,P,17,2]
            for i in range(b - a):
                t = a + i
                img = bg.copy()
                if cfg.shadows:
                    shade = np.ones((hc, wc), np.float32)
                    for p in people:
                        foot = p.pelvis[t] * [1, 1, 0]
                        disc = np.diag([0.45, 0.28, 0.0])[None, None]
                        pts, _ = cam_all.outlines(foot[None, None], disc, 24)
                        cv2.fillConvexPoly(shade, np.round(pts[0, 0] * 16).astype(np.int32), 0.62, cv2.LINE_AA, 4)
                    img *= cv2.GaussianBlur(shade, (0, 0), 2.0)[..., None]
                ids = gt.ids[t] if motion is None else canvas_ids
                ids[:] = 0
                # far to near: people (by pelvis depth) and occluders (by centre depth)
                order = sorted(
                    [(-float(pel_z[i, k]), 0, k) for k in range(n)]
                    + [(-o.depth, 1, j) for j, o in enumerate(occluders)]
                )
                for _, kind, k in order:
                    if kind == 1:
                        occ = occluders[k]
                        img[occ.mask] = occ.colour[occ.mask]
                        ids[occ.mask] = 0
                        continue
                    lab = labels[k][i]
                    ys, xs = np.nonzero(lab)
                    if len(ys) == 0:
                        continue
                    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
                    crop = lab[y0:y1, x0:x1]
                    px_h = focal * people[k].height / max(pel_z[i, k], 1e-3)
                    anchor = pel_uv[i, k] - (x0, y0)
                    colour = _dress(people[k], crop, luts[k], anchor, px_h)
                    m = crop > 0
                    img[y0:y1, x0:x1][m] = colour[m]
                    ids[y0:y1, x0:x1][m] = k + 1
                uv_all = kp_uv[i]  # [P,17,2] canvas pixels
                if inverse is not None:
                    size = (cfg.width, cfg.height)
                    flags = cv2.WARP_INVERSE_MAP
                    img = cv2.warpAffine(
                        img, inverse[t], size, flags=flags | cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
                    )
                    gt.ids[t] = cv2.warpAffine(canvas_ids, inverse[t], size, flags=flags | cv2.INTER_NEAREST)
                    uv_all = (uv_all - pad) @ forward[t, :, :2].T + forward[t, :, 2]
                ids = gt.ids[t]
                if cfg.overlays:
                    layer, over = _overlay(t, cfg)
                    img[over] = layer[over]
                    ids[over] = 0
                for k in range(n):
                    ys, xs = np.nonzero(ids == k + 1)
                    if len(ys):
                        gt.boxes[t, k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
                    uv = uv_all[k]
                    xi, yi = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
                    inside = (xi >= 0) & (xi < cfg.width) & (yi >= 0) & (yi < cfg.height)
                    vis = inside.copy()
                    vis[inside] = ids[yi[inside], xi[inside]] == k + 1
                    gt.keypoints[t, k] = np.concatenate([uv, vis[:, None]], 1)
                img += noise_rng.normal(0.0, cfg.noise_sigma, img.shape).astype(np.float32)
                yield np.clip(img + 0.5, 0, 255).astype(np.uint8)

    return frames(), gt


def make_synthetic_video(path: str | Path, cfg: SceneConfig | None = None, **overrides: Any) -> VideoGroundTruth:
    """Render a scene and write it as a video file plus its ground truth (``<path>.gt.npz``).

    Args:
        path: Output video (``.mp4``, ``.mkv``, ``.avi``, ``.mov``).
        cfg: The scene (default :class:`SceneConfig`); ``overrides`` replace its fields.

    Returns:
        The ground truth (also saved next to the video; read it back with :func:`load_video_ground_truth`).
    """
    from gaitforge.preprocess.video.encode import write_video
    from gaitforge.utils.atomic import atomic_path

    cfg = replace(cfg or SceneConfig(), **overrides)
    frames, gt = render_scene(cfg)
    write_video(path, frames, cfg.fps, codec=cfg.codec, crf=cfg.crf)
    info = {"config": asdict(cfg), "people": gt.people}
    with atomic_path(_gt_path(path)) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(
            f,
            ids=gt.ids,
            boxes=gt.boxes,
            keypoints=gt.keypoints,
            fps=np.float64(gt.fps),
            camera=gt.camera,
            info=json.dumps(info),
        )
    logger.info("synthetic video %s: %d frames, %d people", path, cfg.frames, cfg.n_people)
    return gt


def _gt_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".gt.npz")


def load_video_ground_truth(path: str | Path) -> VideoGroundTruth:
    """Read the ground truth written by :func:`make_synthetic_video` for the video at ``path``."""
    gt_file = _gt_path(path)
    if not gt_file.exists():
        raise FileNotFoundError(f"{gt_file}: ground truth of {path} not found")
    with np.load(gt_file, allow_pickle=False) as z:
        info = json.loads(str(z["info"]))
        camera = z["camera"] if "camera" in z.files else None  # absent in files written before camera motion
        return VideoGroundTruth(z["ids"], z["boxes"], z["keypoints"], float(z["fps"]), info["people"], camera)


def failure_scenes(
    width: int = 768, height: int = 576, frames: int = 150, fps: float = 25.0, seed: int = 0
) -> dict[str, SceneConfig]:
    """Named scenes that reproduce what breaks a static-camera front end on real phone footage.

    * ``static_crossing``: the reference, a static camera and people crossing (the pipeline's home ground);
    * ``handheld_crossing``: the same street filmed hand-held (drift 30 px, shake, roll, a 6 % zoom);
    * ``handheld_depth``: hand-held, people walking toward and away from the camera, and one crossing;
    * ``elevated_handheld``: a camera 35° above the horizontal, hand-held, all four walking directions;
    * ``occluded_overlay``: hand-held (drift 54 px), posts and low walls hiding parts of the walkers, and a
      timestamp and a logo drawn on the screen.

    Returns:
        Scene name → :class:`SceneConfig` (four people each; ``seed`` shifts every scene's seed).
    """
    base = SceneConfig(width=width, height=height, frames=frames, fps=fps, n_people=4, seed=seed)
    hand = {"camera_drift_px": 30.0, "camera_shake_px": 2.0, "camera_roll_deg": 1.0, "camera_zoom": 0.06}
    return {
        "static_crossing": base,
        "handheld_crossing": replace(base, seed=seed + 1, **hand),
        "handheld_depth": replace(
            base, seed=seed + 2, headings_deg=(90.0, -90.0, 0.0, -90.0), max_heading_deg=15.0, **hand
        ),
        "elevated_handheld": replace(
            base,
            seed=seed + 3,
            camera_elevation_deg=35.0,
            camera_distance_m=14.0,
            headings_deg=(0.0, 90.0, 180.0, -90.0),
            max_heading_deg=15.0,
            **dict(hand, camera_drift_px=12.0),
        ),
        "occluded_overlay": replace(
            base, seed=seed + 4, occluders=3, overlays=True, **dict(hand, camera_drift_px=54.0, camera_zoom=0.0)
        ),
    }
