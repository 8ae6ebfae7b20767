"""Person boxes from a foreground mask: the embedded default detector (no weights needed).

Connected foreground regions are closed, fragments of one person (a head or legs cut off by a colour close to
the background) are merged with the body above or below them, implausible regions are dropped by size and fill,
and regions too wide for one upright person (people walking side by side) are split at the valleys of their
column profile.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from gaitforge.preprocess.video.background import FOREGROUND
from gaitforge.preprocess.video.boxes import Detections

__all__ = ["BlobDetector"]

logger = logging.getLogger(__name__)


class BlobDetector:
    """Foreground blobs → person boxes.

    Args:
        min_area: Smallest person region (pixels).
        min_height: Smallest person height (pixels).
        min_fill: Smallest fraction of its box a region must cover.
        max_width_ratio: A region wider than this × its height is split at column-profile valleys.
        merge_gap: Fragments stacked vertically with a gap up to this × the larger height (+2 px) are merged
            when the smaller one has less than half the area of the larger.
        close_px: Radius of the closing that joins nearby foreground pixels.
    """

    def __init__(
        self,
        min_area: int = 120,
        min_height: int = 24,
        min_fill: float = 0.12,
        max_width_ratio: float = 0.65,
        merge_gap: float = 0.1,
        close_px: int = 2,
    ) -> None:
        self.min_area, self.min_height, self.min_fill = int(min_area), int(min_height), float(min_fill)
        self.max_width_ratio, self.merge_gap = float(max_width_ratio), float(merge_gap)
        k = 2 * int(close_px) + 1
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)) if close_px > 0 else None

    def __call__(self, mask: np.ndarray) -> Detections:
        """Detect people in one frame's mask (uint8 ``[H, W]``, foreground = 255)."""
        raw = (mask == FOREGROUND).astype(np.uint8)
        fg = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, self._kernel) if self._kernel is not None else raw
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        comps = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= max(4, self.min_area // 10)]
        groups = self._merge(comps, stats)
        boxes: list[tuple[float, float, float, float]] = []
        split: list[bool] = []
        for group in groups:
            x1 = min(stats[i, 0] for i in group)
            y1 = min(stats[i, 1] for i in group)
            x2 = max(stats[i, 0] + stats[i, 2] for i in group)
            y2 = max(stats[i, 1] + stats[i, 3] for i in group)
            lut = np.zeros(n, bool)
            lut[group] = True
            region = lut[labels[y1:y2, x1:x2]]
            wide = (x2 - x1) > self.max_width_ratio * (y2 - y1)
            parts = self._split(region & (raw[y1:y2, x1:x2] > 0)) if wide else [(0, x2 - x1)]
            for a, b in parts:
                sub = region[:, a:b]
                rows = np.flatnonzero(sub.any(1))
                if len(rows) == 0:
                    continue
                top, bottom = int(rows[0]), int(rows[-1]) + 1
                area, h, w = int(sub.sum()), bottom - top, b - a
                if area < self.min_area or h < self.min_height or area < self.min_fill * h * w:
                    continue
                boxes.append((x1 + a, y1 + top, x1 + b, y1 + bottom))
                split.append(len(parts) > 1)
        return Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32), np.asarray(split, bool))

    def _merge(self, comps: list[int], stats: np.ndarray) -> list[list[int]]:
        parent = {i: i for i in comps}

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for ai, a in enumerate(comps):
            xa, ya, wa, ha, area_a = stats[a]
            for b in comps[ai + 1 :]:
                xb, yb, wb, hb, area_b = stats[b]
                overlap = min(xa + wa, xb + wb) - max(xa, xb)
                gap = max(ya, yb) - min(ya + ha, yb + hb)
                if overlap < 0.5 * min(wa, wb) or gap > self.merge_gap * max(ha, hb) + 2:
                    continue
                if min(area_a, area_b) > 0.5 * max(area_a, area_b):
                    continue
                parent[root(a)] = root(b)
        groups: dict[int, list[int]] = {}
        for i in comps:
            groups.setdefault(root(i), []).append(i)
        return list(groups.values())

    def _split(self, region: np.ndarray) -> list[tuple[int, int]]:
        """Column ranges of the people in a wide region (bool ``[h, w]``, before closing), cut at deep valleys of the
        column profile."""
        h, w = region.shape
        profile = region.sum(0).astype(np.float32)
        k = max(3, (h // 25) | 1)
        smooth = np.convolve(profile, np.ones(k, np.float32) / k, mode="same")
        min_width = max(4, int(0.2 * h))
        cuts = [0]
        peak = float(smooth.max())
        for x in range(min_width, w - min_width):
            window = smooth[max(0, x - min_width // 2) : x + min_width // 2 + 1]
            if smooth[x] <= window.min() and smooth[x] < 0.35 * peak and x - cuts[-1] >= min_width:
                left, right = smooth[cuts[-1] : x].max(), smooth[x:].max()
                if smooth[x] < 0.5 * min(left, right):
                    cuts.append(x)
        cuts.append(w)
        return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b - a > 0]
