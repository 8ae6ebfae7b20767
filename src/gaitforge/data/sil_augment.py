"""The peer's silhouette augmentations (OpenGait, snapshot 0efafd4), with its names and defaults.

``random_rotate``, ``random_perspective``, ``random_affine``, ``random_erasing`` (Zhong et al., "Random Erasing
Data Augmentation", AAAI 2020), and ``random_part_dilate`` / ``random_part_blur`` (Fan et al., "Learning Gait
Representation from Massive Unlabelled Walking Videos: A Benchmark", TPAMI 2023, which use them to imitate
clothing changes). Each takes frames ``[T, ..., H, W]`` and an ``rng``, applies with probability ``p`` and draws
the same number of values whatever the pixels, so modalities of one sample transformed with equally seeded
generators get the same angle, warp or erased box. Registered in :data:`~gaitforge.data.transforms.TRANSFORMS`
(loaded on the first :func:`~gaitforge.data.transforms.build_transform`).
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from typing import Any

import cv2
import numpy as np

from gaitforge.data.transforms import TRANSFORMS, _check_p, _need_rng

__all__ = [
    "RandomAffine",
    "RandomErasing",
    "RandomPartBlur",
    "RandomPartDilate",
    "RandomPerspective",
    "RandomRotate",
]


def _frames(x: np.ndarray, name: str) -> np.ndarray:
    """``[T, ..., H, W]`` → ``[N, H, W]`` (every 2-D image of the sample)."""
    if x.ndim < 3:
        raise ValueError(f"{name}: input has shape {x.shape}; expected [T, ..., H, W]")
    return x.reshape(-1, *x.shape[-2:])


def _warp_each(x: np.ndarray, name: str, warp: Any) -> np.ndarray:
    """Apply ``warp(frame [H, W]) -> [H, W]`` to every image, keeping the shape and dtype."""
    frames = _frames(np.ascontiguousarray(x), name)
    out = np.stack([warp(f) for f in frames]) if len(frames) else frames.copy()
    return out.reshape(x.shape).astype(x.dtype, copy=False)


@TRANSFORMS.register("random_rotate")
class RandomRotate:
    """Rotate every frame by one angle drawn uniformly from ``[-degree, degree]``, with probability ``p``
    (bilinear, zero border; the peer's ``RandomRotate``).

    Args:
        p: Probability (peer default 0.5).
        degree: Largest rotation in degrees (peer default 10).
        center: ``"image"`` rotates about the image centre; ``"peer"`` about the peer's point
            ``(x, y) = (H // 2, W // 2)`` (it passes height and width in that order), to reproduce its runs.
    """

    def __init__(self, p: float = 0.5, degree: float = 10.0, center: str = "image") -> None:
        self.p = _check_p("RandomRotate", p)
        if degree < 0:
            raise ValueError(f"RandomRotate: degree is {degree}; expected >= 0")
        if center not in ("image", "peer"):
            raise ValueError(f"RandomRotate: center {center!r} is unknown; expected 'image' or 'peer'")
        self.degree, self.center = float(degree), center

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = _need_rng("RandomRotate", rng)
        if rng.random() >= self.p:
            return x
        angle = float(rng.uniform(-self.degree, self.degree))
        h, w = x.shape[-2:]
        c = (h // 2, w // 2) if self.center == "peer" else ((w - 1) / 2.0, (h - 1) / 2.0)
        m = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), angle, 1.0)
        return _warp_each(x, "RandomRotate", lambda f: cv2.warpAffine(f, m, (w, h)))

    def __repr__(self) -> str:
        return f"RandomRotate(p={self.p}, degree={self.degree}, center={self.center!r})"


@TRANSFORMS.register("random_perspective")
class RandomPerspective:
    """With probability ``p``, stretch a random quadrilateral onto the whole frame (the peer's
    ``RandomPerspective``): the top and bottom corners are drawn from the ``cut`` leftmost and rightmost columns
    (the margins a later ``sil_cut`` removes), one warp for the whole sequence.

    Args:
        p: Probability (peer default 0.5).
        cut: Width of the side bands corners are drawn from; ``None``: the peer's ``W // 44 * 10`` (10 on 64-wide
            silhouettes, so put it before ``sil_cut``).
    """

    def __init__(self, p: float = 0.5, cut: int | None = None) -> None:
        self.p = _check_p("RandomPerspective", p)
        if cut is not None and cut < 1:
            raise ValueError(f"RandomPerspective: cut is {cut}; expected >= 1")
        self.cut = cut

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = _need_rng("RandomPerspective", rng)
        if rng.random() >= self.p:
            return x
        h, w = x.shape[-2:]
        cut = w // 44 * 10 if self.cut is None else self.cut
        if cut < 1 or 2 * cut > w:
            raise ValueError(
                f"RandomPerspective: side bands of {cut} px do not fit width {w}; apply it before sil_cut/resize "
                "or set cut"
            )
        tl, bl = (int(v) for v in rng.integers(0, cut, size=2))
        tr, br = (int(v) for v in rng.integers(w - cut, w, size=2))
        src = np.float32([[tl, 0], [tr, 0], [br, h], [bl, h]])
        dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        m = cv2.getPerspectiveTransform(src, dst)
        return _warp_each(x, "RandomPerspective", lambda f: cv2.warpPerspective(f, m, (w, h)))

    def __repr__(self) -> str:
        return f"RandomPerspective(p={self.p}, cut={self.cut})"


@TRANSFORMS.register("random_affine")
class RandomAffine:
    """With probability ``p``, an affine warp that moves the top-left, top-right and bottom-left corners each
    by a random offset in ``[0, shift)`` pixels (source and target points both jittered), like the peer's
    ``RandomAffine`` (whose shift is ``H // 64 * 10``; it writes its anchor points with height and width
    swapped, which this version does not).

    Args:
        p: Probability (peer default 0.5).
        shift: Largest offset in pixels; ``None``: ``H // 64 * 10``.
    """

    def __init__(self, p: float = 0.5, shift: int | None = None) -> None:
        self.p = _check_p("RandomAffine", p)
        if shift is not None and shift < 1:
            raise ValueError(f"RandomAffine: shift is {shift}; expected >= 1")
        self.shift = shift

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = _need_rng("RandomAffine", rng)
        if rng.random() >= self.p:
            return x
        h, w = x.shape[-2:]
        s = max(1, h // 64 * 10) if self.shift is None else self.shift
        corners = np.float32([[0, 0], [w, 0], [0, h]])
        sign = np.float32([[1, 1], [-1, 1], [1, -1]])  # offsets point into the image
        src = corners + sign * rng.integers(0, s, size=(3, 2)).astype(np.float32)
        dst = corners + sign * rng.integers(0, s, size=(3, 2)).astype(np.float32)
        m = cv2.getAffineTransform(src, dst)
        return _warp_each(x, "RandomAffine", lambda f: cv2.warpAffine(f, m, (w, h)))

    def __repr__(self) -> str:
        return f"RandomAffine(p={self.p}, shift={self.shift})"


@TRANSFORMS.register("random_erasing")
class RandomErasing:
    """With probability ``p``, set one random box to 0 in every frame (Zhong et al. 2020; the peer's
    ``RandomErasing``): area a fraction in ``[sl, sh]`` of the frame, aspect ratio in ``[r1, 1 / r1]``, up to 100
    draws until the box fits. ``per_frame`` decides (and draws a box) for each frame separately.

    Args:
        p: Probability (peer default 0.5).
        sl: Smallest area fraction (0.05).
        sh: Largest area fraction (0.2).
        r1: Smallest aspect ratio (0.3).
        per_frame: One decision and box per frame instead of per sequence.
    """

    def __init__(
        self, p: float = 0.5, sl: float = 0.05, sh: float = 0.2, r1: float = 0.3, per_frame: bool = False
    ) -> None:
        self.p = _check_p("RandomErasing", p)
        if not 0.0 < sl <= sh <= 1.0:
            raise ValueError(f"RandomErasing: expected 0 < sl <= sh <= 1, got sl={sl}, sh={sh}")
        if not 0.0 < r1 <= 1.0:
            raise ValueError(f"RandomErasing: r1 is {r1}; expected 0 < r1 <= 1")
        self.sl, self.sh, self.r1, self.per_frame = float(sl), float(sh), float(r1), bool(per_frame)

    def _erase(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.p:
            return x
        h, w = x.shape[-2:]
        for _ in range(100):
            area = rng.uniform(self.sl, self.sh) * h * w
            ratio = rng.uniform(self.r1, 1.0 / self.r1)
            bh, bw = int(round(np.sqrt(area * ratio))), int(round(np.sqrt(area / ratio)))
            if bh < h and bw < w:
                top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
                out = x.copy()
                out[..., top : top + bh, left : left + bw] = 0
                return out
        return x

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = _need_rng("RandomErasing", rng)
        _frames(x, "RandomErasing")
        if not self.per_frame:
            return self._erase(x, rng)
        return np.stack([self._erase(f, rng) for f in x]) if len(x) else x

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, sl={self.sl}, sh={self.sh}, r1={self.r1}, per_frame={self.per_frame})"


def _row_band(rng: np.random.Generator, top: SequenceABC[int], bot: SequenceABC[int], h: int) -> tuple[int, int]:
    """Rows ``[top, bot)`` with both ends drawn inclusively from their ranges, clipped to the frame."""
    t = int(rng.integers(int(top[0]), int(top[1]) + 1))
    b = int(rng.integers(int(bot[0]), int(bot[1]) + 1))
    return min(max(t, 0), h), min(max(b, 0), h)


def _check_ranges(name: str, top: SequenceABC[int], bot: SequenceABC[int]) -> tuple[tuple[int, int], ...]:
    ranges = []
    for label, r in (("top_range", top), ("bot_range", bot)):
        if len(r) != 2 or int(r[0]) > int(r[1]) or int(r[0]) < 0:
            raise ValueError(f"{name}: {label} is {list(r)}; expected [low, high] with 0 <= low <= high")
        ranges.append((int(r[0]), int(r[1])))
    return tuple(ranges)


#: Structuring elements of :class:`RandomPartDilate`: shape → (width, height) kernel sizes.
_DILATE_KERNELS: dict[str, tuple[tuple[int, int], ...]] = {
    "RECT": ((5, 3), (5, 5), (3, 5)),
    "CROSS": ((3, 3), (3, 5), (5, 3)),
    "ELLIPSE": ((3, 3), (3, 5), (5, 3)),
}


@TRANSFORMS.register("random_part_dilate")
class RandomPartDilate:
    """With probability ``p``, dilate a horizontal band of rows (the torso, imitating thicker clothes) with a random
    rectangle, cross or ellipse kernel, the same band and kernel for every frame (the peer's ``RandomPartDilate``,
    from GaitSSB; rows measured on 64-high frames).

    Args:
        p: Probability (peer default 0.5).
        top_range: Inclusive range of the band's first row (12–16).
        bot_range: Inclusive range of the row after the band (36–40).
    """

    def __init__(
        self, p: float = 0.5, top_range: SequenceABC[int] = (12, 16), bot_range: SequenceABC[int] = (36, 40)
    ) -> None:
        self.p = _check_p("RandomPartDilate", p)
        self.top_range, self.bot_range = _check_ranges("RandomPartDilate", top_range, bot_range)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = _need_rng("RandomPartDilate", rng)
        if rng.random() >= self.p:
            return x
        shapes = sorted(_DILATE_KERNELS)
        shape = shapes[int(rng.integers(len(shapes)))]
        size = _DILATE_KERNELS[shape][int(rng.integers(len(_DILATE_KERNELS[shape])))]
        top, bot = _row_band(rng, self.top_range, self.bot_range, x.shape[-2])
        kernel = cv2.getStructuringElement(getattr(cv2, f"MORPH_{shape}"), size)

        def warp(f: np.ndarray) -> np.ndarray:
            out = f.copy()
            if bot > top:
                out[top:bot] = cv2.dilate(np.ascontiguousarray(f[top:bot]), kernel)
            return out

        return _warp_each(x, "RandomPartDilate", warp)

    def __repr__(self) -> str:
        return f"RandomPartDilate(p={self.p}, top_range={list(self.top_range)}, bot_range={list(self.bot_range)})"


@TRANSFORMS.register("random_part_blur")
class RandomPartBlur:
    """With probability ``p``, blur a horizontal band of rows with a 3x3 Gaussian and binarise it again at 0.2 of
    the full value (1 for float frames, 255 for uint8), roughening the silhouette's outline there (the peer's
    ``RandomPartBlur``, from GaitSSB). ``per_frame`` decides (and draws a band) for each frame separately.

    Args:
        p: Probability (peer default 0.5).
        top_range: Inclusive range of the band's first row (9–20).
        bot_range: Inclusive range of the row after the band (29–40).
        per_frame: One decision and band per frame instead of per sequence.
    """

    def __init__(
        self,
        p: float = 0.5,
        top_range: SequenceABC[int] = (9, 20),
        bot_range: SequenceABC[int] = (29, 40),
        per_frame: bool = False,
    ) -> None:
        self.p = _check_p("RandomPartBlur", p)
        self.top_range, self.bot_range = _check_ranges("RandomPartBlur", top_range, bot_range)
        self.per_frame = bool(per_frame)

    def _blur(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.p:
            return x
        top, bot = _row_band(rng, self.top_range, self.bot_range, x.shape[-2])
        full = 255.0 if x.dtype == np.uint8 else 1.0

        def warp(f: np.ndarray) -> np.ndarray:
            out = f.copy()
            if bot > top:
                band = cv2.GaussianBlur(np.ascontiguousarray(f[top:bot], dtype=np.float32), (3, 3), 0)
                out[top:bot] = (band > 0.2 * full) * full
            return out

        return _warp_each(x, "RandomPartBlur", warp)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = _need_rng("RandomPartBlur", rng)
        _frames(x, "RandomPartBlur")
        if not self.per_frame:
            return self._blur(x, rng)
        return np.stack([self._blur(f[np.newaxis], rng)[0] for f in x]) if len(x) else x

    def __repr__(self) -> str:
        return (
            f"RandomPartBlur(p={self.p}, top_range={list(self.top_range)}, bot_range={list(self.bot_range)}, "
            f"per_frame={self.per_frame})"
        )
