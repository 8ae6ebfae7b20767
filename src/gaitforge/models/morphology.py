"""Binary-mask morphology on ``[N, C, H, W]`` tensors with a square all-ones structuring element.

Dilation is the maximum and erosion the minimum over the ``k × k`` neighbourhood of each pixel; pixels outside
the image are ignored (the "geodesic" border: a mask touching the image edge is not eroded by the edge). These
are the operations GaitEdge (Liang et al., ECCV 2022) uses for its trainable edge and BigGait (Ye et al.,
CVPR 2024) for closing its foreground, written with max pooling so that they export to ONNX.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

__all__ = ["dilate", "erode"]

logger = logging.getLogger(__name__)


def _check(x: torch.Tensor, kernel_size: int) -> None:
    if x.dim() != 4:
        raise ValueError(f"morphology: expected a [N, C, H, W] tensor, got shape {list(x.shape)}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"morphology: kernel_size must be a positive odd integer, got {kernel_size}")


def dilate(x: torch.Tensor, kernel_size: int = 3) -> torch.Tensor:
    """Grey-level dilation: ``[N, C, H, W]`` → ``[N, C, H, W]``, the max over each ``k × k`` window."""
    _check(x, kernel_size)
    return F.max_pool2d(x, kernel_size, stride=1, padding=kernel_size // 2)


def erode(x: torch.Tensor, kernel_size: int = 3) -> torch.Tensor:
    """Grey-level erosion: ``[N, C, H, W]`` → ``[N, C, H, W]``, the min over each ``k × k`` window."""
    _check(x, kernel_size)
    return -F.max_pool2d(-x, kernel_size, stride=1, padding=kernel_size // 2)
