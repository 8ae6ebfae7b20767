"""Transforms of RGB frames: the peer's normalisation (``BaseRgbTransform``) and channel-first layout.

The store keeps RGB crops as ``uint8 [T, H, W, 3]`` (compressed frame by frame when the store's codec says so);
RGB models (GaitEdge, BigGait) take ``float32 [T, 3, H, W]`` normalised by the ImageNet mean and standard deviation
on 0..255 values, ``(x − 255·mean) / (255·std)``, as OpenGait's ``BaseRgbTransform`` does. Registered through
:data:`gaitforge.data.transforms.EXTENSION_MODULES`. Apply geometric transforms that act on the last axis (e.g.
``random_horizontal_flip``) after ``rgb_normalize``, when the width is the last axis.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from gaitforge.data.transforms import TRANSFORMS

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "RgbNormalize"]

logger = logging.getLogger(__name__)

#: ImageNet statistics of RGB values in [0, 1] (the peer's defaults).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@TRANSFORMS.register("rgb_normalize")
class RgbNormalize:
    """``uint8 [T, H, W, 3]`` (or channel-first ``[T, 3, H, W]``) → ``float32 [T, 3, H, W]``,
    ``(x − 255·mean) / (255·std)`` per channel.

    Args:
        mean: Per-channel mean of values in [0, 1].
        std: Per-channel standard deviation of values in [0, 1].
        channels_last: The input has channels last (the store's layout); ``False`` for channel-first input.
    """

    def __init__(
        self,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        channels_last: bool = True,
    ) -> None:
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"rgb_normalize: mean and std need 3 values each, std > 0; got {mean}, {std}")
        self.mean = np.asarray(mean, np.float32).reshape(1, 3, 1, 1) * 255.0
        self.std = np.asarray(std, np.float32).reshape(1, 3, 1, 1) * 255.0
        self.channels_last = bool(channels_last)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        axis = 3 if self.channels_last else 1
        if x.ndim != 4 or x.shape[axis] != 3:
            layout = "[T, H, W, 3]" if self.channels_last else "[T, 3, H, W]"
            raise ValueError(f"rgb_normalize: expected RGB frames {layout}, got shape {list(x.shape)}")
        frames = x.astype(np.float32)
        if self.channels_last:
            frames = frames.transpose(0, 3, 1, 2)
        return np.ascontiguousarray((frames - self.mean) / self.std, dtype=np.float32)

    def __repr__(self) -> str:
        return f"RgbNormalize(channels_last={self.channels_last})"
