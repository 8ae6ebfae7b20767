"""Silhouette thumbnails: a small PNG strip of a few frames."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from gaitforge.service.thumbnails import sequence_thumbnail


def decode(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    img = cv2.imdecode(np.frombuffer(base64.b64decode(url[len(prefix) :]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None and img.dtype == np.uint8
    return img


def test_strip_of_spread_frames() -> None:
    sil = np.zeros((30, 64, 64), np.uint8)
    for i in range(30):
        sil[i, 8:56, 20:44] = 255 if i in (0, 10, 19, 29) else 0  # only the four picked frames are white
    img = decode(sequence_thumbnail(sil, frames=4, height=48))
    assert img.shape == (48, 4 * 33 + 3 * 2)  # 44/64 of 64 px cut, scaled to 48 px high: 33 px per frame
    tiles = [img[:, j * 35 : j * 35 + 33] for j in range(4)]
    assert all(t.max() == 255 for t in tiles)
    assert len(sequence_thumbnail(sil)) < 4000


def test_short_and_non_square_sequences() -> None:
    assert decode(sequence_thumbnail(np.full((1, 64, 64), 255, np.uint8))).shape == (48, 33)
    assert decode(sequence_thumbnail(np.zeros((3, 40, 20), np.uint8), frames=8, height=40)).shape == (40, 3 * 20 + 4)
    with pytest.raises(ValueError, match="expected uint8"):
        sequence_thumbnail(np.zeros((0, 64, 64), np.uint8))
