"""Synthetic RGB street videos with ground truth: textured walkers crossing a static textured scene.

The walkers come from the synthetic gait world (body shape, walking style, kinematics and the part rasteriser of
:mod:`gaitforge.synth`); here several of them share one ground plane, at different depths and headings, seen by one
static camera. Each is dressed in textured clothes (shirt, trousers, shoes, skin), composited far to near with a
soft ground shadow over a procedurally textured background, given sensor noise, and encoded as a real video file
with PyAV. Ground truth per frame: which person is visible at each pixel (masks), boxes of the visible pixels, and
COCO-17 keypoints.

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

__all__ = ["SceneConfig", "VideoGroundTruth", "load_video_ground_truth", "make_synthetic_video", "render_scene"]

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth_range_m", tuple(self.depth_range_m))
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
    """

    ids: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray
    fps: float
    people: list[dict[str, Any]] = field(default_factory=list)

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
        heading = (0.0 if k % 2 == 0 else 180.0) + float(rng.uniform(-1, 1)) * cfg.max_heading_deg
        rot = rot_z(np.array([np.deg2rad(heading)]))[0]
        depth = float(depths[order[k]]) + float(rng.normal(0.0, 0.3))
        half_width = 0.5 * cfg.width / focal * (cfg.camera_distance_m + depth)
        t_ref = int(rng.uniform(0.25, 0.75) * (cfg.frames - 1))  # when the walker passes its reference point
        ref = np.array([rng.uniform(-0.6, 0.6) * half_width, depth, 0.0])
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


def render_scene(cfg: SceneConfig) -> tuple[Iterator[np.ndarray], VideoGroundTruth]:
    """Render the video frame by frame.

    Returns:
        ``(frames, ground_truth)``: an iterator of uint8 ``[H, W, 3]`` RGB frames, and the
        :class:`VideoGroundTruth` that the iterator fills in as it goes (complete once exhausted).
    """
    focal = cfg.focal_px or 1.05 * cfg.width
    target = np.array([0.0, 0.0, 0.9])
    cam_all = Camera(
        90.0, cfg.camera_elevation_deg, cfg.camera_distance_m, focal, cfg.width / 2, cfg.height / 2, target[None]
    )
    horizon = cfg.height / 2 - focal * np.tan(np.deg2rad(cfg.camera_elevation_deg))
    bg = _background(cfg, horizon, np.random.default_rng([cfg.seed, 30]))
    people = _people(cfg, focal)
    n, t_all = len(people), cfg.frames
    gt = VideoGroundTruth(
        ids=np.zeros((t_all, cfg.height, cfg.width), np.uint8),
        boxes=np.full((t_all, n, 4), np.nan, np.float32),
        keypoints=np.zeros((t_all, n, 17, 3), np.float32),
        fps=cfg.fps,
        people=[dict(p.meta, person=k) for k, p in enumerate(people)],
    )
    names = [[q.name for q in p.parts] for p in people]
    luts = []
    for nm in names:
        lut = np.zeros(256, np.int64)
        lut[1 : len(nm) + 1] = [_CLASS[x[2:] if x[:2] in ("l_", "r_") else x] for x in nm]
        luts.append(lut)
    noise_rng = np.random.default_rng([cfg.seed, 31])

    def frames() -> Iterator[np.ndarray]:
        for a in range(0, t_all, _CHUNK):
            b = min(t_all, a + _CHUNK)
            tgt = np.broadcast_to(target, (b - a, 3))
            cam = Camera(
                90.0, cfg.camera_elevation_deg, cfg.camera_distance_m, focal, cfg.width / 2, cfg.height / 2, tgt
            )
            labels = [rasterise(_sliced(p.parts, a, b), cam, cfg.height, cfg.width) for p in people]
            pel_uv, pel_z = cam.project(np.stack([p.pelvis[a:b] for p in people], 1))  # [c,P,2], [c,P]
            kp_uv, _ = cam.project(np.stack([p.joints[a:b] for p in people], 1))  # [c,P,17,2]
            for i in range(b - a):
                t = a + i
                img = bg.copy()
                if cfg.shadows:
                    shade = np.ones((cfg.height, cfg.width), np.float32)
                    for p in people:
                        foot = p.pelvis[t] * [1, 1, 0]
                        disc = np.diag([0.45, 0.28, 0.0])[None, None]
                        pts, _ = cam_all.outlines(foot[None, None], disc, 24)
                        cv2.fillConvexPoly(shade, np.round(pts[0, 0] * 16).astype(np.int32), 0.62, cv2.LINE_AA, 4)
                    img *= cv2.GaussianBlur(shade, (0, 0), 2.0)[..., None]
                ids = gt.ids[t]
                for k in np.argsort(-pel_z[i]):  # far first
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
                for k in range(n):
                    ys, xs = np.nonzero(ids == k + 1)
                    if len(ys):
                        gt.boxes[t, k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
                    uv = kp_uv[i, k]
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
            f, ids=gt.ids, boxes=gt.boxes, keypoints=gt.keypoints, fps=np.float64(gt.fps), info=json.dumps(info)
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
        return VideoGroundTruth(z["ids"], z["boxes"], z["keypoints"], float(z["fps"]), info["people"])
