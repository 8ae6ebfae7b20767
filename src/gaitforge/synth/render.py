"""Rasterise parts into part-label frames, and optional segmentation artefacts.

Each part's blob outlines are hulled and filled with ``cv2.fillConvexPoly`` at 1/16-pixel precision, far parts
first (painter's order by mean blob depth), so the label frame also tells which part is visible at a pixel.
The binary silhouette is ``labels > 0``.
"""

from __future__ import annotations

import cv2
import numpy as np

from gaitforge.synth.camera import Camera
from gaitforge.synth.config import ArtefactConfig
from gaitforge.synth.parts import Part

__all__ = ["add_artefacts", "rasterise"]

_SHIFT = 4
_ONE = 1 << _SHIFT


def rasterise(parts: list[Part], camera: Camera, height: int, width: int, n_outline: int = 12) -> np.ndarray:
    """Render parts to label frames.

    Args:
        parts: Parts in label order (label ``i + 1`` is ``parts[i]``; at most 255 parts).
        camera: The camera.
        height, width: Frame size in pixels.
        n_outline: Outline points per blob.

    Returns:
        uint8 ``[T,H,W]``: 0 background, ``i + 1`` where part ``i`` is the nearest visible part.
    """
    if len(parts) > 255:
        raise ValueError(f"synth: at most 255 parts can be labelled, got {len(parts)}")
    centres = np.stack([b.centre for p in parts for b in p.blobs], 1)  # [T,B,3]
    axes = np.stack([np.broadcast_to(b.axes, (centres.shape[0], 3, 3)) for p in parts for b in p.blobs], 1)
    pts, z = camera.outlines(centres, axes, n_outline)  # [T,B,n,2], [T,B]
    fixed = np.round(pts * _ONE).astype(np.int32)
    bounds = np.cumsum([0] + [len(p.blobs) for p in parts])
    depth = np.stack([z[:, bounds[i] : bounds[i + 1]].mean(1) + p.depth_bias for i, p in enumerate(parts)], 1)
    index = {p.name: i for i, p in enumerate(parts)}
    for i, p in enumerate(parts):
        for name in p.covers:  # enclosed parts go behind their cover
            if name in index:
                depth[:, index[name]] = np.maximum(depth[:, index[name]], depth[:, i] + 1e-3)
    order = np.argsort(-depth, axis=1, kind="stable")  # far first
    n_frames = centres.shape[0]
    out = np.zeros((n_frames, height, width), dtype=np.uint8)
    single = [bounds[i + 1] - bounds[i] == 1 for i in range(len(parts))]
    for t in range(n_frames):
        frame = out[t]
        ft = fixed[t]
        for i in order[t]:
            poly = ft[bounds[i] : bounds[i + 1]].reshape(-1, 2)
            if not single[i]:
                poly = cv2.convexHull(poly)
            cv2.fillConvexPoly(frame, poly, int(i) + 1, cv2.LINE_8, _SHIFT)
    return out


def add_artefacts(frames: np.ndarray, cfg: ArtefactConfig, rng: np.random.Generator) -> np.ndarray:
    """Segmentation-like damage on binary frames (0/255): flipped boundary pixels, holes, spurious blobs.

    Holes are punched inside the body, blobs are placed within the body's row span (as shadows and
    background clutter are) so that the pretreatment's vertical crop is not dominated by them.

    Args:
        frames: uint8 ``[T,H,W]`` binary silhouettes.
        cfg: Artefact strengths.
        rng: Source of randomness.

    Returns:
        A damaged copy, uint8 ``[T,H,W]``.
    """
    out = frames.copy()
    if not cfg.enabled:
        return out
    kernel = np.ones((3, 3), np.uint8)
    for t in range(out.shape[0]):
        f = out[t]
        fg = f > 0
        if not fg.any():
            continue
        if cfg.edge_noise > 0:
            band = (cv2.dilate(f, kernel) > 0) & ~(cv2.erode(f, kernel) > 0)
            flip = band & (rng.random(f.shape) < cfg.edge_noise)
            f[flip] = 255 - f[flip]
        ys, xs = np.nonzero(fg)
        h = ys.max() - ys.min() + 1
        for _ in range(rng.poisson(cfg.holes)):
            k = rng.integers(len(ys))
            r = max(1, round(float(h * rng.uniform(0.008, 0.025))))
            cv2.circle(f, (int(xs[k]), int(ys[k])), r, 0, -1)
        for _ in range(rng.poisson(cfg.blobs)):
            y = int(rng.integers(ys.min(), ys.max() + 1))
            x = int(np.clip(rng.normal(xs.mean(), 0.35 * h), 0, f.shape[1] - 1))
            axes = (max(1, int(h * rng.uniform(0.01, 0.05))), max(1, int(h * rng.uniform(0.01, 0.04))))
            cv2.ellipse(f, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    return out
