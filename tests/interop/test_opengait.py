"""build_model errors, run_opengait_style routing, and safe checkpoint loading."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.interop.opengait import build_model, load_checkpoint, run_opengait_style, supported_models
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


def _small_model() -> GaitBase:
    return fill_with_recipe(build_model(SMALL_CFG), salt="ckpt").eval()


def test_load_checkpoint_round_trip_peer_layout(tmp_path: Path) -> None:
    model = _small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[20, 40])
    path = tmp_path / "Baseline-00100.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "iteration": 100,
        },
        path,
    )
    state = load_checkpoint(path)
    assert list(state) == list(model.state_dict())
    fresh = build_model(SMALL_CFG)
    fresh.load_state_dict(state, strict=True)
    fresh.eval()
    x = torch.rand(2, 4, 64, 44)
    torch.testing.assert_close(
        run_opengait_style(fresh, [x], None)["inference_feat/embeddings"],
        run_opengait_style(model, [x], None)["inference_feat/embeddings"],
        rtol=0,
        atol=0,
    )


def test_load_checkpoint_plain_and_ddp_prefixed(tmp_path: Path) -> None:
    sd = _small_model().state_dict()
    torch.save(sd, tmp_path / "plain.pt")
    torch.save({f"module.{k}": v for k, v in sd.items()}, tmp_path / "ddp.pt")
    for name in ("plain.pt", "ddp.pt"):
        state = load_checkpoint(tmp_path / name)
        assert list(state) == list(sd) and all(torch.equal(state[k], sd[k]) for k in sd)


_UNPICKLED: list[str] = []


class Payload:
    """A custom object: restoring it would run its __setstate__ (arbitrary code on load)."""

    def __setstate__(self, state) -> None:
        _UNPICKLED.append("ran")


def test_refuses_custom_objects_without_running_them(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": _small_model().state_dict(), "extra": Payload()}, path)
    with pytest.raises(ValueError, match=r"evil\.pt: refused to load.*weights_only"):
        load_checkpoint(path)
    assert _UNPICKLED == []


@pytest.mark.parametrize(
    "obj,pattern",
    [
        ([1, 2, 3], r"top level is not \(found list\)"),
        ({"model": {"a": 1}}, r"field 'model' is not"),
        ({"epoch": 3}, r"top level is not \(found dict with keys \['epoch'\]\)"),
        ({}, "top level is not"),
    ],
)
def test_rejects_other_contents(tmp_path: Path, obj, pattern) -> None:
    path = tmp_path / "x.pt"
    torch.save(obj, path)
    with pytest.raises(ValueError, match=pattern):
        load_checkpoint(path)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"bad\.pt"):
        load_checkpoint(bad)
