"""Per-sample transforms of one modality's frames ``[T, ..., H, W]``, composable and buildable from config.

A transform is a callable ``(x, rng) -> x``; deterministic ones ignore ``rng``. Config form::

    [{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}, {"name": "random_horizontal_flip", "p": 0.5}]

Random transforms draw everything from the ``rng`` they are given and the number of draws never depends on the
pixel values, so modalities of one sample transformed with equally seeded generators (what the dataset does)
get the same flip, angle, warp or erased box. The peer's augmentations (``random_rotate``, ``random_erasing``,
...) are in :mod:`gaitforge.data.sil_augment`, the pose ones in :mod:`gaitforge.data.pose_transforms`; both
register here when the first transform is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as SequenceABC
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from gaitforge.registry import Registry

__all__ = [
    "TRANSFORMS",
    "Compose",
    "CropWidth",
    "RandomHorizontalFlip",
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
        kw: dict[str, Any] = {"antialias": True, "align_corners": False} if self.mode in ("bilinear", "bicubic") else {}
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
EXTENSION_MODULES: tuple[str, ...] = (
    "gaitforge.data.sil_augment",
    "gaitforge.data.pose_transforms",
    "gaitforge.data.rgb_transforms",
    "gaitforge.data.points",  # points_fixed (ragged point clouds → [t, P, 4])
)
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


def build_transform(cfg: Mapping[str, Any] | SequenceABC[Mapping[str, Any]] | None, where: str = "transform") -> Any:
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
            raise ValueError(f"{where}: field 'name' is missing; expected one of {', '.join(TRANSFORMS.names())}")
        kwargs = {k: v for k, v in cfg.items() if k != "name"}
        name = str(cfg["name"])
        if name == "compose":
            return Compose(
                [build_transform(c, f"{where}.transforms[{i}]") for i, c in enumerate(kwargs.get("transforms", []))]
            )
        cls = TRANSFORMS.get(name)
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"{where} ({name}): {exc}; given keys {sorted(kwargs)}") from exc
    if isinstance(cfg, SequenceABC) and not isinstance(cfg, str):
        return Compose([build_transform(c, f"{where}[{i}]") for i, c in enumerate(cfg)])
    raise ValueError(f"{where}: expected a mapping with 'name' or a list of them, got {type(cfg).__name__}")
