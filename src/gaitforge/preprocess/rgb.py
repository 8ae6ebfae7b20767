"""RGB pretreatment: person crops cut by the silhouette's box, pad-resized as the peer's RGB pipeline does.

OpenGait's ``datasets/pretreatment_rgb.py`` (the input of BigGait, Ye et al. CVPR 2024) takes each person crop,
records its width / height ``ratio``, resizes it to the target height keeping the aspect ratio (bilinear), and
centres it in the target width: zero bands on both sides when it is narrower, a centre cut when it is wider. Here
the crop is the bounding box of the frame's silhouette, and the silhouette goes through the same geometry, so the
stored ``rgb`` ``[T, h, w, 3]`` and ``sil`` ``[T, h, w]`` stay aligned (GaitEdge reads both, with ``ratio``).
Frames whose silhouette is empty are skipped and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = ["RgbPretreatment", "silhouette_box", "pad_resize", "pretreat_rgb_sequence"]

logger = logging.getLogger(__name__)


@dataclass
class RgbPretreatment:
    """Result of :func:`pretreat_rgb_sequence`.

    Attributes:
        rgb: ``uint8 [T', h, w, 3]`` pad-resized person crops.
        sil: ``uint8 [T', h, w]`` the silhouettes through the same crop and resize.
        ratio: ``float32 [T']`` width / height of each crop before the resize.
        kept: Indices of the input frames that were kept.
        skipped: Indices of the frames dropped because their silhouette was empty.
    """

    rgb: np.ndarray
    sil: np.ndarray
    ratio: np.ndarray
    kept: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def silhouette_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight box ``(top, bottom, left, right)`` (exclusive ends) of the non-zero pixels of ``[H, W]``, or None."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def pad_resize(img: np.ndarray, size: Sequence[int] = (256, 128), interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """The peer's ``resize_with_padding``: height to ``size[0]`` keeping the aspect ratio, then the width centred in
    ``size[1]`` (zero bands, or a centre cut when wider).

    Args:
        img: ``[h, w]`` or ``[h, w, C]`` uint8.
        size: ``(H, W)``.
        interpolation: OpenCV interpolation (bilinear, as the peer; nearest keeps a mask binary).

    Returns:
        ``[H, W]`` or ``[H, W, C]``, the dtype of ``img``.
    """
    height, width = int(size[0]), int(size[1])
    h, w = img.shape[:2]
    new_w = max(1, int(w * height / h))
    resized = cv2.resize(img, (new_w, height), interpolation=interpolation)
    out = np.zeros((height, width, *img.shape[2:]), dtype=img.dtype)
    offset = (width - new_w) // 2
    if offset < 0:
        return np.ascontiguousarray(resized[:, -offset : -offset + width])
    out[:, offset : offset + new_w] = resized
    return out


def pretreat_rgb_sequence(
    frames: np.ndarray, masks: np.ndarray, size: Sequence[int] = (256, 128), threshold: int = 0
) -> RgbPretreatment:
    """Crop every frame by its silhouette's box and pad-resize crop and silhouette to ``size``.

    Args:
        frames: ``uint8 [T, H, W, 3]`` RGB frames.
        masks: ``uint8 [T, H, W]`` silhouettes of the same frames (foreground ``> threshold``).
        size: Output ``(H, W)``: ``(256, 128)`` for BigGait, ``(64, 64)`` for GaitEdge's CASIA-B* layout.
        threshold: Mask values above it count as foreground when finding the box.

    Returns:
        The crops, silhouettes and ratios of the frames with a non-empty silhouette.

    Raises:
        ValueError: frames or masks of the wrong dtype or shape, naming the first offending frame.
    """
    frames, masks = np.asarray(frames), np.asarray(masks)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(
            f"pretreat_rgb: frames have dtype {frames.dtype}, shape {frames.shape}; expected uint8 [T, H, W, 3]"
        )
    if masks.dtype != np.uint8 or masks.ndim != 3 or len(masks) != len(frames):
        raise ValueError(
            f"pretreat_rgb: masks have dtype {masks.dtype}, shape {masks.shape}; expected uint8 [T, H, W] with "
            f"T = {len(frames)}"
        )
    if masks.shape[1:] != frames.shape[1:3]:
        raise ValueError(
            f"pretreat_rgb: frame 0 is {frames.shape[1]}x{frames.shape[2]} but its silhouette is "
            f"{masks.shape[1]}x{masks.shape[2]}; expected the silhouette of the same frame"
        )
    rgb, sil, ratio, kept, skipped = [], [], [], [], []
    for t, (frame, mask) in enumerate(zip(frames, masks)):
        box = silhouette_box(mask > threshold)
        if box is None:
            skipped.append(t)
            continue
        top, bottom, left, right = box
        crop, crop_mask = frame[top:bottom, left:right], mask[top:bottom, left:right]
        ratio.append(crop.shape[1] / crop.shape[0])
        rgb.append(pad_resize(crop, size))
        sil.append(pad_resize(crop_mask, size, cv2.INTER_LINEAR))
        kept.append(t)
    if skipped:
        logger.info("pretreat_rgb: %d of %d frames without a silhouette skipped", len(skipped), len(frames))
    height, width = int(size[0]), int(size[1])
    return RgbPretreatment(
        rgb=np.stack(rgb) if rgb else np.zeros((0, height, width, 3), np.uint8),
        sil=np.stack(sil) if sil else np.zeros((0, height, width), np.uint8),
        ratio=np.asarray(ratio, np.float32),
        kept=kept,
        skipped=skipped,
    )
