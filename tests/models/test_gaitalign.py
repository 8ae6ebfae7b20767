"""RoI Align (written in torch) against a per-sample loop of the reference kernel's rules, and GaitAlign."""

from __future__ import annotations

import math

import pytest
import torch

from gaitforge.models.gaitalign import GaitAlign, roi_align


def _bilinear(fm: torch.Tensor, y: float, x: float) -> torch.Tensor:
    h, w = fm.shape[-2:]
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return torch.zeros(fm.shape[0], dtype=fm.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return (
        (1 - ly) * (1 - lx) * fm[:, y0, x0]
        + (1 - ly) * lx * fm[:, y0, x1]
        + ly * (1 - lx) * fm[:, y1, x0]
        + ly * lx * fm[:, y1, x1]
    )


def _reference(features, rois, ph, pw, ratio):
    out = torch.zeros(rois.shape[0], features.shape[1], ph, pw, dtype=features.dtype)
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        rw, rh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = ratio if ratio > 0 else math.ceil(rh / ph)
        gw = ratio if ratio > 0 else math.ceil(rw / pw)
        for i in range(ph):
            for j in range(pw):
                acc = torch.zeros(features.shape[1], dtype=features.dtype)
                for iy in range(gh):
                    for ix in range(gw):
                        y = y1 + i * bh + (iy + 0.5) * bh / gh
                        x = x1 + j * bw + (ix + 0.5) * bw / gw
                        acc += _bilinear(features[int(b)], y, x)
                out[k, :, i, j] = acc / max(gh * gw, 1)
    return out


@pytest.mark.parametrize("ratio", [-1, 2])
def test_roi_align_matches_the_kernel_rules(ratio: int) -> None:
    g = torch.Generator().manual_seed(0)
    features = torch.randn(2, 3, 12, 10, generator=g, dtype=torch.float64)
    rois = torch.tensor(
        [
            [0, 1.3, 0.5, 8.9, 11.2],  # inside, grids of several samples
            [1, -2.0, -1.5, 13.0, 14.0],  # beyond the map on every side
            [0, 4.2, 6.0, 4.6, 6.3],  # smaller than a pixel
            [1, 0.0, 0.0, 26.0, 5.0],  # wide: 4 samples per bin across
        ],
        dtype=torch.float64,
    )
    got = roi_align(features, rois, (5, 4), 1.0, ratio)
    torch.testing.assert_close(got, _reference(features, rois, 5, 4, ratio), rtol=1e-10, atol=1e-10)


def test_roi_align_is_differentiable_in_the_features() -> None:
    features = torch.randn(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 0.5, 1.0, 5.0, 5.5]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: roi_align(f, rois, (3, 2)), (features,))


def test_gait_align_centres_and_keeps_the_aspect_ratio() -> None:
    sil = torch.zeros(1, 1, 64, 64)
    sil[0, 0, 8:56, 20:36] = 1.0  # a 48 × 16 box, off centre
    moved = torch.roll(sil, shifts=12, dims=-1)
    align = GaitAlign(64, 44)
    ratio = torch.tensor([44 / 64])  # a frame as wide as the output: no extra side padding, no clamping
    a, b = align(sil, sil, ratio), align(moved, moved, ratio)
    assert a.shape == (1, 1, 64, 44)
    torch.testing.assert_close(a, b)  # translation does not change the crop
    cols = a[0, 0].sum(0)
    centre = float((cols * torch.arange(44)).sum() / cols.sum())
    assert abs(centre - 21.5) < 1.0
    assert float(a[0, 0, 0].sum()) > 0 and float(a[0, 0, -1].sum()) > 0  # the body spans the full height
    with pytest.raises(ValueError, match="1 maps but 2 ratios"):
        align(sil, sil, torch.tensor([0.3, 0.4]))
