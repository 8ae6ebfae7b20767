"""Every YAML in configs/ builds its model with
``build_model_for(cfg, num_classes)`` (the trainer's builder), and that model runs on one short sequence
of the size its test transforms produce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.config import load_config
from gaitforge.data.batch import Batch
from gaitforge.engine.model_setup import build_model_for
from gaitforge.models import GaitModel
from tests.models.test_all_models import RGB_COMPANIONS

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "configs"
FILES = sorted(CONFIG_ROOT.rglob("*.yaml"))


#: Stored frame size (H, W) and channels of the modalities that are not 64x64 single-channel images.
NATIVE_SIZE = {"diffusion_feature": (96, 48)}
CHANNELS = {"rgb": 3, "diffusion_feature": 4}


def _frame_size(transforms: list[dict], start: tuple[int, int] = (64, 64)) -> tuple[int, int]:
    """(H, W) of 64x64 silhouettes (or frames of size ``start``) after the config's test transforms."""
    h, w = start
    for t in transforms:
        if t["name"] == "sil_cut":
            cut = t.get("cut")
            w -= 2 * (w // 64 * 10 if cut is None else int(cut))
        elif t["name"] == "resize":
            h, w = (int(v) for v in t["size"])
    return h, w


def test_there_are_configs_for_every_zoo_model() -> None:
    zoo = {"gaitset", "gaitpart", "gaitgl", "gln", "deepgaitv2", "swingait", "plain_baseline"}
    assert zoo <= {load_config(f).model.name for f in FILES}
    for name in sorted(zoo):
        assert (CONFIG_ROOT / name / f"{name}_synth_cpu.yaml").is_file(), f"{name}: no CPU-sized config"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_config_builds_and_runs_its_model(path: Path) -> None:
    cfg = load_config(path)
    model = build_model_for(cfg, 10)
    assert isinstance(model, GaitModel)
    first = model.input_modalities[0]
    if "pose" in cfg.data.modalities:  # a standing COCO-17 figure through the config's own test transforms
        from gaitforge.data.transforms import build_transform

        rng = np.random.default_rng(0)
        pose = np.concatenate([rng.uniform(50, 150, (3, 17, 2)), rng.uniform(0.5, 1, (3, 17, 1))], -1)
        tf = build_transform(cfg.data.test_transforms)
        x = torch.from_numpy(np.ascontiguousarray(tf(pose.astype(np.float32), rng) if tf else pose)).float()[None]
    else:
        steps = cfg.data.test_transforms  # one list, or modality -> list
        steps = steps.get(first, []) if isinstance(steps, dict) else steps
        h, w = _frame_size(steps, NATIVE_SIZE.get(first, (64, 64)))
        channels = CHANNELS.get(first, getattr(model, "in_channels", 1))
        x = torch.rand((1, 3, h, w) if channels == 1 else (1, 3, channels, h, w))
    inputs = {first: x}
    if first in CHANNELS:  # RGB-family models also read silhouettes / box ratios, derived frame by frame
        inputs.update({m: RGB_COMPANIONS[m](x) for m in model.input_modalities[1:] if m in RGB_COMPANIONS})
    batch = Batch(inputs=inputs, labels=torch.zeros(1, dtype=torch.long))
    model.eval()
    with torch.no_grad():
        out = model(batch)
    assert out.embeddings.shape[0] == 1 and torch.isfinite(out.embeddings).all()
    for loss in cfg.losses:  # every loss input the config names is an output of the model
        name = loss.get("input", "embeddings")
        if name in getattr(model, "training_outputs", ()):  # returned in training only (BigGait's own losses)
            continue
        assert out.get(name).shape[0] == 1
