"""Per-person silhouettes from the foreground mask, and the pluggable segmenter interface.

For each person box in a frame, the foreground (shadows excluded) is cropped around the box; where other boxes
overlap it, each pixel goes to the person whose colour model explains it best, with a bonus for the nearer one (on
a ground plane, the box whose bottom is lower is nearer the camera and occludes the other); then the largest region
touching the box (found on the closed crop) is kept with any fragments whose centre lies in the box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from gaitforge.preprocess.video.background import FOREGROUND
from gaitforge.preprocess.video.boxes import expand_box

__all__ = ["ForegroundSilhouettes", "MaskCrop", "Segmenter", "mask_box", "paste_mask", "person_masks", "refine_mask"]


@dataclass
class MaskCrop:
    """A binary person mask stored as a crop of the frame.

    Attributes:
        mask: uint8 ``[h, w]`` (0 or 255).
        origin: ``(x0, y0)`` of the crop in the frame.
    """

    mask: np.ndarray
    origin: tuple[int, int]


@runtime_checkable
class Segmenter(Protocol):
    """Segments the people in given boxes (e.g. :class:`~gaitforge.preprocess.video.onnx_segmenter.OnnxSegmenter`)."""

    def __call__(self, frame: np.ndarray, boxes: np.ndarray) -> list[MaskCrop]:
        """``frame`` uint8 ``[H, W, 3]`` RGB, ``boxes`` float32 ``[N, 4]`` xyxy → one mask crop per box."""
        ...


def refine_mask(mask: np.ndarray, inner: tuple[int, int, int, int], min_fraction: float = 0.02) -> np.ndarray:
    """Clean a binary person crop.

    Args:
        mask: uint8 ``[h, w]``, non-zero = person.
        inner: The person's box within the crop ``(x1, y1, x2, y2)``.
        min_fraction: Fragments smaller than this × the main region are dropped.

    Returns:
        uint8 ``[h, w]`` (0 or 255).
    """
    raw = (mask > 0).astype(np.uint8)
    h_box = max(1, inner[3] - inner[1])
    k = max(3, (h_box // 40) | 1)
    # regions are found on the closed mask (nearby pieces belong together) but only the original pixels are kept
    fg = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(fg, connectivity=8)
    out = np.zeros(fg.shape, np.uint8)
    if n <= 1:
        return out
    x1, y1, x2, y2 = inner
    box_labels = labels[y1:y2, x1:x2]
    touching = np.unique(box_labels[box_labels > 0])
    if len(touching) == 0:
        return out
    main = touching[np.argmax(stats[touching, cv2.CC_STAT_AREA])]
    keep = np.zeros(n, bool)
    keep[main] = True
    big = stats[:, cv2.CC_STAT_AREA] >= min_fraction * stats[main, cv2.CC_STAT_AREA]
    cx, cy = centroids[:, 0], centroids[:, 1]
    inside = (cx >= x1) & (cx < x2) & (cy >= y1) & (cy < y2)
    keep |= big & inside
    keep[0] = False
    out[keep[labels] & (raw > 0)] = 255
    return out


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]))


class ForegroundSilhouettes:
    """Cuts each tracked person's silhouette out of the foreground mask.

    Where boxes overlap, each foreground pixel goes to the person whose colour model explains it best: per track, a
    colour histogram (``bins``³ RGB bins) for each of three body bands (top, middle, bottom third of the box), learnt
    from frames where the person's box touches no other; the nearer person (lower box bottom) gets a prior bonus, as
    it is the one in front. A track without a model yet scores every colour alike, so depth decides.

    Args:
        margin: Crop margin around each box (fraction of its size).
        bins: Histogram bins per colour channel.
        learn: Weight of a new frame in the running colour model.
        nearer_bonus: Log-likelihood bonus of the nearer person.
    """

    def __init__(self, margin: float = 0.1, bins: int = 8, learn: float = 0.2, nearer_bonus: float = 1.0) -> None:
        self.margin, self.bins, self.learn, self.nearer_bonus = margin, int(bins), float(learn), float(nearer_bonus)
        self._shift = 8 - int(np.log2(self.bins))
        self.models: dict[int, np.ndarray] = {}  # track id → log-probabilities [3, bins³]

    def _colour_index(self, rgb: np.ndarray) -> np.ndarray:
        q = (rgb >> self._shift).astype(np.int64)
        return (q[..., 0] * self.bins + q[..., 1]) * self.bins + q[..., 2]

    @staticmethod
    def _bands(ys: np.ndarray, box: np.ndarray) -> np.ndarray:
        return np.clip(((ys - box[1]) * 3 / max(float(box[3] - box[1]), 1.0)).astype(np.int64), 0, 2)

    def _score(self, track_id: int, colour: np.ndarray, ys: np.ndarray, box: np.ndarray) -> np.ndarray:
        model = self.models.get(track_id)
        if model is None:
            return np.full(colour.shape, -3 * np.log(self.bins))
        return model[self._bands(ys, box), colour]

    def _learn(self, track_id: int, colour: np.ndarray, ys: np.ndarray, box: np.ndarray) -> None:
        n = self.bins**3
        counts = np.stack([np.bincount(colour[self._bands(ys, box) == k], minlength=n) for k in range(3)]).astype(
            np.float64
        )
        prob = (counts + 0.5) / (counts.sum(1, keepdims=True) + 0.5 * n)
        old = self.models.get(track_id)
        prob = prob if old is None else (1 - self.learn) * np.exp(old) + self.learn * prob
        self.models[track_id] = np.log(prob)

    def __call__(
        self, frame: np.ndarray, fg_mask: np.ndarray, track_ids: list[int], boxes: np.ndarray, learn: bool = True
    ) -> list[MaskCrop]:
        """Silhouette crops for the tracks in one frame.

        Args:
            frame: uint8 ``[H, W, 3]`` RGB.
            fg_mask: uint8 ``[H, W]`` (255 foreground, 127 shadow, 0 background).
            track_ids: Track id per box.
            boxes: float32 ``[N, 4]`` xyxy.
            learn: Update the colour models of people whose box touches no other.
        """
        height, width = fg_mask.shape
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        out = []
        for i, box in enumerate(boxes):
            x0, y0, x1, y1 = expand_box(box, self.margin, width, height)
            crop = fg_mask[y0:y1, x0:x1] == FOREGROUND
            region = np.array([x0, y0, x1, y1], np.float32)
            rivals = [j for j in range(len(boxes)) if j != i and _overlaps(boxes[j], region)]
            ys, xs = np.nonzero(crop)
            if rivals and len(ys):
                colour = self._colour_index(frame[y0:y1, x0:x1][ys, xs])
                gy, gx = ys + y0, xs + x0
                mine = self._score(track_ids[i], colour, gy, box)
                lose = np.zeros(len(ys), bool)
                for j in rivals:
                    bj = boxes[j]
                    inside = (gx >= bj[0]) & (gx < bj[2]) & (gy >= bj[1]) & (gy < bj[3])
                    if not inside.any():
                        continue
                    theirs = self._score(track_ids[j], colour[inside], gy[inside], bj)
                    bonus = self.nearer_bonus if bj[3] > box[3] else -self.nearer_bonus
                    lose[np.flatnonzero(inside)[theirs + bonus > mine[inside]]] = True
                crop[ys[lose], xs[lose]] = False
            inner = (int(round(box[0])) - x0, int(round(box[1])) - y0, int(round(box[2])) - x0, int(round(box[3])) - y0)
            mask = refine_mask(crop.astype(np.uint8), inner)
            out.append(MaskCrop(mask, (x0, y0)))
            if learn and not rivals:
                my, mx = np.nonzero(mask)
                if len(my) >= 20:
                    self._learn(track_ids[i], self._colour_index(frame[y0:y1, x0:x1][my, mx]), my + y0, box)
        return out


def person_masks(fg_mask: np.ndarray, boxes: np.ndarray, margin: float = 0.1) -> list[MaskCrop]:
    """Silhouette crops of the people in ``boxes`` from one frame's foreground mask, without colour models
    (overlaps go to the nearer person).

    Args:
        fg_mask: uint8 ``[H, W]`` (255 foreground, 127 shadow, 0 background).
        boxes: float32 ``[N, 4]`` xyxy.
        margin: Crop margin around each box (fraction of its size).

    Returns:
        One :class:`MaskCrop` per box.
    """
    frame = np.zeros(fg_mask.shape + (3,), np.uint8)
    return ForegroundSilhouettes(margin)(frame, fg_mask, list(range(len(boxes))), boxes)


def mask_box(crop: MaskCrop) -> np.ndarray | None:
    """Bounding box xyxy (float32 ``[4]``) of a crop's pixels in frame coordinates, ``None`` when empty."""
    ys, xs = np.nonzero(crop.mask)
    if len(ys) == 0:
        return None
    x0, y0 = crop.origin
    return np.array([xs.min() + x0, ys.min() + y0, xs.max() + 1 + x0, ys.max() + 1 + y0], np.float32)


def paste_mask(crop: MaskCrop, height: int, width: int) -> np.ndarray:
    """The crop as a full-frame bool ``[height, width]`` mask."""
    full = np.zeros((height, width), bool)
    x0, y0 = crop.origin
    h, w = crop.mask.shape
    full[y0 : y0 + h, x0 : x0 + w] = crop.mask[: height - y0, : width - x0] > 0
    return full
