"""Small silhouette thumbnails (a strip of a few frames) as base64 PNG data URLs."""

from __future__ import annotations

import base64

import cv2
import numpy as np

__all__ = ["DATA_URL_PREFIX", "sequence_thumbnail"]

DATA_URL_PREFIX = "data:image/png;base64,"


def sequence_thumbnail(sil: np.ndarray, frames: int = 4, height: int = 48, gap: int = 2) -> str:
    """A strip of ``frames`` silhouettes spread over the sequence, as a PNG data URL (about 1-2 KB).

    Square pretreated frames are cut to the centre ``44/64`` of their width first (the field's ``sil_cut``), so
    the walker fills the picture.

    Args:
        sil: uint8 silhouettes ``[T, H, W]`` (pretreated, e.g. ``[T, 64, 64]``).
        frames: Frames in the strip (fewer when the sequence is shorter).
        height: Strip height in pixels.
        gap: Dark pixels between frames.

    Returns:
        ``"data:image/png;base64,..."``.
    """
    x = np.asarray(sil)
    if x.ndim != 3 or x.shape[0] < 1:
        raise ValueError(f"thumbnail: silhouettes are {tuple(x.shape)}; expected uint8 [T >= 1, H, W]")
    t, h, w = x.shape
    if h == w:
        cut = int(round(w * 10 / 64))
        x = x[:, :, cut : w - cut]  # [T, H, 44/64 W]
    picks = np.unique(np.linspace(0, t - 1, min(frames, t)).round().astype(int))
    width = max(1, int(round(height * x.shape[2] / h)))
    tiles = []
    for i in picks:
        tiles.append(cv2.resize(x[i], (width, height), interpolation=cv2.INTER_AREA))
        tiles.append(np.full((height, gap), 24, np.uint8))
    strip = np.hstack(tiles[:-1]) if len(tiles) > 1 else tiles[0]  # [height, n * width + gaps]
    ok, png = cv2.imencode(".png", strip, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 greyscale image
        raise ValueError("thumbnail: PNG encoding failed")
    return DATA_URL_PREFIX + base64.b64encode(png.tobytes()).decode("ascii")
