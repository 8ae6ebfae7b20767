"""build_model errors and run_opengait_style routing (checkpoint reading: test_opengait_checkpoint.py)."""

from __future__ import annotations

import copy

import pytest
import torch

from gaitforge.interop.opengait import build_model, run_opengait_style, supported_models
from gaitforge.models.gaitbase import GaitBase

SMALL_CFG = {
    "model": "Baseline",
    "backbone_cfg": {
        "type": "ResNet9",
        "block": "BasicBlock",
        "channels": [8, 16, 16, 32],
        "layers": [1, 1, 1, 1],
        "strides": [1, 2, 2, 1],
        "maxpool": False,
    },
    "SeparateFCs": {"in_channels": 32, "out_channels": 16, "parts_num": 16},
    "SeparateBNNecks": {"class_num": 5, "in_channels": 16, "parts_num": 16},
    "bin_num": [16],
}


def _cfg(**changes) -> dict:
    cfg = copy.deepcopy(SMALL_CFG)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = cfg
        for p in parents:
            node = node[p]
        node[leaf] = value
    return cfg


def test_build_small_baseline() -> None:
    model = build_model(SMALL_CFG)
    assert isinstance(model, GaitBase)
    assert model.BNNecks.fc_bin.shape == (16, 16, 5)
    assert "Baseline" in supported_models()


@pytest.mark.parametrize(
    "cfg,error,pattern",
    [
        (
            {"model": "BigGait"},
            KeyError,
            r"model_cfg\.model: unsupported OpenGait model 'BigGait'; supported: Baseline, .*GaitSet",
        ),
        ({}, KeyError, "'model' key"),
        (_cfg(extra=1), KeyError, r"model_cfg\.extra: unknown key"),
        (_cfg(backbone_cfg__type="ResNet18"), ValueError, r"backbone_cfg\.type: expected 'ResNet9'"),
        (_cfg(backbone_cfg__dilate=True), KeyError, r"backbone_cfg\.dilate: unknown key"),
        (_cfg(SeparateFCs__in_channels=64), ValueError, r"SeparateFCs\.in_channels: expected 32, got 64"),
        (_cfg(SeparateBNNecks__parts_num=8), ValueError, r"SeparateBNNecks\.parts_num: expected 16"),
        (_cfg(SeparateBNNecks__parallel_BN1d=False), ValueError, r"parallel_BN1d"),
    ],
)
def test_build_errors(cfg, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        build_model(cfg)


def test_run_opengait_style_without_labels() -> None:
    model = build_model(SMALL_CFG).eval()
    sils = (torch.rand(1, 10, 64, 44) > 0.5).float()
    out = run_opengait_style(model, [sils], torch.tensor([[4, 6]], dtype=torch.int32))
    assert set(out) == {
        "inference_feat/embeddings",
        "training_feat/triplet/embeddings",
        "training_feat/triplet/labels",
        "training_feat/softmax/logits",
        "training_feat/softmax/labels",
    }
    assert out["inference_feat/embeddings"].shape == (2, 16, 16)
    assert out["training_feat/softmax/logits"].shape == (2, 5, 16)
    assert out["training_feat/triplet/labels"].tolist() == [-1, -1]
    with pytest.raises(ValueError, match="1 stream"):
        run_opengait_style(model, [sils, sils], None)
