"""GaitAlign: crop the person from a soft silhouette with RoI Align, keeping the aspect ratio.

Liang et al., "GaitEdge: Beyond Plain End-to-end Gait Recognition for Better Practicality", ECCV 2022. The
box is found on a binary mask (its top and bottom rows, its horizontal centre of mass), widened to the
target aspect ratio and by the padding that the original bounding box's width/height ratio implies, then the
soft map is resampled into it with RoI Align (He et al., "Mask R-CNN", ICCV 2017), which is differentiable
with respect to the map. :func:`roi_align` is written here in plain torch (no torchvision): the adaptive
sampling grid (``sampling_ratio <= 0``) and the corner rules of the reference kernel.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["roi_align", "GaitAlign"]

logger = logging.getLogger(__name__)


def _gather2d(maps: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``maps[k, c, rows[k, i], cols[k, j]]`` → ``[K, C, I, J]`` for ``rows [K, I]`` and ``cols [K, J]``."""
    k, c, _, w = maps.shape
    r = rows.reshape(k, 1, -1, 1).expand(k, c, rows.shape[1], w)
    picked = torch.gather(maps, 2, r)  # [K, C, I, W]
    q = cols.reshape(k, 1, 1, -1).expand(k, c, rows.shape[1], cols.shape[1])
    return torch.gather(picked, 3, q)  # [K, C, I, J]


def _corners(coord: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bilinear corners of sample coordinates along one axis: (low index, high index, low weight, high weight)."""
    coord = coord.clamp(min=0)
    low = coord.floor().long()
    at_end = low >= size - 1
    low = torch.where(at_end, torch.full_like(low, size - 1), low)
    high = torch.where(at_end, low, low + 1)
    coord = torch.where(at_end, low.to(coord.dtype), coord)
    frac = coord - low.to(coord.dtype)
    return low, high, 1.0 - frac, frac


def roi_align(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_size: Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    max_grid: Sequence[int] | None = None,
) -> torch.Tensor:
    """RoI Align (non-aligned variant: box corners are not shifted by half a pixel).

    Each output bin averages ``gh × gw`` bilinear samples at the centres of a regular grid inside the bin;
    with ``sampling_ratio <= 0`` the grid is ``ceil(roi_h / PH) × ceil(roi_w / PW)`` per box. Boxes smaller
    than one pixel are widened to one; samples more than one pixel outside the map are zero.

    Args:
        features: ``[N, C, H, W]`` maps.
        rois: ``[K, 5]`` boxes ``(batch index, x1, y1, x2, y2)`` in map pixels (before ``spatial_scale``).
        output_size: ``(PH, PW)``.
        spatial_scale: Factor from box coordinates to map pixels.
        sampling_ratio: Samples per bin and axis; ``<= 0`` chooses them adaptively.
        max_grid: Upper bounds ``(gh, gw)`` of the adaptive grid known in advance (e.g. from the map size); the
            sample tensor then has a fixed size, so that a traced / exported graph holds for any boxes. ``None``:
            the largest grid of these boxes.

    Returns:
        ``[K, C, PH, PW]``.
    """
    if features.dim() != 4 or rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(
            f"roi_align: expected features [N, C, H, W] and rois [K, 5], got {list(features.shape)} and "
            f"{list(rois.shape)}"
        )
    ph, pw = (int(v) for v in output_size)
    _, c, height, width = features.shape
    k = rois.shape[0]
    dtype = features.dtype
    rois = rois.to(dtype)
    start_w, start_h = rois[:, 1] * spatial_scale, rois[:, 2] * spatial_scale
    roi_w = (rois[:, 3] * spatial_scale - start_w).clamp(min=1.0)
    roi_h = (rois[:, 4] * spatial_scale - start_h).clamp(min=1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw  # [K]
    if sampling_ratio > 0:
        grid_h = torch.full_like(roi_h, float(sampling_ratio))
        grid_w = torch.full_like(roi_w, float(sampling_ratio))
    else:
        grid_h, grid_w = torch.ceil(roi_h / ph), torch.ceil(roi_w / pw)
    if max_grid is not None:
        gh, gw = (max(int(v), 1) for v in max_grid)
    else:
        gh, gw = max(int(grid_h.max()), 1) if k else 1, max(int(grid_w.max()), 1) if k else 1
    iy = torch.arange(gh, device=features.device, dtype=dtype)
    ix = torch.arange(gw, device=features.device, dtype=dtype)
    py = torch.arange(ph, device=features.device, dtype=dtype)
    px = torch.arange(pw, device=features.device, dtype=dtype)
    y = (
        start_h[:, None, None]
        + py[None, :, None] * bin_h[:, None, None]
        + (iy[None, None, :] + 0.5) * (bin_h / grid_h)[:, None, None]
    ).reshape(k, ph * gh)  # [K, PH·gh]
    x = (
        start_w[:, None, None]
        + px[None, :, None] * bin_w[:, None, None]
        + (ix[None, None, :] + 0.5) * (bin_w / grid_w)[:, None, None]
    ).reshape(k, pw * gw)  # [K, PW·gw]
    # a sample counts when it lies in its box's grid and at most one pixel outside the map
    inside_y = (y >= -1.0) & (y <= height)
    inside_y &= (iy[None, None, :] < grid_h[:, None, None]).expand(k, ph, gh).reshape(k, ph * gh)
    inside_x = (x >= -1.0) & (x <= width)
    inside_x &= (ix[None, None, :] < grid_w[:, None, None]).expand(k, pw, gw).reshape(k, pw * gw)
    y_lo, y_hi, wy_lo, wy_hi = _corners(y, height)
    x_lo, x_hi, wx_lo, wx_hi = _corners(x, width)
    maps = features[rois[:, 0].long()]  # [K, C, H, W]

    def outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a[:, None, :, None] * b[:, None, None, :]  # [K, 1, PH·gh, PW·gw]

    val = (
        outer(wy_lo, wx_lo) * _gather2d(maps, y_lo, x_lo)
        + outer(wy_lo, wx_hi) * _gather2d(maps, y_lo, x_hi)
        + outer(wy_hi, wx_lo) * _gather2d(maps, y_hi, x_lo)
        + outer(wy_hi, wx_hi) * _gather2d(maps, y_hi, x_hi)
    )  # [K, C, PH·gh, PW·gw]
    keep = inside_y[:, None, :, None] & inside_x[:, None, None, :]  # [K, 1, PH·gh, PW·gw]
    val = torch.where(keep, val, torch.zeros((), dtype=dtype, device=val.device))
    val = val.reshape(k, c, ph, gh, pw, gw).sum(dim=(3, 5))
    count = (grid_h * grid_w).clamp(min=1.0)
    return val / count[:, None, None, None]


class GaitAlign(nn.Module):
    """Size-normalise soft silhouettes to ``H × W`` without distorting them (GaitEdge's GaitAlign).

    Args:
        height: Output height ``H`` (peer: 64).
        width: Output width ``W`` (peer: 44).
        eps: A row counts as part of the body when its mask sum is at least ``eps``.
    """

    def __init__(self, height: int = 64, width: int = 44, eps: float = 1.0) -> None:
        super().__init__()
        self.height, self.width, self.eps = int(height), int(width), float(eps)

    def forward(self, feature_map: torch.Tensor, binary_mask: torch.Tensor, ratios: torch.Tensor) -> torch.Tensor:
        """Crop and resample.

        Args:
            feature_map: ``[N, C, h, w]`` maps to crop (soft silhouettes).
            binary_mask: ``[N, 1, h, w]`` {0,1} masks that locate the body.
            ratios: ``[N]`` width / height of each frame's original bounding box.

        Returns:
            ``[N, C, H, W]``.
        """
        n, _, h, w = feature_map.shape
        ratios = ratios.reshape(-1, 1).to(feature_map.dtype)  # [N, 1]
        if ratios.shape[0] != n:
            raise ValueError(f"GaitAlign: {n} maps but {ratios.shape[0]} ratios")
        rows = (binary_mask.sum(-1) >= self.eps).to(feature_map.dtype).cumsum(dim=-1)  # [N, 1, h]
        top = (rows == 0).to(feature_map.dtype).sum(-1)  # [N, 1]
        bottom = (rows != rows.max(dim=-1, keepdim=True).values).to(feature_map.dtype).sum(-1) + 1.0  # [N, 1]
        cols = binary_mask.sum(-2)  # [N, 1, w]
        centre = (cols.cumsum(dim=-1) < cols.sum(-1, keepdim=True) / 2.0).to(feature_map.dtype).sum(-1)  # [N, 1]
        pad = torch.clamp((self.width - self.height * ratios) / 2.0, min=0)  # [N, 1]
        pad = pad / (ratios * self.height / w)
        box_h = bottom - top
        box_w = box_h * w / h
        side = self.width // 2
        padded = F.pad(feature_map, (side, side, 0, 0))
        centre = centre + side
        left = torch.clamp(centre - box_w / 2 - pad, min=0.0, max=w + 2 * side)
        right = torch.clamp(centre + box_w / 2 + pad, min=0.0, max=w + 2 * side)
        index = torch.arange(n, device=feature_map.device, dtype=feature_map.dtype).view(-1, 1)
        rois = torch.cat([index, left, top, right, bottom], dim=-1)  # [N, 5]
        # boxes lie inside the padded map, so the adaptive grid is at most ceil(map side / output side)
        bound = (math.ceil(h / self.height), math.ceil((w + 2 * side) / self.width))
        return roi_align(padded, rois, (self.height, self.width), 1.0, -1, max_grid=bound)
