"""Which tracks are walking people: length, size, shape and motion rules, each with a reason when it fails.

Motion is measured on the track's foot point (bottom centre of the box) smoothed over about a second, in units of
the median box height, plus the movement in depth: the rate of change of ``log`` box height (fitted over two
seconds, so that segmentation jitter does not add up; counted only when the track's size changes by 22 % or more
from its first to its last second) times the distance in body heights, which is about the
focal length over the box height; the focal length is taken as the frame height (a 55° vertical field of view,
usual for phones). A person walking toward or away from the camera therefore walks as fast as one crossing it.
People who walk in loops or back and forth count as walking: what matters is the smoothed path, not the net
displacement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TrackFilter", "check_track", "track_motion"]


@dataclass(frozen=True)
class TrackFilter:
    """Rules a track must pass to become a gait sequence.

    Attributes:
        min_frames: Fewest frames (matched detections before pretreatment, kept silhouettes after).
        min_height_px: Smallest median box height.
        min_aspect: Smallest median height/width of the box (upright people are taller than wide).
        max_aspect: Largest median height/width (poles, fragments).
        min_path: Shortest smoothed path, in median box heights.
        min_speed: Speed (box heights per second, over the smoothed path) above which a frame counts as walking.
        min_walking: Smallest fraction of walking frames.
    """

    min_frames: int = 20
    min_height_px: float = 32.0
    min_aspect: float = 1.3
    max_aspect: float = 6.0
    min_path: float = 1.0
    min_speed: float = 0.2
    min_walking: float = 0.5


def track_motion(
    frames: np.ndarray,
    boxes: np.ndarray,
    fps: float,
    frame_height: float | None = None,
    min_depth_change: float = 0.2,
) -> tuple[np.ndarray, float]:
    """Per-frame speed (box heights per second) along the smoothed path, and the path length (box heights).

    Args:
        frames: int ``[T]`` frame indices (ascending).
        boxes: float32 ``[T, 4]`` xyxy.
        fps: Frame rate of the frame indices.
        frame_height: Frame height in pixels (the focal length's stand-in for movement in depth); ``None`` counts
            the change of ``log`` height as is (the behaviour before movement in depth was scaled).
        min_depth_change: Movement in depth counts only when the median box height of the track's last second
            differs from its first second's by at least this in ``log`` (0.2: 22 %): a person walking toward or
            away changes size steadily, while one standing behind a sign or half out of the frame only fluctuates.
    """
    fps = fps if fps > 0 else 25.0
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    scale = float(np.median(h))
    t = np.asarray(frames, np.float64) / fps
    # foot point in heights, and log height (a walk towards the camera changes the size)
    pts = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2 / scale, boxes[:, 3] / scale, np.log(h)], 1)
    if len(t) < 2:
        return np.zeros(len(t)), 0.0
    smooth = np.empty_like(pts)
    for i in range(len(t)):  # mean over a 1-second window (in time, so gaps and strides are handled)
        near = np.abs(t - t[i]) <= 0.5
        smooth[i] = pts[near].mean(0)
    step = np.linalg.norm(np.diff(smooth, axis=0), axis=1)
    dt = np.maximum(np.diff(t), 1e-6)
    speed = step / dt
    per_frame = np.concatenate([speed[:1], np.maximum(speed[:-1], speed[1:]) if len(speed) > 1 else speed, speed[-1:]])
    per_frame = per_frame[: len(t)]
    path = float(step.sum())
    if frame_height is not None and _net_depth_change(t, np.log(h)) >= min_depth_change:
        depth = _depth_speed(t, np.log(h), frame_height / h)
        per_frame = np.sqrt(per_frame**2 + depth**2)
        path += float(np.sum(depth[1:] * np.diff(t)))
    return per_frame, path


def _net_depth_change(t: np.ndarray, log_h: np.ndarray) -> float:
    """``|log|`` of the ratio of the median box heights of the track's last and first second."""
    first, last = log_h[t <= t[0] + 1.0], log_h[t >= t[-1] - 1.0]
    return float(abs(np.median(last) - np.median(first)))


def _depth_speed(t: np.ndarray, log_h: np.ndarray, distance: np.ndarray, window_s: float = 1.0) -> np.ndarray:
    """Speed in depth (body heights per second) per frame: the slope of ``log_h`` over ``t ± window_s`` (least
    squares) times the distance in body heights; a slope within two standard errors of zero (box jitter, which
    the distance factor would amplify for small, far people) counts as none."""
    out = np.zeros(len(t))
    for i in range(len(t)):
        near = np.abs(t - t[i]) <= window_s
        n = int(near.sum())
        if n < 4:
            continue
        tt = t[near] - t[near].mean()
        var = float(np.sum(tt * tt))
        if var <= 0:
            continue
        y = log_h[near] - log_h[near].mean()
        slope = float(np.sum(tt * y)) / var
        se = np.sqrt(float(np.sum((y - slope * tt) ** 2)) / (n - 2) / var)
        if abs(slope) > 2 * se:
            out[i] = abs(slope) * float(distance[i])
    return out


def check_track(
    frames: np.ndarray, boxes: np.ndarray, fps: float, rules: TrackFilter, frame_height: float | None = None
) -> tuple[str | None, str]:
    """Apply the rules.

    Args:
        frames: int ``[T]`` frame indices (ascending).
        boxes: float32 ``[T, 4]`` xyxy.
        fps: Frame rate of the frame indices.
        rules: The rules.
        frame_height: Frame height in pixels, to measure movement in depth (see :func:`track_motion`).

    Returns:
        ``(reason, detail)``: ``reason`` is ``None`` when the track is kept, else one of ``too_few_frames``,
        ``too_small``, ``not_upright``, ``too_elongated``, ``stationary``, ``too_slow``; ``detail`` gives the measured
        value (or, for a kept track, its motion).
    """
    n = len(frames)
    if n < rules.min_frames:
        return "too_few_frames", f"{n} frames < {rules.min_frames}"
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    h_med = float(np.median(h))
    if h_med < rules.min_height_px:
        return "too_small", f"median height {h_med:.0f} px < {rules.min_height_px:.0f}"
    aspect = float(np.median(h / np.maximum(w, 1.0)))
    if aspect < rules.min_aspect:
        return "not_upright", f"median height/width {aspect:.2f} < {rules.min_aspect}"
    if aspect > rules.max_aspect:
        return "too_elongated", f"median height/width {aspect:.2f} > {rules.max_aspect}"
    speed, path = track_motion(frames, boxes, fps, frame_height)
    if path < rules.min_path:
        return "stationary", f"path {path:.2f} heights < {rules.min_path}"
    walking = float(np.mean(speed >= rules.min_speed))
    if walking < rules.min_walking:
        return "too_slow", f"walking in {100 * walking:.0f}% of frames (median {np.median(speed):.2f} heights/s)"
    return None, f"path {path:.1f} heights, walking in {100 * walking:.0f}% of frames"
