"""Background models for static cameras: foreground masks with shadows marked.

Every model returns uint8 ``[H, W]`` masks: 0 background, :data:`SHADOW` (127) cast shadow, :data:`FOREGROUND` (255).

* :class:`MedianBackground` (the default): the background is the per-pixel temporal median of frames sampled
  across a sliding window of the video (a file can be read ahead, unlike a live stream), so people who walk
  through never enter it. A pixel is foreground when its colour distance to the background exceeds a threshold
  scaled by the frame's own noise level, with hysteresis (weak pixels are kept when connected to strong ones).
  Shadows are foreground pixels that are a darker copy of the background: brightness ratio in a band and small
  chromaticity distortion (Horprasert, Harwood & Davis, "A statistical approach for real-time robust background
  subtraction and shadow detection", ICCV Frame-Rate Workshop 1999).
* :class:`Mog2Background`: OpenCV's adaptive Gaussian mixture (Zivkovic, "Improved adaptive Gaussian mixture model
  for background subtraction", ICPR 2004) with its own shadow detector, for long or slowly changing videos.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

__all__ = [
    "FOREGROUND",
    "SHADOW",
    "BackgroundModel",
    "MedianBackground",
    "Mog2Background",
    "make_background",
    "remove_thin_lines",
]

logger = logging.getLogger(__name__)

FOREGROUND = 255
SHADOW = 127
_KERNEL3 = np.ones((3, 3), np.uint8)
_KERNEL5 = np.ones((5, 5), np.uint8)


@runtime_checkable
class BackgroundModel(Protocol):
    """What the pipeline needs from a background model.

    The pipeline reads sample frames ahead of the frame it processes: before :meth:`apply` on frame ``t`` it passes
    every ``step``-th frame of the processed range up to ``t + lookahead`` to :meth:`add_sample`, as long as
    :meth:`wants_samples` says so.
    """

    def plan(self, fps: float, n_frames: int) -> tuple[int, int]:
        """``(step, lookahead)`` in frames for a range of ``n_frames`` frames (0 when unknown) at ``fps``."""
        ...

    def wants_samples(self) -> bool:
        """Whether further samples are useful."""
        ...

    def add_sample(self, index: int, frame: np.ndarray) -> None:
        """Learn from frame ``index`` (uint8 ``[H, W, 3]`` RGB)."""
        ...

    def apply(self, index: int, frame: np.ndarray) -> np.ndarray:
        """Foreground mask of one frame: uint8 ``[H, W]`` with values 0, 127 (shadow), 255."""
        ...


def _shadow_test(
    frame: np.ndarray, bg: np.ndarray, ys: np.ndarray, xs: np.ndarray, low: float, high: float, chroma: float
) -> np.ndarray:
    """bool ``[K]``: pixels ``(ys, xs)`` that look like the background under less light."""
    i = frame[ys, xs].astype(np.float32)  # [K,3]
    b = bg[ys, xs].astype(np.float32) + 1.0
    bb = (b * b).sum(1)
    alpha = (i * b).sum(1) / bb  # brightness distortion
    cd = np.sqrt(((i - alpha[:, None] * b) ** 2).sum(1) / bb)  # chromaticity distortion, relative to |B|
    return (alpha > low) & (alpha < high) & (cd < chroma)


def remove_thin_lines(mask: np.ndarray, max_thickness: int = 3, min_length: int = 6) -> None:
    """Clear (in place) foreground structures at most ``max_thickness`` pixels tall and at least ``min_length``
    pixels and 4× their height wide: wires and tape, not people (whose thin parts, feet and hands, are short).

    Args:
        mask: uint8 ``[H, W]`` with :data:`FOREGROUND` pixels.
    """
    fg = (mask == FOREGROUND).astype(np.uint8)
    kernel = np.ones((max_thickness + 2, 1), np.uint8)
    thin = fg & ~cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(thin, connectivity=8)
    if n <= 1:
        return
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    line = (w >= min_length) & (w >= 4 * h)
    line[0] = False
    if line.any():
        mask[line[labels]] = 0


class MedianBackground:
    """Sliding-window temporal median background (see the module docstring).

    Args:
        window_s: Length of the window of samples behind each frame's background (seconds).
        samples: Samples per window.
        refresh_s: Recompute the median when the frame moves this far (seconds).
        k_high, k_low: Strong and weak thresholds in units of the frame's noise level (robust spread of the
            distance to the background).
        min_high, min_low: Floors of the strong and weak thresholds (grey levels of the per-channel maximum).
        shadows: Mark shadows (otherwise they stay foreground).
        shadow_brightness: Brightness-ratio band ``(low, high)`` of a shadow.
        shadow_chroma: Largest chromaticity distortion of a shadow.
        edge_refine: On the outline, keep a pixel only when its distance to the background is at least
            ``edge_fraction`` times the largest distance in its 5×5 neighbourhood (blur and chroma subsampling
            smear colour over the outline; this keeps the pixels that are mostly person).
        edge_fraction: See ``edge_refine``.
        remove_thin: Drop thin horizontal foreground lines (wires, barrier tape in the wind); see
            :func:`remove_thin_lines`.
    """

    def __init__(
        self,
        window_s: float = 60.0,
        samples: int = 25,
        refresh_s: float = 15.0,
        k_high: float = 7.0,
        k_low: float = 3.5,
        min_high: float = 28.0,
        min_low: float = 14.0,
        shadows: bool = True,
        shadow_brightness: tuple[float, float] = (0.45, 0.93),
        shadow_chroma: float = 0.05,
        edge_refine: bool = True,
        edge_fraction: float = 0.35,
        remove_thin: bool = True,
    ) -> None:
        if samples < 3:
            raise ValueError(f"MedianBackground: samples must be >= 3, got {samples}")
        self.window_s, self.samples, self.refresh_s = float(window_s), int(samples), float(refresh_s)
        self.k_high, self.k_low, self.min_high, self.min_low = k_high, k_low, min_high, min_low
        self.shadows, self.shadow_brightness, self.shadow_chroma = shadows, shadow_brightness, shadow_chroma
        self.edge_refine, self.edge_fraction, self.remove_thin = edge_refine, edge_fraction, remove_thin
        self._samples: deque[tuple[int, np.ndarray]] = deque()
        self._cache: tuple[int, np.ndarray] | None = None
        self.plan(25.0, 0)

    def plan(self, fps: float, n_frames: int) -> tuple[int, int]:
        self._fps = fps if fps > 0 else 25.0
        span = self.window_s * self._fps
        if n_frames > 0:
            span = min(span, n_frames)
        self._step = max(1, int(span // self.samples))
        self._refresh = max(1, int(round(self.refresh_s * self._fps)))
        self._half = int(self.window_s * self._fps / 2)
        return self._step, self._half + self._refresh

    def wants_samples(self) -> bool:
        return True

    def add_sample(self, index: int, frame: np.ndarray) -> None:
        self._samples.append((int(index), frame))

    def _chosen(self, centre: int) -> list[np.ndarray]:
        # forget samples too old for this block and any later one
        while (
            self._samples
            and self._samples[0][0] < centre - self._half - self._refresh
            and len(self._samples) > self.samples
        ):
            self._samples.popleft()
        order = sorted(range(len(self._samples)), key=lambda k: (abs(self._samples[k][0] - centre), k))
        chosen = sorted(order[: self.samples])
        if len(chosen) % 2 == 0 and len(chosen) > 1:
            chosen = chosen[:-1]  # odd count: the median is a sample value, no averaging
        return [self._samples[k][1] for k in chosen]

    def background(self, index: int) -> np.ndarray:
        """The background behind frame ``index``: uint8 ``[H, W, 3]``."""
        if not self._samples:
            raise RuntimeError("MedianBackground: no sample frames were added before apply()")
        block = index // self._refresh
        if self._cache is not None and self._cache[0] == block:
            return self._cache[1]
        chosen = self._chosen(block * self._refresh + self._refresh // 2)
        med = np.partition(np.stack(chosen), len(chosen) // 2, axis=0)[len(chosen) // 2]
        self._cache = (block, np.ascontiguousarray(med))
        return self._cache[1]

    def apply(self, index: int, frame: np.ndarray) -> np.ndarray:
        bg = self.background(index)
        diff = cv2.absdiff(frame, bg)
        c0, c1, c2 = cv2.split(diff)
        dist = cv2.max(cv2.max(c0, c1), c2)  # [H,W] uint8
        noise = 1.4826 * float(np.median(dist[::4, ::4])) + 0.5
        high = max(self.min_high, self.k_high * noise)
        low = max(self.min_low, self.k_low * noise)
        weak = (dist > low).astype(np.uint8)
        out = np.zeros(dist.shape, np.uint8)
        ys, xs = np.nonzero(weak)
        if len(ys) == 0:
            return out
        if self.edge_refine:
            # Mixed pixels on the outline belong to the person when more than half of the local contrast is there.
            band = weak & ~cv2.erode(weak, _KERNEL3, iterations=2)
            local = cv2.dilate(dist, _KERNEL5)
            weak[(band > 0) & (dist < self.edge_fraction * local)] = 0
        shadow = np.zeros(dist.shape, np.uint8)
        if self.shadows:
            ys, xs = np.nonzero(weak)
            is_shadow = _shadow_test(frame, bg, ys, xs, *self.shadow_brightness, self.shadow_chroma)
            shadow[ys[is_shadow], xs[is_shadow]] = 1
            weak[ys[is_shadow], xs[is_shadow]] = 0
            self._restore_enclosed(shadow, weak)
        n, labels = cv2.connectedComponents(weak, connectivity=8)
        strong = labels[(dist > high) & (weak > 0)]
        keep = np.zeros(n, bool)
        keep[np.unique(strong)] = True
        keep[0] = False
        out[shadow > 0] = SHADOW
        out[keep[labels]] = FOREGROUND
        if self.remove_thin:
            remove_thin_lines(out)
        return out

    @staticmethod
    def _restore_enclosed(shadow: np.ndarray, fg: np.ndarray) -> None:
        """Shadow regions bordered mostly by foreground are dark clothing, not shadows: move them back to ``fg``."""
        ys, xs = np.nonzero(shadow)
        if len(ys) == 0:
            return
        y0, x0 = max(0, int(ys.min()) - 2), max(0, int(xs.min()) - 2)
        y1, x1 = int(ys.max()) + 3, int(xs.max()) + 3
        sh, f = shadow[y0:y1, x0:x1], fg[y0:y1, x0:x1]  # views: edits reach the full masks
        n, labels = cv2.connectedComponents(sh, connectivity=8)
        ring_labels = cv2.dilate(labels.astype(np.float32), _KERNEL3)  # label of the adjacent shadow region
        ring = (sh == 0) & (ring_labels > 0)
        lab = ring_labels[ring].astype(np.int64)
        on_fg = np.bincount(lab, weights=f[ring].astype(np.float64), minlength=n)
        total = np.bincount(lab, minlength=n)
        enclosed = on_fg > 0.5 * np.maximum(total, 1)
        enclosed[0] = False
        if enclosed.any():
            move = enclosed[labels]
            f[move] = 1
            sh[move] = 0


class Mog2Background:
    """OpenCV's MOG2 background subtractor with shadow detection, behind the :class:`BackgroundModel` interface.

    Args:
        history: Frames of memory.
        var_threshold: Squared Mahalanobis distance threshold.
        shadows: Detect shadows (marked 127).
        warmup: Times each warm-up sample is learnt before the first real frame.
        warmup_samples: Sample frames (one a second) learnt before the first real frame.
    """

    def __init__(
        self,
        history: int = 300,
        var_threshold: float = 24.0,
        shadows: bool = True,
        warmup: int = 2,
        warmup_samples: int = 20,
    ) -> None:
        self._model = cv2.createBackgroundSubtractorMOG2(
            history=history, varThreshold=var_threshold, detectShadows=shadows
        )
        self.warmup, self.warmup_samples = int(warmup), int(warmup_samples)
        self._started = False

    def plan(self, fps: float, n_frames: int) -> tuple[int, int]:
        step = max(1, int(round(fps if fps > 0 else 25.0)))  # one sample a second
        if n_frames > 0:
            step = min(step, max(1, n_frames // 20))
        return step, self.warmup_samples * step

    def wants_samples(self) -> bool:
        return not self._started

    def add_sample(self, index: int, frame: np.ndarray) -> None:
        if not self._started:
            for _ in range(self.warmup):
                self._model.apply(frame)

    def apply(self, index: int, frame: np.ndarray) -> np.ndarray:
        self._started = True
        mask = self._model.apply(frame)
        mask[(mask > 0) & (mask < FOREGROUND)] = SHADOW
        remove_thin_lines(mask)
        return mask


def make_background(name: str, **kwargs: object) -> BackgroundModel:
    """A background model by name: ``"median"`` (default) or ``"mog2"``."""
    if name == "median":
        return MedianBackground(**kwargs)  # type: ignore[arg-type]
    if name == "mog2":
        return Mog2Background(**kwargs)  # type: ignore[arg-type]
    raise ValueError(f"background model {name!r} is unknown; expected 'median' or 'mog2'")
