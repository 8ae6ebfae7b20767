"""Pose-heatmap geometry: top-down crops, heatmap decoding, and the two ways to normalise a heatmap sequence.

A top-down pose estimator (HRNet, ViTPose, ...) sees each person through a fixed-size crop (256×192) cut from
the frame around the detector's box, and outputs one heatmap per joint on a grid ``stride`` times coarser
(64×48). Heatmaps therefore live in *crop* coordinates, which move and rescale with the detector's box from
frame to frame. Gait recognition needs them in one body-centred frame. GaitHeat (Fu et al., "Cut Out the
Middleman: Revisiting Pose-Based Gait Recognition", ECCV 2024) argues that the crop / scale / centre steps must be
computed on the RGB image and then *applied* to the heatmaps, not computed from the heatmaps themselves:

* :func:`rgb_space_heatmaps` — the person's extent (top and bottom rows, horizontal mass centre) is measured on
  the image (a segmentation mask or a person box), turned into one affine ``image → output``, and composed with
  the estimator's own ``heatmap → crop → image`` affines; every heatmap is resampled once, whole.
* :func:`heatmap_space_heatmaps` — the ablation: the extent is measured on the heatmaps (rows of thresholded
  heatmap mass), the heatmap grid is cut to those rows, resized and re-centred, as the silhouette pretreatment does
  with binary masks. Gaussian tails outside the cut are lost and the box follows the joints' confidences.

Conventions: pixel ``i`` has its centre at coordinate ``i`` (OpenCV's); affines are float64 ``[2, 3]`` maps of
``(x, y, 1)``; a heatmap cell ``j`` is the mean of crop pixels ``stride·j … stride·j + stride − 1``, so
``crop = stride · heatmap + (stride − 1) / 2``.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = [
    "CROP_SIZE",
    "HEATMAP_SIZE",
    "HEATMAP_STRIDE",
    "apply_affine",
    "box_to_crop_affine",
    "compose_affines",
    "decode_heatmaps",
    "heatmap_space_heatmaps",
    "heatmap_to_crop_affine",
    "invert_affine",
    "person_extent",
    "pretreat_affine",
    "quantize_heatmaps",
    "rgb_space_heatmaps",
    "warp_heatmaps",
]

logger = logging.getLogger(__name__)

#: Input crop of the usual top-down COCO estimators, (height, width).
CROP_SIZE: tuple[int, int] = (256, 192)
#: Their heatmap grid, (height, width): the crop divided by :data:`HEATMAP_STRIDE`.
HEATMAP_SIZE: tuple[int, int] = (64, 48)
HEATMAP_STRIDE: int = 4


def _as3x3(a: np.ndarray) -> np.ndarray:
    """``[..., 2, 3]`` → ``[..., 3, 3]`` with the last row ``(0, 0, 1)``."""
    a = np.asarray(a, dtype=np.float64)
    last = np.broadcast_to(np.array([0.0, 0.0, 1.0]), (*a.shape[:-2], 1, 3))
    return np.concatenate([a, last], axis=-2)


def compose_affines(*affines: np.ndarray) -> np.ndarray:
    """``compose_affines(a, b, c)`` is the map ``x ↦ a(b(c(x)))``; batched ``[..., 2, 3]`` broadcast."""
    out = _as3x3(affines[-1])
    for a in reversed(affines[:-1]):
        out = _as3x3(a) @ out
    return out[..., :2, :]


def invert_affine(a: np.ndarray) -> np.ndarray:
    """Inverse of ``[..., 2, 3]`` affines."""
    return np.linalg.inv(_as3x3(a))[..., :2, :]


def apply_affine(a: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points ``[..., N, 2]`` by ``a`` ``[..., 2, 3]`` (leading axes broadcast)."""
    a = np.asarray(a, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    return p @ np.swapaxes(a[..., :, :2], -1, -2) + a[..., None, :, 2]


def box_to_crop_affine(box: np.ndarray, crop_size: tuple[int, int] = CROP_SIZE, scale: float = 1.25) -> np.ndarray:
    """The top-down estimator's ``image → crop`` affine for a person box.

    The box ``(x0, y0, x1, y1)`` (pixel extents, edges at half-integers) is grown to the crop's aspect ratio
    about its centre, enlarged by ``scale`` (1.25, as HRNet / ViTPose / mmpose do), and mapped onto the crop.

    Args:
        box: ``[4]`` or ``[N, 4]`` boxes ``x0, y0, x1, y1``.
        crop_size: Crop ``(height, width)``.
        scale: Enlargement of the aspect-fixed box.

    Returns:
        float64 ``[2, 3]`` (or ``[N, 2, 3]``).
    """
    b = np.asarray(box, dtype=np.float64)
    if b.shape[-1] != 4:
        raise ValueError(f"box: expected [..., 4] (x0, y0, x1, y1), got shape {b.shape}")
    ch, cw = crop_size
    cx, cy = (b[..., 0] + b[..., 2]) / 2.0, (b[..., 1] + b[..., 3]) / 2.0
    w = np.maximum(b[..., 2] - b[..., 0], 1e-3)
    h = np.maximum(b[..., 3] - b[..., 1], 1e-3)
    aspect = cw / ch
    w, h = np.maximum(w, h * aspect), np.maximum(h, w / aspect)
    s = cw / (w * scale)  # == ch / (h * scale)
    out = np.zeros((*b.shape[:-1], 2, 3))
    out[..., 0, 0] = s
    out[..., 1, 1] = s
    out[..., 0, 2] = (cw - 1) / 2.0 - s * cx
    out[..., 1, 2] = (ch - 1) / 2.0 - s * cy
    return out


def heatmap_to_crop_affine(stride: int = HEATMAP_STRIDE, offset: float | None = None) -> np.ndarray:
    """``heatmap → crop`` affine: ``crop = stride · h + offset`` (``offset`` defaults to ``(stride − 1) / 2``)."""
    off = (stride - 1) / 2.0 if offset is None else float(offset)
    return np.array([[stride, 0.0, off], [0.0, stride, off]], dtype=np.float64)


def pretreat_affine(
    top: float, bottom: float, centre_x: float, out_size: tuple[int, int] = HEATMAP_SIZE, fill: float = 0.8
) -> np.ndarray:
    """``image → output`` affine of the crop / scale / centre pretreatment, from the person's extent in the image.

    Rows ``top … bottom`` (inclusive) are scaled to ``fill · out_height`` rows with equal margins above and
    below; column ``centre_x`` goes to the output's centre column. The aspect ratio is kept.

    Args:
        top, bottom: First and last image row of the person.
        centre_x: Image column of the person's horizontal centre.
        out_size: Output ``(height, width)``.
        fill: Fraction of the output height the person spans (0.8 leaves the margin a top-down crop has).
    """
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill: expected 0 < fill <= 1, got {fill}")
    oh, ow = out_size
    s = fill * oh / max(float(bottom) - float(top) + 1.0, 1e-3)
    margin = (1.0 - fill) * oh / 2.0
    return np.array(
        [[s, 0.0, (ow - 1) / 2.0 - s * centre_x], [0.0, s, margin - 0.5 - s * (top - 0.5)]], dtype=np.float64
    )


def person_extent(mask: np.ndarray) -> tuple[float, float, float] | None:
    """``(top, bottom, centre_x)`` of a foreground mask, or ``None`` when it is empty.

    ``centre_x`` is the first column where the cumulative column mass passes half the total, the silhouette
    pretreatment's rule (Fan et al., OpenGait, CVPR 2023).

    Args:
        mask: ``[H, W]`` array, foreground where non-zero (or weights).
    """
    m = np.asarray(mask, dtype=np.float64)
    rows = np.flatnonzero(m.sum(1) > 0)
    if rows.size == 0:
        return None
    cols = np.cumsum(m.sum(0))
    centre = float(np.searchsorted(cols, cols[-1] / 2.0, side="right"))
    return float(rows[0]), float(rows[-1]), centre


def warp_heatmaps(heatmaps: np.ndarray, affine: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Resample heatmaps by a ``source → output`` affine (bilinear, zero outside).

    Args:
        heatmaps: ``[K, h, w]`` or ``[T, K, h, w]``.
        affine: ``[2, 3]`` or ``[T, 2, 3]`` source-grid → output-grid maps.
        out_size: Output ``(height, width)``.

    Returns:
        float32 ``[K, H, W]`` or ``[T, K, H, W]``.
    """
    x = np.asarray(heatmaps, dtype=np.float32)
    single = x.ndim == 3
    if single:
        x = x[None]
    a = np.asarray(affine, dtype=np.float64)
    if a.ndim == 2:
        a = np.broadcast_to(a, (x.shape[0], 2, 3))
    if x.ndim != 4 or a.shape != (x.shape[0], 2, 3):
        raise ValueError(f"warp_heatmaps: heatmaps {x.shape} and affines {a.shape} do not match ([T,K,h,w], [T,2,3])")
    t, k, h, w = x.shape
    oh, ow = out_size
    inv = invert_affine(a)  # [T, 2, 3] output → source
    ys, xs = np.mgrid[0:oh, 0:ow].astype(np.float64)
    grid = np.stack([xs.ravel(), ys.ravel()], -1)  # [HW, 2]
    src = apply_affine(inv, np.broadcast_to(grid, (t, *grid.shape)))  # [T, HW, 2]
    x0 = np.floor(src[..., 0]).astype(np.int64)
    y0 = np.floor(src[..., 1]).astype(np.int64)
    fx, fy = (src[..., 0] - x0).astype(np.float32), (src[..., 1] - y0).astype(np.float32)
    flat = np.ascontiguousarray(x.reshape(t, k, h * w).transpose(0, 2, 1))  # [T, hw, K]
    rows = np.arange(t)[:, None]
    out = np.zeros((t, oh * ow, k), dtype=np.float32)
    for dy, dx, wgt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        yy, xx = y0 + dy, x0 + dx
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)  # [T, HW]
        idx = np.where(ok, yy * w + xx, 0)
        out += flat[rows, idx] * (wgt * ok)[..., None]  # [T, HW, K]
    out = np.ascontiguousarray(out.transpose(0, 2, 1)).reshape(t, k, oh, ow)
    return out[0] if single else out


def rgb_space_heatmaps(
    heatmaps: np.ndarray,
    crop_affines: np.ndarray,
    extents: np.ndarray,
    out_size: tuple[int, int] = HEATMAP_SIZE,
    fill: float = 0.8,
    stride: int = HEATMAP_STRIDE,
) -> tuple[np.ndarray, np.ndarray]:
    """GaitHeat's pretreatment: crop / scale / centre measured on the image, applied to the heatmaps.

    Per frame the map ``heatmap grid → crop → image → output`` is one affine,
    ``pretreat_affine(extent) ∘ crop_affine⁻¹ ∘ heatmap_to_crop``, and each heatmap is resampled once.

    Args:
        heatmaps: ``[T, K, h, w]`` estimator heatmaps in crop coordinates.
        crop_affines: ``[T, 2, 3]`` the estimator's ``image → crop`` affines.
        extents: ``[T, 3]`` person ``(top, bottom, centre_x)`` in image pixels (see :func:`person_extent`).
        out_size: Output ``(height, width)``.
        fill: Fraction of the output height the person spans.
        stride: Heatmap stride of the estimator.

    Returns:
        ``(heatmaps float32 [T, K, H, W], affines [T, 2, 3] heatmap grid → output)``.
    """
    hm = np.asarray(heatmaps)
    ext = np.asarray(extents, dtype=np.float64)
    if hm.ndim != 4 or ext.shape != (hm.shape[0], 3):
        raise ValueError(f"rgb_space_heatmaps: heatmaps {hm.shape} need extents [T, 3], got {ext.shape}")
    pre = np.stack([pretreat_affine(t, b, c, out_size, fill) for t, b, c in ext])
    total = compose_affines(pre, invert_affine(crop_affines), heatmap_to_crop_affine(stride))
    return warp_heatmaps(hm, total, out_size), total


def heatmap_space_heatmaps(
    heatmaps: np.ndarray,
    out_size: tuple[int, int] = HEATMAP_SIZE,
    fill: float = 0.8,
    threshold: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """The ablation: crop / scale / centre measured on the heatmaps, done on the heatmap grid.

    Per frame: the rows whose max-over-joints heatmap passes ``threshold · max`` give the person's extent;
    those rows (every column) are cut out — what lies outside is dropped — and resized (bilinear) so they span
    ``fill · out_height`` rows; the horizontal centre is the half-mass column of the result, and a window of
    the output width is taken around it (zero padded), as the silhouette pretreatment does.

    Args:
        heatmaps: ``[T, K, h, w]``.
        out_size: Output ``(height, width)``.
        fill: Fraction of the output height the extent spans.
        threshold: Relative threshold of the heatmap mass that counts as "person".

    Returns:
        ``(heatmaps float32 [T, K, H, W], affines [T, 2, 3] input grid → output)`` (the affines describe where
        points go; values outside the cut are lost).
    """
    import cv2

    hm = np.asarray(heatmaps, dtype=np.float32)
    if hm.ndim != 4:
        raise ValueError(f"heatmap_space_heatmaps: expected [T, K, h, w], got {hm.shape}")
    t, k, h, w = hm.shape
    oh, ow = out_size
    out = np.zeros((t, k, oh, ow), dtype=np.float32)
    affines = np.tile(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (t, 1, 1))
    target_h = max(1, int(round(fill * oh)))
    top_off = int(round((oh - target_h) / 2.0))
    for i in range(t):
        mass = hm[i].max(0)  # [h, w]
        peak = float(mass.max())
        rows = np.flatnonzero((mass >= threshold * peak).any(1)) if peak > 0 else np.empty(0, int)
        if rows.size == 0:
            continue
        y0, y1 = int(rows[0]), int(rows[-1])
        block = hm[i, :, y0 : y1 + 1, :].transpose(1, 2, 0)  # [rows, w, K]
        new_w = max(1, int(round(w * target_h / block.shape[0])))
        resized = np.stack(
            [
                cv2.resize(np.ascontiguousarray(block[..., c]), (new_w, target_h), interpolation=cv2.INTER_LINEAR)
                for c in range(k)
            ]
        )  # [K, target_h, new_w]
        cols = np.cumsum(resized.max(0).sum(0))
        cx = int(np.searchsorted(cols, cols[-1] / 2.0, side="right")) if cols[-1] > 0 else new_w // 2
        left = cx - ow // 2
        src0, src1 = max(left, 0), min(left + ow, new_w)
        rows_out = slice(top_off, top_off + target_h)
        out[i, :, rows_out, src0 - left : src1 - left] = resized[:, :, src0:src1]
        sy, sx = target_h / block.shape[0], new_w / w
        # cv2.resize maps source pixel centres by (x + 0.5)·s − 0.5.
        affines[i] = [[sx, 0.0, 0.5 * sx - 0.5 - left], [0.0, sy, (0.5 - y0) * sy - 0.5 + top_off]]
    return out, affines


def decode_heatmaps(heatmaps: np.ndarray, eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Argmax with sub-pixel refinement, as top-down estimators decode their output.

    Around the maximum, a parabola is fitted along each axis to the log of the three values (exact for a
    Gaussian peak; the 1-D form of Zhang et al., "Distribution-Aware Coordinate Representation for Human Pose
    Estimation", CVPR 2020). Where a neighbour is outside the grid or not positive, that axis is not refined.

    Args:
        heatmaps: ``[..., K, h, w]``.
        eps: Floor of the values before the log.

    Returns:
        ``(xy float32 [..., K, 2] in heatmap-grid pixels, score float32 [..., K] the maximum value)``.
    """
    x = np.asarray(heatmaps, dtype=np.float64)
    h, w = x.shape[-2:]
    flat = x.reshape(-1, h * w)
    idx = flat.argmax(1)
    score = flat[np.arange(len(flat)), idx]
    iy, ix = np.divmod(idx, w)
    rows = np.arange(len(flat))
    grid = flat.reshape(-1, h, w)

    def refine(c: np.ndarray, size: int, axis: int) -> np.ndarray:
        lo, hi = np.clip(c - 1, 0, size - 1), np.clip(c + 1, 0, size - 1)
        if axis == 1:
            a, b, d = grid[rows, iy, lo], grid[rows, iy, c], grid[rows, iy, hi]
        else:
            a, b, d = grid[rows, lo, ix], grid[rows, c, ix], grid[rows, hi, ix]
        ok = (c > 0) & (c < size - 1) & (a > eps) & (b > eps) & (d > eps)
        la, lb, ld = (np.log(np.maximum(v, eps)) for v in (a, b, d))
        den = la - 2 * lb + ld
        ok &= den < -1e-12
        off = np.where(ok, 0.5 * (la - ld) / np.where(ok, den, -1.0), 0.0)
        return c + np.clip(off, -0.5, 0.5)

    xy = np.stack([refine(ix, w, 1), refine(iy, h, 0)], -1)
    lead = x.shape[:-2]
    return xy.reshape(*lead, 2).astype(np.float32), score.reshape(lead).astype(np.float32)


def quantize_heatmaps(heatmaps: np.ndarray, dtype: str = "uint8") -> np.ndarray:
    """Store form of heatmaps in ``[0, 1]``: ``"uint8"`` (``round(255·v)``) or ``"float16"``."""
    x = np.clip(np.asarray(heatmaps, dtype=np.float32), 0.0, 1.0)
    if dtype == "uint8":
        return np.rint(x * 255.0).astype(np.uint8)
    if dtype == "float16":
        return x.astype(np.float16)
    raise ValueError(f"heatmap dtype: expected 'uint8' or 'float16', got {dtype!r}")
