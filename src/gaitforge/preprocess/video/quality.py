"""Per-frame silhouette quality: keep whole-body silhouettes, drop fragments.

A silhouette crop is checked against its track's box in that frame (the detector's or the blob's box):

* ``fragment``: its largest connected region holds less than ``min_main`` of its pixels (pieces, speckle);
* ``box_overlap``: the bounding box of its pixels covers less than ``min_box_overlap`` (IoU) of the track's box
  (a leg, a head, or a mask spilling onto a neighbour);
* ``fill``: its pixels fill less than ``min_fill`` or more than ``max_fill`` of their own bounding box (outlines,
  scribbles; solid rectangles);
* ``aspect``: the height/width of its bounding box is outside ``[min_aspect, max_aspect]`` (a person lying in the
  box's corner, a pole).

The thresholds are loose on purpose (a walking person's silhouette fills about 40–70 % of its box, height/width
1.5–4): they remove what is clearly not a whole body, and the field's pretreatment then centres what is left.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gaitforge.preprocess.video.boxes import box_iou
from gaitforge.preprocess.video.segment import MaskCrop

__all__ = ["QUALITY_REASONS", "SilhouetteQuality", "check_silhouette"]

#: The reasons a frame's silhouette is dropped, in the order they are checked.
QUALITY_REASONS = ("empty", "fragment", "box_overlap", "fill", "aspect")


@dataclass(frozen=True)
class SilhouetteQuality:
    """Thresholds of :func:`check_silhouette` (see the module docstring)."""

    min_main: float = 0.65
    min_box_overlap: float = 0.5
    min_fill: float = 0.2
    max_fill: float = 0.92
    min_aspect: float = 1.0
    max_aspect: float = 6.0


def check_silhouette(crop: MaskCrop, box: np.ndarray, rules: SilhouetteQuality | None = None) -> str | None:
    """Why a silhouette is not a whole body, or ``None`` when it looks like one.

    Args:
        crop: The silhouette (uint8 mask crop, non-zero = person).
        box: float32 ``[4]`` the track's box in this frame (xyxy, frame pixels).
        rules: Thresholds (default :class:`SilhouetteQuality`).

    Returns:
        One of :data:`QUALITY_REASONS`, or ``None``.
    """
    rules = rules or SilhouetteQuality()
    fg = (crop.mask > 0).astype(np.uint8)
    area = int(fg.sum())
    if area == 0:
        return "empty"
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if stats[1:, cv2.CC_STAT_AREA].max() < rules.min_main * area:
        return "fragment"
    ys, xs = np.nonzero(fg)
    x0, y0 = crop.origin
    own = np.array([xs.min() + x0, ys.min() + y0, xs.max() + 1 + x0, ys.max() + 1 + y0], np.float32)
    if box_iou(own, np.asarray(box, np.float32))[0, 0] < rules.min_box_overlap:
        return "box_overlap"
    w, h = float(own[2] - own[0]), float(own[3] - own[1])
    fill = area / max(w * h, 1.0)
    if not rules.min_fill <= fill <= rules.max_fill:
        return "fill"
    if not rules.min_aspect <= h / max(w, 1.0) <= rules.max_aspect:
        return "aspect"
    return None


def silhouette_quality(
    masks: list[MaskCrop], boxes: np.ndarray, rules: SilhouetteQuality | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """:func:`check_silhouette` on every frame of a track.

    Args:
        masks: One crop per frame.
        boxes: float32 ``[T, 4]`` the track's boxes.
        rules: Thresholds.

    Returns:
        bool ``[T]`` (usable) and the number of frames dropped per reason.
    """
    ok = np.ones(len(masks), bool)
    drops = {r: 0 for r in QUALITY_REASONS}
    for k, (crop, box) in enumerate(zip(masks, boxes)):
        why = check_silhouette(crop, box, rules)
        if why is not None:
            ok[k] = False
            drops[why] += 1
    return ok, drops
