"""Every YAML in configs/ builds its model with
``create_model(cfg.model.name, num_classes=..., **cfg.model.args)``, and that model runs on one short sequence
of the size its test transforms produce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.config import load_config
from gaitforge.data.batch import Batch
from gaitforge.models import GaitModel, create_model

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "configs"
FILES = sorted(CONFIG_ROOT.rglob("*.yaml"))


def _frame_size(transforms: list[dict]) -> tuple[int, int]:
    """(H, W) of 64x64 silhouettes after the config's test transforms."""
    h, w = 64, 64
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
    model = create_model(cfg.model.name, num_classes=10, **cfg.model.args)
    assert isinstance(model, GaitModel)
    if "pose" in cfg.data.modalities:  # a standing COCO-17 figure through the config's own test transforms
        from gaitforge.data.transforms import build_transform

        rng = np.random.default_rng(0)
        pose = np.concatenate([rng.uniform(50, 150, (3, 17, 2)), rng.uniform(0.5, 1, (3, 17, 1))], -1)
        tf = build_transform(cfg.data.test_transforms)
        x = torch.from_numpy(np.ascontiguousarray(tf(pose.astype(np.float32), rng) if tf else pose)).float()[None]
    else:
        h, w = _frame_size(cfg.data.test_transforms)
        channels = getattr(model, "in_channels", 1)
        x = torch.rand((1, 3, h, w) if channels == 1 else (1, 3, channels, h, w))
    batch = Batch(inputs={model.input_modalities[0]: x}, labels=torch.zeros(1, dtype=torch.long))
    model.eval()
    with torch.no_grad():
        out = model(batch)
    assert out.embeddings.shape[0] == 1 and torch.isfinite(out.embeddings).all()
    for loss in cfg.losses:  # every loss input the config names is an output of the model
        assert out.get(loss.get("input", "embeddings")).shape[0] == 1
