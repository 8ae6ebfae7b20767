"""Per-sample transforms of one modality's frames ``[T, ..., H, W]``, composable and buildable from config.

A transform is a callable ``(x, rng) -> x``; deterministic ones ignore ``rng``. Config form::

    [{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}, {"name": "random_horizontal_flip", "p": 0.5}]

Random transforms draw everything from the ``rng`` they are given and the number of draws never depends on the
pixel values, so modalities of one sample transformed with equally seeded generators (what the dataset does)
get the same flip, angle, warp or erased box. The augmentations are those of the peer (OpenGait, snapshot
0efafd4), with its names and defaults: ``random_rotate``, ``random_perspective``, ``random_affine``,
``random_erasing`` (Zhong et al., "Random Erasing Data Augmentation", AAAI 2020), and ``random_part_dilate`` /
``random_part_blur`` (Fan et al., "Learning Gait Representation from Massive Unlabelled Walking Videos: A
Benchmark", TPAMI 2023, which use them to imitate clothing changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as SequenceABC
from typing import Any, Protocol

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from gaitforge.registry import Registry

__all__ = [
    "TRANSFORMS",
    "Compose",
    "CropWidth",
    "RandomAffine",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomPartBlur",
    "RandomPartDilate",
    "RandomPerspective",
    "RandomRotate",
    "Resize",
    "SilCut",
    "Transform",
    "build_transform",
]

#: Registry of transform classes by config name.
TRANSFORMS: Registry[Any] = Registry("transform")


class Transform(Protocol):
    """``[T, ..., H, W]`` array in, array out."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray: ...


@TRANSFORMS.register("sil_cut")
class SilCut:
    """Cut the silhouette's side margins and scale to float32, as the field does at load time.

    ``cut`` columns are removed from each side of the last axis; by default ``W // 64 * 10`` (64 → 44, 128 → 88).
    Values are cast to float32 and multiplied by ``scale`` (1/255 maps uint8 silhouettes to ``[0, 1]``). With
    ``scale=None`` the dtype is kept (uint8 batches are 4× smaller to move from DataLoader workers; scale on the
    device instead).

    Args:
        cut: Columns removed from each side; ``None`` for the field's rule.
        scale: Multiplier after casting to float32, or ``None`` to only cut.
    """

    def __init__(self, cut: int | None = None, scale: float | None = 1.0 / 255.0) -> None:
        if cut is not None and cut < 0:
            raise ValueError(f"SilCut: cut is {cut}; expected >= 0")
        self.cut, self.scale = cut, None if scale is None else float(scale)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        width = x.shape[-1]
        cut = width // 64 * 10 if self.cut is None else self.cut
        if 2 * cut >= width:
            raise ValueError(f"SilCut: cutting {cut} px from each side of width {width} leaves nothing")
        if self.scale is None:
            return np.ascontiguousarray(x[..., cut : width - cut])
        out = x[..., cut : width - cut].astype(np.float32)
        if self.scale != 1.0:
            out *= np.float32(self.scale)
        return out

    def __repr__(self) -> str:
        return f"SilCut(cut={self.cut}, scale={self.scale})"


_MODES = ("area", "bilinear", "bicubic", "nearest")


@TRANSFORMS.register("resize")
class Resize:
    """Resize the last two axes to ``size = (h, w)``, e.g. 64×44 → 32×22 for CPU-sized runs.

    Args:
        size: Output ``(h, w)``.
        mode: ``"area"`` (default, exact averaging for integer factors), ``"bilinear"`` and ``"bicubic"``
            (antialiased), or ``"nearest"``. uint8 input is rounded back to uint8; float input stays float32.
    """

    def __init__(self, size: SequenceABC[int], mode: str = "area") -> None:
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"Resize: size is {list(size)}; expected [h, w] with positive values")
        if mode not in _MODES:
            raise ValueError(f"Resize: mode {mode!r} is unknown; expected one of {', '.join(_MODES)}")
        self.size, self.mode = (int(size[0]), int(size[1])), mode

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if x.ndim < 3:
            raise ValueError(f"Resize: input has shape {x.shape}; expected [T, ..., H, W]")
        if tuple(x.shape[-2:]) == self.size:
            return x
        lead = x.shape[:-2]
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(-1, 1, *x.shape[-2:])
        kw: dict[str, Any] = (
            {"antialias": True, "align_corners": False} if self.mode in ("bilinear", "bicubic") else {}
        )
        out = F.interpolate(t, size=self.size, mode=self.mode, **kw).reshape(*lead, *self.size).numpy()
        if x.dtype == np.uint8:
            return np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return out.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"Resize(size={list(self.size)}, mode={self.mode!r})"


@TRANSFORMS.register("crop_width")
class CropWidth:
    """Keep the middle ``width`` columns of wider frames; frames of that width pass unchanged.

    Lines up modalities of different widths before geometric augmentations, e.g. 64x64 skeleton maps next to
    64x44 silhouettes (the peer crops such maps in SkeletonGait++'s input pretreatment).

    Args:
        width: Columns to keep.
    """

    def __init__(self, width: int) -> None:
        if width < 1:
            raise ValueError(f"CropWidth: width is {width}; expected >= 1")
        self.width = int(width)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        w = x.shape[-1]
        if w < self.width or (w - self.width) % 2:
            raise ValueError(f"CropWidth: cannot take the middle {self.width} columns of width {w} evenly")
        cut = (w - self.width) // 2
        return x if cut == 0 else np.ascontiguousarray(x[..., cut : w - cut])

    def __repr__(self) -> str:
        return f"CropWidth(width={self.width})"


@TRANSFORMS.register("random_horizontal_flip")
class RandomHorizontalFlip:
    """Mirror the whole sequence left–right with probability ``p`` (one decision per sequence).

    Args:
        p: Flip probability.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p is {p}; expected 0 <= p <= 1")
        self.p = float(p)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if rng is None:
            raise ValueError("RandomHorizontalFlip needs an rng (the dataset passes one per sample)")
        if rng.random() < self.p:
            return np.ascontiguousarray(x[..., ::-1])
        return x

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def _need_rng(name: str, rng: np.random.Generator | None) -> np.random.Generator:
    if rng is None:
        raise ValueError(f"{name} needs an rng (the dataset passes one per sample)")
    return rng


def _check_p(name: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p is {p}; expected 0 <= p <= 1")
    return float(p)


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


@TRANSFORMS.register("compose")
class Compose:
    """Apply transforms in order (sharing the rng).

    Args:
        transforms: The steps.
    """

    def __init__(self, transforms: SequenceABC[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        for t in self.transforms:
            x = t(x, rng)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


#: Modules that register more transforms when imported (e.g. the ``pose_*`` ones); imported on first build.
EXTENSION_MODULES: tuple[str, ...] = ("gaitforge.data.pose_transforms",)
_extensions_loaded = False


def _load_extensions() -> None:
    global _extensions_loaded
    if _extensions_loaded:
        return
    _extensions_loaded = True
    import importlib

    for name in EXTENSION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but a dependency of it is missing: say so
                raise


def build_transform(
    cfg: Mapping[str, Any] | SequenceABC[Mapping[str, Any]] | None, where: str = "transform"
) -> Any:
    """Build a transform from config: a ``{"name": ..., **kwargs}`` mapping or a list of them (→ :class:`Compose`).

    Raises:
        KeyError: unknown transform name.
        ValueError: a missing ``name`` or an argument the transform does not take (message gives the config path).
    """
    if cfg is None:
        return None
    _load_extensions()
    if isinstance(cfg, Mapping):
        if "name" not in cfg:
            raise ValueError(
                f"{where}: field 'name' is missing; expected one of {', '.join(TRANSFORMS.names())}"
            )
        kwargs = {k: v for k, v in cfg.items() if k != "name"}
        name = str(cfg["name"])
        if name == "compose":
            return Compose(
                [
                    build_transform(c, f"{where}.transforms[{i}]")
                    for i, c in enumerate(kwargs.get("transforms", []))
                ]
            )
        cls = TRANSFORMS.get(name)
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"{where} ({name}): {exc}; given keys {sorted(kwargs)}") from exc
    if isinstance(cfg, SequenceABC) and not isinstance(cfg, str):
        return Compose([build_transform(c, f"{where}[{i}]") for i, c in enumerate(cfg)])
    raise ValueError(f"{where}: expected a mapping with 'name' or a list of them, got {type(cfg).__name__}")
