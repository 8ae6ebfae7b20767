"""Which tracks are walking people: length, size, shape and motion rules, each with a reason when it fails.

Motion is measured on the track's foot point (bottom centre of the box) smoothed over about a second, in units of
the median box height, plus the change of ``log`` box height (movement in depth). People who walk in loops or
back and forth count as walking: what matters is the smoothed path, not the net displacement.
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


def track_motion(frames: np.ndarray, boxes: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """Per-frame speed (box heights per second) along the smoothed path, and the path length (box heights).

    Args:
        frames: int ``[T]`` frame indices (ascending).
        boxes: float32 ``[T, 4]`` xyxy.
        fps: Frame rate of the frame indices.
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
    return per_frame[: len(t)], float(step.sum())


def check_track(frames: np.ndarray, boxes: np.ndarray, fps: float, rules: TrackFilter) -> tuple[str | None, str]:
    """Apply the rules.

    Args:
        frames: int ``[T]`` frame indices (ascending).
        boxes: float32 ``[T, 4]`` xyxy.
        fps: Frame rate of the frame indices.
        rules: The rules.

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
    speed, path = track_motion(frames, boxes, fps)
    if path < rules.min_path:
        return "stationary", f"path {path:.2f} heights < {rules.min_path}"
    walking = float(np.mean(speed >= rules.min_speed))
    if walking < rules.min_walking:
        return "too_slow", f"walking in {100 * walking:.0f}% of frames (median {np.median(speed):.2f} heights/s)"
    return None, f"path {path:.1f} heights, walking in {100 * walking:.0f}% of frames"
