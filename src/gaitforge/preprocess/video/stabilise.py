"""Camera motion: the global motion between frames, a stabilised coordinate frame, and the static/moving decision.

The motion between two frames is a similarity transform (rotation, uniform scale, translation) fitted with RANSAC
to sparse optical flow: Shi-Tomasi corners (Shi & Tomasi, CVPR 1994) of the earlier frame followed into the later
one by pyramidal Lucas-Kanade (Bouguet 2000), on grey frames scaled to about 320 px wide. Walking people are a
minority of the corners and are rejected as RANSAC outliers. :class:`Stabiliser` chains these transforms so that
every frame is mapped into the coordinates of the first one (the *stabilised frame*): the background model and the
tracker work there, so a drifting camera neither blurs the background nor counts as walking.
:func:`measure_camera_motion` samples a few frame pairs to decide whether a video's camera moves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gaitforge.preprocess.video.decode import iter_frames, probe_video

__all__ = ["CameraMotion", "Stabiliser", "estimate_motion", "map_boxes", "measure_camera_motion", "warp_crop"]

logger = logging.getLogger(__name__)

_WORK_WIDTH = 320


def _small_grey(frame: np.ndarray) -> tuple[np.ndarray, float]:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    s = min(1.0, _WORK_WIDTH / grey.shape[1])
    if s < 1.0:
        grey = cv2.resize(grey, (round(grey.shape[1] * s), round(grey.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return grey, s


def estimate_motion(prev: np.ndarray, cur: np.ndarray, max_corners: int = 300) -> np.ndarray | None:
    """The similarity transform taking ``cur``'s pixels to ``prev``'s.

    Args:
        prev, cur: uint8 frames ``[H, W, 3]`` RGB or ``[H, W]`` grey, same size.
        max_corners: Corners tracked.

    Returns:
        float64 ``[3, 3]`` (full-resolution pixels), or ``None`` when too few corners could be followed (a blank
        or featureless frame).
    """
    g0, s = _small_grey(prev)
    g1, _ = _small_grey(cur)
    pts = cv2.goodFeaturesToTrack(g0, max_corners, 0.01, 7, blockSize=7)
    if pts is None or len(pts) < 8:
        return None
    nxt, ok, _ = cv2.calcOpticalFlowPyrLK(g0, g1, pts, None, winSize=(21, 21), maxLevel=3)
    ok = ok.reshape(-1).astype(bool)
    if ok.sum() < 8:
        return None
    A, inliers = cv2.estimateAffinePartial2D(
        nxt[ok], pts[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0, maxIters=500
    )
    if A is None or inliers is None or inliers.sum() < 6:
        return None
    M = np.eye(3)
    M[:2] = A
    M[:2, 2] /= s  # scaled pixels → full-resolution pixels (rotation and scale are unchanged)
    return M


def map_boxes(boxes: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Boxes float32 ``[N, 4]`` xyxy through the transform ``M`` ``[3, 3]``: the bounding boxes of the mapped
    corners."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(b):
        return b.astype(np.float32)
    xs, ys = b[:, [0, 2, 0, 2]], b[:, [1, 1, 3, 3]]
    px = M[0, 0] * xs + M[0, 1] * ys + M[0, 2]
    py = M[1, 0] * xs + M[1, 1] * ys + M[1, 2]
    return np.stack([px.min(1), py.min(1), px.max(1), py.max(1)], 1).astype(np.float32)


def warp_crop(mask: np.ndarray, origin: tuple[int, int], M: np.ndarray, width: int, height: int):
    """A mask crop (uint8 ``[h, w]`` at ``origin``) through ``M``; returns ``(mask, origin)`` of the mapped crop,
    clipped to a ``width`` × ``height`` frame."""
    h, w = mask.shape
    x0, y0 = origin
    box = map_boxes(np.array([[x0, y0, x0 + w, y0 + h]], np.float32), M)[0]
    nx0, ny0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    nx1, ny1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if nx1 <= nx0 or ny1 <= ny0:
        return np.zeros((1, 1), np.uint8), (0, 0)
    T = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)  # crop → frame
    S = np.array([[1, 0, -nx0], [0, 1, -ny0], [0, 0, 1]], np.float64)  # frame → new crop
    A = (S @ M @ T)[:2]
    out = cv2.warpAffine(mask, A, (nx1 - nx0, ny1 - ny0), flags=cv2.INTER_NEAREST, borderValue=0)
    return out, (nx0, ny0)


class Stabiliser:
    """Maps each frame, fed in order, into the coordinates of the first one.

    Args:
        max_corners: Corners tracked between consecutive frames.

    Attributes:
        failures: Frame pairs whose motion could not be estimated (taken as no motion).
    """

    def __init__(self, max_corners: int = 300) -> None:
        self.max_corners = int(max_corners)
        self._prev: np.ndarray | None = None
        self._to_ref = np.eye(3)
        self.failures = 0

    def update(self, frame: np.ndarray) -> np.ndarray:
        """The transform (float64 ``[3, 3]``) from this frame's pixels to the stabilised frame."""
        if self._prev is not None:
            step = estimate_motion(self._prev, frame, self.max_corners)
            if step is None:
                self.failures += 1
            else:
                self._to_ref = self._to_ref @ step
        self._prev = frame
        return self._to_ref.copy()

    @staticmethod
    def warp(frame: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frame in stabilised coordinates and the bool ``[H, W]`` mask of its pixels that the camera saw
        (eroded by 2 px, as the border is interpolated)."""
        height, width = frame.shape[:2]
        out = cv2.warpAffine(frame, M[:2], (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        seen = cv2.warpAffine(np.full((height, width), 255, np.uint8), M[:2], (width, height), flags=cv2.INTER_NEAREST)
        seen = cv2.erode(seen, np.ones((5, 5), np.uint8))
        return out, seen > 0


@dataclass(frozen=True)
class CameraMotion:
    """How much a video's camera moves.

    Attributes:
        pairs: Frame pairs measured (``failed`` of them without an estimate).
        gap_s: Time between the frames of a pair.
        median_shift_px: Median over pairs of the largest displacement of a frame corner.
        max_shift_px: Largest such displacement.
        drift_px: Largest displacement of a frame corner between the first sampled frame and any later one
            (the pairs chained).
        moving: The verdict (see :func:`measure_camera_motion`).
    """

    pairs: int
    failed: int
    gap_s: float
    median_shift_px: float
    max_shift_px: float
    drift_px: float
    moving: bool

    def summary(self) -> str:
        """One line for logs and reports."""
        return (
            f"camera {'moving' if self.moving else 'static'}: {self.pairs} pairs {self.gap_s:.2f} s apart, "
            f"corner shift median {self.median_shift_px:.1f} px, max {self.max_shift_px:.1f} px, "
            f"drift {self.drift_px:.1f} px"
        )


def _corner_shift(M: np.ndarray, width: int, height: int) -> float:
    c = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64)
    return float(np.linalg.norm((c @ M.T)[:, :2] - c[:, :2], axis=1).max())


def measure_camera_motion(
    path: str | Path,
    start_s: float | None = None,
    end_s: float | None = None,
    pairs: int = 12,
    gap_s: float = 0.2,
    shift_threshold: float = 1.5,
    drift_threshold: float = 6.0,
) -> CameraMotion:
    """Decide whether a video's camera moves, from ``pairs`` frame pairs ``gap_s`` apart spread over the range.

    The camera is *moving* when the median corner displacement over a pair exceeds ``shift_threshold`` pixels
    (shake, panning) or the chained displacement from the first sampled frame exceeds ``drift_threshold`` pixels
    (slow drift). Static cameras measure well under a pixel (compression noise).

    Raises:
        FileNotFoundError, VideoDecodeError: as :func:`~gaitforge.preprocess.video.decode.iter_frames`.
    """
    info = probe_video(path)
    fps = info.fps if info.fps > 0 else 25.0
    gap = max(1, round(gap_s * fps))
    first = int(round((start_s or 0.0) * fps))
    last = info.frames - 1 if info.frames else first + gap * pairs
    if end_s is not None:
        last = min(last, int(round(end_s * fps)) - 1)
    span = max(0, last - gap - first)
    starts = sorted({first + round(k * span / max(1, pairs - 1)) for k in range(pairs)}) if span else [first]
    wanted = set(starts) | {s + gap for s in starts}
    frames = dict(iter_frames(path, 1, None, None, frames=wanted))
    shifts, failed = [], 0
    chain = np.eye(3)
    drift = 0.0
    height, width = info.height, info.width
    prev_start = None
    for s in starts:
        a, b = frames.get(s), frames.get(s + gap)
        if a is None or b is None:
            continue
        M = estimate_motion(a, b)
        if M is None:
            failed += 1
            continue
        shifts.append(_corner_shift(M, width, height))
        if prev_start is not None:  # chain the sampled start frames too (for drift)
            link = estimate_motion(frames[prev_start], a)
            if link is not None:
                chain = chain @ link
                drift = max(drift, _corner_shift(chain, width, height))
        prev_start = s
    med = float(np.median(shifts)) if shifts else 0.0
    mx = float(np.max(shifts)) if shifts else 0.0
    moving = med > shift_threshold or drift > drift_threshold
    result = CameraMotion(len(starts), failed, gap / fps, med, mx, drift, moving)
    logger.info("%s: %s", path, result.summary())
    return result
