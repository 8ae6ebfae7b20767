"""Small models and realistic inputs shared by the export tests (the sizes of tests/models/test_all_models.py)."""

from __future__ import annotations

import numpy as np
import torch

from gaitforge.export.spec import DEFAULT_FRAME_SHAPES, InputSpec, example_frames
from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.models import GaitModel, create_model
from tests.models.test_all_models import SMALL

#: Small sizes (kwargs, per-frame shape of every input) used before tests/models/test_all_models.py's ``SMALL``: for
#: models it did not list when this was written, and for multi-input models (its one frame shape describes a
#: single input; SkeletonGait++'s is the peer's stacked 3-channel layout).
EXPORT_SMALL: dict[str, tuple[dict, dict[str, tuple[int, ...]]]] = {
    "skeletongait_pp": (dict(channels=(16, 8, 8, 16), num_classes=5), {"skeleton_map": (2, 32, 22), "sil": (32, 22)}),
    "gaitheat": (dict(channels=(8, 16, 16), embed_dim=16, num_classes=5), {"heatmap": (17, 32, 24)}),
    "gaitheat_released": (dict(channels=(8, 16, 16, 32), embed_dim=16, num_classes=5), {"heatmap": (17, 32, 24)}),
    "gpgait": (dict(channels=(8, 8, 16, 16), embed_dim=16, num_classes=5), {"pose": (17, 3)}),
    "gaitgraph1": (dict(input_branch=(3, 8, 8), main_stream=(8, 16, 16), embed_dim=16, reduction=4), {"pose": (17, 3)}),
    "gaitgraph2": (dict(input_branch=(5, 8, 8), main_stream=(8, 16, 32), embed_dim=16, reduction=4), {"pose": (17, 3)}),
    "gaittr": (dict(in_channels=(10, 16, 16, 32), embed_dim=16, heads=4), {"pose": (17, 3)}),
    "msgg": (dict(in_channels=(3, 8, 16), embed_dim=16, num_classes=5), {"pose": (17, 3)}),
    "multigaitpp": (
        dict(width=1, num_classes=5, bins=(8,)),
        {"sil": (32, 22), "parsing": (32, 22), "flow": (3, 32, 22)},
    ),
}


def small_model(name: str) -> tuple[GaitModel, dict[str, tuple[int, ...]] | None]:
    """A registered model at its small test size, with non-trivial weights and BatchNorm statistics, in eval mode,
    and its per-frame input shapes (``None``: the exporter's defaults, for a model with no small size listed)."""
    torch.manual_seed(0)
    if name in EXPORT_SMALL:
        kwargs, shapes = EXPORT_SMALL[name]
        model = create_model(name, **kwargs)
    else:
        kwargs, frame_shape = SMALL.get(name, ({}, None))
        model = create_model(name, **kwargs)
        shapes = None if frame_shape is None else _shapes(model.input_modalities, tuple(frame_shape))
    fill_with_recipe(model, salt="onnx-export")
    return model.eval(), shapes


def _shapes(modalities: tuple[str, ...], frame_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """``SMALL`` lists the first modality's frame shape; the others are taken at the same image size."""
    shapes = {modalities[0]: frame_shape}
    hw = frame_shape[-2:]
    for m in modalities[1:]:
        shapes[m] = {"sil": hw, "skeleton_map": (2, *hw)}.get(m, DEFAULT_FRAME_SHAPES.get(m, hw))
    return shapes


def inputs_for(specs: tuple[InputSpec, ...], batch: int, frames: int, seed: int) -> dict[str, np.ndarray]:
    """Realistic-magnitude inputs (binary silhouettes, [0, 1) maps) for every input of an export."""
    rng = np.random.default_rng(seed)
    return {s.name: example_frames(s, batch, frames, rng) for s in specs}


def torch_embed(model: GaitModel, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """``model.embed`` on the same arrays (stacked layout)."""
    return model.embed({k: torch.from_numpy(v) for k, v in arrays.items()}).numpy()
