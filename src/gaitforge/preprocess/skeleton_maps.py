"""SkeletonGait skeleton maps: COCO-17 keypoints ``[T,17,3]`` → uint8 ``[T,2,64,64]`` (limb map, joint map).

The pipeline follows the field's reference pretreatment step by step (the behaviour is pinned by
``../shared/fixtures/opengait/skeleton_maps``, which this module reproduces exactly):

1. Missing joints (a coordinate exactly 0) are filled by a 4-nearest-neighbour imputation across the frames of
   the sequence (``nan``-Euclidean distances, inverse-distance weights); confidences are kept, so a filled
   joint is never drawn. If one coordinate column is 0 in every frame, the reference gives up and keeps the
   sequence unfilled; so does this module (``imputation_applied`` tells which happened).
2. Per frame: centre on the hip midpoint, scale so the vertical extent of all 17 joints is 85 px, shift to the
   centre of a 128×128 canvas.
3. Gaussian joint blobs and limb "sausages" (σ = 8, truncated at ±3σ boxes, peak = confidence, skipped below
   1e-3), maximum over joints / limbs.
4. Grey conversion through the 256-bin grey colour map (uint8 levels), then a crop to the non-empty rows and a
   square window centred at x = 64, resized to 64×64 with area interpolation.

Reference:
    Fan et al., "SkeletonGait: Gait Recognition Using Skeleton Maps", AAAI 2024.
    Duan et al., "Revisiting Skeleton-based Action Recognition", CVPR 2022 (pseudo-heatmap limbs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = [
    "COCO_LIMBS",
    "SkeletonMapResult",
    "add_skeleton_maps",
    "center_and_scale",
    "draw_maps",
    "gray_lut",
    "impute_missing",
    "render",
    "render_detailed",
    "to_aligned",
    "to_gray",
]

logger = logging.getLogger(__name__)

#: Limbs drawn in the limb map (COCO-17 joint pairs), in the reference's order.
COCO_LIMBS: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8), (8, 10),
    (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12),
)  # fmt: skip

_EPS = 1e-3


@dataclass
class SkeletonMapResult:
    """Every stage of :func:`render_detailed`.

    Attributes:
        maps: uint8 ``[T, 2, S, S]`` (limb, joint) final maps.
        imputed: float64 ``[T, 17, 3]`` after missing-joint filling.
        normalized: float64 ``[T, 17, 3]`` in canvas pixels.
        gray: uint8 ``[T, 2, C, C]`` grey maps before alignment.
        imputation_applied: False when the reference's fallback kept the joints unfilled.
    """

    maps: np.ndarray
    imputed: np.ndarray
    normalized: np.ndarray
    gray: np.ndarray
    imputation_applied: bool


def _check_keypoints(keypoints: np.ndarray) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (17, 3):
        raise ValueError(f"skeleton maps: keypoints have shape {kp.shape}; expected [T, 17, 3] (x, y, conf)")
    if kp.shape[0] == 0:
        raise ValueError("skeleton maps: keypoints have 0 frames; expected at least one")
    if not np.isfinite(kp).all():
        raise ValueError("skeleton maps: keypoints contain NaN or inf; expected finite values (0 marks missing)")
    return kp


def _nan_euclidean(x: np.ndarray, y: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    """Distances between rows of ``x`` and ``y`` over coordinates present in both, rescaled to all columns.

    Computed with the expansion ``|x|² − 2x·y + |y|²`` minus the missing parts, as the usual library
    implementation does, so that ties and rounding agree with it.
    """
    x = np.where(mx, 0.0, x)
    y = np.where(my, 0.0, y)
    d = -2.0 * (x @ y.T)
    d += np.einsum("ij,ij->i", x, x)[:, None]
    d += np.einsum("ij,ij->i", y, y)[None, :]
    np.maximum(d, 0.0, out=d)
    d -= (x * x) @ my.T.astype(np.float64)
    d -= mx.astype(np.float64) @ (y * y).T
    np.clip(d, 0.0, None, out=d)
    present = (~mx).astype(np.float64) @ (~my).T.astype(np.float64)
    d[present == 0] = np.nan
    d /= np.maximum(1.0, present)
    d *= x.shape[1]
    return np.sqrt(d)


def impute_missing(keypoints: np.ndarray, n_neighbors: int = 4) -> tuple[np.ndarray, bool]:
    """Fill missing coordinates (exactly 0) from the ``n_neighbors`` most similar frames.

    Frames are samples over the 34 x/y columns; distances skip coordinates missing in either frame; donors are
    weighted by inverse distance (a zero-distance donor takes all the weight). x and y are judged separately;
    confidences pass through.

    Args:
        keypoints: ``[T, 17, 3]``.
        n_neighbors: Donor frames per filled value.

    Returns:
        ``(filled [T, 17, 3] float64, applied)``; ``applied`` is False, and the input is returned unchanged,
        when some coordinate is missing in every frame (the reference's fallback).
    """
    kp = _check_keypoints(keypoints)
    t = kp.shape[0]
    coords = kp[..., :2].reshape(t, 34).copy()
    missing = coords == 0.0
    if missing.all(axis=0).any():
        return kp.copy(), False
    out = kp.copy()
    if not missing.any():
        return out, True
    rows = np.flatnonzero(missing.any(axis=1))
    dist = _nan_euclidean(coords[rows], coords, missing[rows], missing)  # [R, T]
    filled = coords.copy()
    for col in np.flatnonzero(missing.any(axis=0)):
        donors = np.flatnonzero(~missing[:, col])
        receivers = np.flatnonzero(missing[rows, col])  # positions in ``rows``
        d = dist[receivers][:, donors]
        all_nan = np.isnan(d).all(axis=1)
        if all_nan.any():
            filled[rows[receivers[all_nan]], col] = coords[donors, col].mean()
        receivers, d = receivers[~all_nan], d[~all_nan]
        if receivers.size == 0:
            continue
        k = min(n_neighbors, donors.size)
        idx = np.argpartition(d, k - 1, axis=1)[:, :k]
        dk = np.take_along_axis(d, idx, axis=1)
        with np.errstate(divide="ignore"):
            w = 1.0 / dk
        inf = np.isinf(w)
        inf_rows = inf.any(axis=1)
        w[inf_rows] = inf[inf_rows]
        w[np.isnan(w)] = 0.0
        values = coords[donors, col][idx]
        filled[rows[receivers], col] = (values * w).sum(axis=1) / w.sum(axis=1)
    out[..., :2] = filled.reshape(t, 17, 2)
    return out, True


def center_and_scale(keypoints: np.ndarray, canvas: int = 128) -> np.ndarray:
    """Per frame: subtract the hip midpoint, scale x and y by ``(canvas // 1.5) / (y_max − y_min)`` (over all
    17 joints), add ``canvas // 2``. Confidences pass through. ``[T,17,3]`` → float64 ``[T,17,3]``."""
    kp = _check_keypoints(keypoints)
    xy = kp[..., :2]
    hip = (xy[:, 11] + xy[:, 12]) / 2.0
    xy = xy - hip[:, None, :]
    extent = xy[:, :, 1].max(axis=-1) - xy[:, :, 1].min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xy *= (canvas // 1.5) / extent[:, None, None]
    xy += canvas // 2
    return np.concatenate([xy, kp[..., 2:]], axis=-1)


def _box(lo: float, hi: float, size: int, reach: float) -> tuple[int, int]:
    """The reference's truncated box ``[max(int(lo − r), 0), min(int(hi + r) + 1, size))``."""
    return max(int(lo - reach), 0), min(int(hi + reach) + 1, size)


def _joint_patch(grid: np.ndarray, mx: float, my: float, v: float, sigma: float, canvas: int) -> tuple:
    x0, x1 = _box(mx, mx, canvas, 3 * sigma)
    y0, y1 = _box(my, my, canvas, 3 * sigma)
    if x1 <= x0 or y1 <= y0:
        return None
    x, y = grid[x0:x1], grid[y0:y1, None]
    patch = np.exp(-((x - mx) ** 2 + (y - my) ** 2) / 2 / sigma**2) * v
    return (slice(y0, y1), slice(x0, x1)), patch


def _limb_patch(grid: np.ndarray, a: np.ndarray, b: np.ndarray, va: float, vb: float, sigma: float, canvas: int):
    v = min(va, vb)
    if v < _EPS:
        return None
    x0, x1 = _box(min(a[0], b[0]), max(a[0], b[0]), canvas, 3 * sigma)
    y0, y1 = _box(min(a[1], b[1]), max(a[1], b[1]), canvas, 3 * sigma)
    if x1 <= x0 or y1 <= y0:
        return None
    d2_ab = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
    if d2_ab < 1:  # degenerate limb: a joint blob at the start point with the start point's confidence
        return _joint_patch(grid, a[0], a[1], va, sigma, canvas) if va >= _EPS else None
    x, y = grid[x0:x1], grid[y0:y1, None]
    d2_a = (x - a[0]) ** 2 + (y - a[1]) ** 2
    d2_b = (x - b[0]) ** 2 + (y - b[1]) ** 2
    t = (d2_a - d2_b + d2_ab) / 2.0 / d2_ab  # position of the projection along a→b
    px = x - (a[0] + t * (b[0] - a[0]))
    py = y - (a[1] + t * (b[1] - a[1]))
    d2 = np.where(t <= 0, d2_a, np.where(t >= 1, d2_b, px**2 + py**2))
    return (slice(y0, y1), slice(x0, x1)), np.exp(-d2 / 2.0 / sigma**2) * v


def draw_maps(normalized: np.ndarray, sigma: float = 8.0, canvas: int = 128) -> np.ndarray:
    """Limb and joint pseudo-heatmaps, maximum over limbs / joints.

    Args:
        normalized: ``[T, 17, 3]`` canvas coordinates and confidences (from :func:`center_and_scale`).
        sigma: Gaussian width in canvas pixels.
        canvas: Canvas side.

    Returns:
        float32 ``[T, 2, canvas, canvas]`` (limb, joint), values in ``[0, 1]``.
    """
    kp = np.asarray(normalized, dtype=np.float64)
    grid = np.arange(canvas, dtype=np.float32)
    out = np.zeros((kp.shape[0], 2, canvas, canvas), np.float64)
    for f, frame in enumerate(kp):
        xy, conf = frame[:, :2], frame[:, 2]
        patches = [_limb_patch(grid, xy[i], xy[j], conf[i], conf[j], sigma, canvas) for i, j in COCO_LIMBS]
        patches_j = [
            _joint_patch(grid, xy[i, 0], xy[i, 1], conf[i], sigma, canvas) if conf[i] >= _EPS else None
            for i in range(17)
        ]
        for ch, items in ((0, patches), (1, patches_j)):
            for item in items:
                if item is not None:
                    region, patch = item
                    np.maximum(out[f, ch][region], patch, out=out[f, ch][region])
    # storing each maximum in float32 (as the reference does) equals one cast of the float64 maximum
    return out.astype(np.float32)


def gray_lut() -> np.ndarray:
    """uint8 ``[256]`` grey levels of the 256-bin grey colour map (``floor(255 · level)``; e.g. 33 → 32)."""
    xind = 255.0 * np.linspace(0.0, 1.0, 256)
    levels = np.concatenate([[0.0], xind[1:-1] / 255.0, [1.0]])
    return (levels * 255).astype(np.uint8)


_LUT = gray_lut()


def to_gray(maps: np.ndarray) -> np.ndarray:
    """Float maps in ``[0, 1]`` → uint8 grey levels (bin ``min(floor(256·m), 255)`` of :func:`gray_lut`)."""
    m = np.asarray(maps, dtype=np.float32)
    idx = np.clip(np.floor(m * np.float32(256)), 0, 255).astype(np.int64)
    return _LUT[idx]


def _align_one(gray: np.ndarray, size: int) -> np.ndarray:
    canvas = gray.shape[-1]
    a = gray.astype(np.float64) / 255.0
    nonzero = a.sum(axis=1) != 0
    top = int(nonzero.argmax())
    bottom = int(np.cumsum(nonzero).argmax())
    h = bottom - top + 1
    crop = a[top : bottom + 1, canvas // 2 - h // 2 : canvas // 2 + h // 2 + 1]
    crop = cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA)
    return (crop * 255).astype(np.uint8)


def to_aligned(gray: np.ndarray, size: int = 64) -> np.ndarray:
    """Crop each grey map to its non-empty rows and a square window centred on the canvas, resize to
    ``size`` (area interpolation). uint8 ``[T, 2, C, C]`` → uint8 ``[T, 2, size, size]``."""
    g = np.asarray(gray)
    out = np.empty((*g.shape[:2], size, size), np.uint8)
    for f in range(g.shape[0]):
        for c in range(g.shape[1]):
            out[f, c] = _align_one(g[f, c], size)
    return out


def render_detailed(
    keypoints: np.ndarray, sigma: float = 8.0, canvas: int = 128, size: int = 64, impute: bool = True
) -> SkeletonMapResult:
    """:func:`render` with every intermediate stage (see :class:`SkeletonMapResult`)."""
    kp = _check_keypoints(keypoints)
    imputed, applied = impute_missing(kp) if impute else (kp.copy(), False)
    normalized = center_and_scale(imputed, canvas)
    if not np.isfinite(normalized[..., :2]).all():
        bad = np.flatnonzero(~np.isfinite(normalized[..., :2]).all(axis=(1, 2)))
        raise ValueError(
            f"skeleton maps: frames {bad[:5].tolist()} have zero vertical extent (all joints at one height); "
            "expected a pose with some height"
        )
    gray = to_gray(draw_maps(normalized, sigma, canvas))
    return SkeletonMapResult(to_aligned(gray, size), imputed, normalized, gray, applied)


def render(keypoints: np.ndarray, sigma: float = 8.0, canvas: int = 128, size: int = 64) -> np.ndarray:
    """SkeletonGait maps of one sequence.

    Args:
        keypoints: ``[T, 17, 3]`` COCO-17 (x, y, confidence) in image pixels; ``(0, 0)`` marks a missing joint.
        sigma: Gaussian width on the canvas.
        canvas: Side of the drawing canvas (the pose is scaled to ``canvas // 1.5`` px high).
        size: Output side.

    Returns:
        uint8 ``[T, 2, size, size]``: channel 0 the limb map, channel 1 the joint map.

    Raises:
        ValueError: wrong shape, non-finite values, or a frame whose joints all lie at one height.
    """
    return render_detailed(keypoints, sigma, canvas, size).maps


def add_skeleton_maps(
    src: str | Path,
    dst: str | Path,
    modalities: tuple[str, ...] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Copy a store, adding ``skeleton_map`` rendered from each sequence's ``pose``.

    The copy keeps the records' metadata and the source's ``partition.json`` (when present), so training configs
    can point ``data.store`` at it.

    Args:
        src: Store folder with a ``pose`` modality.
        dst: New store folder.
        modalities: Source modalities to copy besides the new map (default: all of them).
        overwrite: Replace an existing ``dst``.
        progress: Show a progress bar.

    Returns:
        ``{"converted": n, "skipped": [(key, reason), ...]}``; sequences without a pose, or whose pose
        cannot be rendered, are skipped and listed.
    """
    from tqdm.auto import tqdm

    from gaitforge.data.store import SequenceStore, StoreWriter
    from gaitforge.utils.atomic import atomic_write_bytes

    store = SequenceStore(src)
    skipped: list[tuple[str, str]] = []
    converted = 0
    with StoreWriter(dst, overwrite=overwrite) as writer:
        for i in tqdm(range(len(store)), desc="skeleton maps", disable=not progress, unit="seq"):
            seq = store.get(i, modalities)
            rec = store.record(i)
            if "pose" not in rec.arrays:
                skipped.append((rec.key, "no pose modality"))
                continue
            try:
                maps = render(store.array(i, "pose"))
            except ValueError as exc:
                skipped.append((rec.key, str(exc)))
                logger.warning("%s: %s", rec.key, exc)
                continue
            seq.modalities = {k: np.asarray(v) for k, v in seq.modalities.items()} | {"skeleton_map": maps}
            writer.add(seq)
            converted += 1
    part = Path(src) / "partition.json"
    if part.is_file():
        atomic_write_bytes(Path(dst) / "partition.json", part.read_bytes())
    return {"converted": converted, "skipped": skipped}
