"""RGB models through the training engine: a store with rgb / sil / ratio, per-modality transforms in the config,
GaitEdge with its BCE as a named loss and BigGait (a small ViT) with its own auxiliary losses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.config import config_from_dict
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter
from gaitforge.engine.checkpoint import latest_checkpoint, load_checkpoint
from gaitforge.engine.evaluate import embed_sequences
from gaitforge.engine.trainer import train
from gaitforge.export.checkpoint import export_checkpoint
from gaitforge.models import create_model


@pytest.fixture(scope="module")
def rgb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rgb") / "store"
    rng = np.random.default_rng(0)
    with StoreWriter(root, codec={"rgb": "lz4"}) as w:
        for s in range(5):
            colour = rng.integers(40, 255, 3)
            for c in range(2):
                sil = np.zeros((8, 32, 16), np.uint8)
                for t in range(8):  # a box that sways a little, per subject its own width
                    x0 = 4 + (t + c) % 3
                    sil[t, 3:30, x0 : x0 + 5 + s % 3] = 255
                rgb = (sil[..., None] > 0) * colour[None, None, None, :] + rng.integers(0, 30, (8, 32, 16, 3))
                ratio = np.full(8, 0.35 + 0.05 * s, np.float32)
                mods = {"rgb": rgb.astype(np.uint8), "sil": sil, "ratio": ratio}
                w.add(Sequence(f"{s:03d}", f"nm-0{c}", "090", mods))
    (root / "partition.json").write_text(json.dumps({"TRAIN_SET": [f"{s:03d}" for s in range(5)], "TEST_SET": []}))
    return root


def _config(store: Path, model: dict, losses: list[dict], modalities: list[str]) -> object:
    transforms = {"rgb": [{"name": "rgb_normalize"}], "sil": [{"name": "sil_cut", "cut": 0}]}
    return config_from_dict(
        {
            "name": "rgb-micro",
            "data": {
                "store": str(store),
                "modalities": modalities,
                "p": 3,
                "k": 2,
                "num_workers": 0,
                "train_frames": {"mode": "fixed_ordered", "num": 6},
                "transforms": {k: v for k, v in transforms.items() if k in modalities},
                "test_transforms": {k: v for k, v in transforms.items() if k in modalities},
            },
            "model": model,
            "losses": losses,
            "optimizer": {"name": "adam", "lr": 0.001},
            "scheduler": {"name": "multistep", "milestones": [100]},
            "train": {"iterations": 3, "log_every": 1, "save_every": 100, "tensorboard": False},
            "eval": {"batch_size": 4},
        }
    )


def test_gaitedge_trains_with_its_segmentation_loss(rgb_store: Path, tmp_path: Path) -> None:
    model = {
        "name": "gaitedge",
        "args": {"channels": [4, 8, 8], "bins": [16], "seg_widths": [4, 4, 8, 8], "align_size": [16, 11]},
    }
    losses = [
        {"name": "triplet", "input": "embeddings"},
        {"name": "bce", "weight": 10.0, "input": "seg_probs", "labels": "seg_target"},
        {"name": "ce", "input": "logits", "scale": 1, "label_smoothing": 0.0},
    ]
    torch.manual_seed(0)
    result = train(_config(rgb_store, model, losses, ["rgb", "sil", "ratio"]), tmp_path / "run", progress=False)
    assert result.iterations == 3
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(x["train/loss"]) and x["train/bce/loss"] > 0 for x in lines)
    weights = load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints"))["model"]
    assert "Backbone.Conv_1x1.weight" in weights and "Head1.fc_bin" in weights
    # evaluation embeds the store's sequences through the same per-modality test transforms
    cfg = _config(rgb_store, model, losses, ["rgb", "sil", "ratio"])
    net = create_model("gaitedge", num_classes=5, **model["args"])
    net.load_state_dict(weights)
    embedded = embed_sequences(net, SequenceStore(rgb_store), list(range(10)), cfg, progress=False)
    assert embedded.embeddings.shape == (10, 8, 16) and np.isfinite(embedded.embeddings).all()
    # the run exports: input shapes from the store and the per-modality test transforms, checked against PyTorch
    report = export_checkpoint(tmp_path / "run", tmp_path / "gaitedge.onnx")
    shapes = [(s.name, s.frame_shape) for s in report.inputs]
    assert shapes == [("rgb", (3, 32, 16)), ("sil", (32, 16)), ("ratio", (1,))]
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4


def test_biggait_trains_with_its_auxiliary_losses(rgb_store: Path, tmp_path: Path) -> None:
    model = {
        "name": "biggait",
        "args": {
            "dinov2": {"embed_dim": 32, "depth": 4, "num_heads": 2, "img_size": 56},
            "image_size": 28,
            "sils_size": 8,
            "channels": [8, 16, 16, 32],
            "fusion_squeeze": 4,
            "embed_dim": 16,
            "bins": [4],
        },
    }
    losses = [
        {"name": "triplet", "input": "embeddings"},
        {"name": "ce", "input": "logits", "scale": 16},
        {"name": "aux", "input": "aux_loss"},
    ]
    torch.manual_seed(0)
    train(_config(rgb_store, model, losses, ["rgb", "ratio"]), tmp_path / "run", progress=False)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and all(np.isfinite(x["train/aux/loss"]) for x in lines)


def test_gaitedge_segmentation_phase_trains_only_the_unet(rgb_store: Path, tmp_path: Path) -> None:
    """Phase 1 (configs/gaitedge/gaitedge_casiab_phase1.yaml): BCE alone, encoder trainable; GaitGL keeps its init."""
    model = {
        "name": "gaitedge",
        "args": {"channels": [4, 8, 8], "bins": [16], "seg_widths": [4, 4, 8, 8], "align_size": [16, 11]},
    }
    model["args"]["freeze_half"] = False
    losses = [{"name": "bce", "input": "seg_probs", "labels": "seg_target"}]
    cfg = _config(rgb_store, model, losses, ["rgb", "sil", "ratio"])
    torch.manual_seed(0)
    train(cfg, tmp_path / "run", progress=False, stop_at=1)
    after_one = load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints"))["model"]
    train(cfg, tmp_path / "run", progress=False, resume=True)
    after_three = load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints"))["model"]
    assert not torch.equal(after_one["Backbone.Conv1.conv.0.weight"], after_three["Backbone.Conv1.conv.0.weight"])
    assert torch.equal(after_one["Head1.fc_bin"], after_three["Head1.fc_bin"])  # no identity loss in this phase
