"""Warm start (train.init_from): gaitforge and peer checkpoints, strict errors, init_skip, partial loads, safety."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from gaitforge.config import TrainConfig
from gaitforge.engine.checkpoint import save_checkpoint
from gaitforge.engine.warm_start import WarmStartError, apply_warm_start
from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.models import create_model

SMALL = dict(channels=(4, 8, 8, 16), embed_dim=8, bins=(4,))


def _gaitbase(classes: int = 5, salt: str | None = None) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model("gaitbase", num_classes=classes, **SMALL)
    return fill_with_recipe(model, salt) if salt else model


def _same(a: torch.nn.Module, b: torch.nn.Module, prefix: str = "") -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if k.startswith(prefix))


def test_no_warm_start_is_a_no_op() -> None:
    model = _gaitbase()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = apply_warm_start(model, TrainConfig())
    assert not report.applied and report.summary() == "no warm start"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_gaitforge_checkpoint_loads_everything(tmp_path: Path) -> None:
    source = _gaitbase(salt="source")
    path = save_checkpoint(tmp_path / "ckpt-0000100.pt", {"model": source.state_dict(), "iteration": 100})
    target = _gaitbase()
    report = apply_warm_start(target, TrainConfig(init_from=str(path)))
    assert report.format == "gaitforge" and report.clean and len(report.loaded) == len(target.state_dict())
    assert _same(source, target)


def test_peer_checkpoint_with_ddp_prefix(tmp_path: Path) -> None:
    source = _gaitbase(salt="peer")
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    torch.save({"model": state, "optimizer": {}, "scheduler": {}, "iteration": 60000}, tmp_path / "peer.pt")
    target = _gaitbase()
    report = apply_warm_start(target, TrainConfig(init_from=str(tmp_path / "peer.pt")))
    assert report.format == "opengait" and report.clean and _same(source, target)
    assert report.to_dict()["loaded"] == list(target.state_dict())


def test_strict_mismatch_is_an_error_and_loads_nothing(tmp_path: Path) -> None:
    torch.save(_gaitbase(classes=9, salt="other").state_dict(), tmp_path / "other.pt")
    target = _gaitbase(classes=5)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(WarmStartError, match=r"shape differs.*BNNecks\.fc_bin \[4, 8, 9\] vs \[4, 8, 5\]") as info:
        apply_warm_start(target, TrainConfig(init_from=str(tmp_path / "other.pt")))
    assert info.value.report.shape_mismatched == {"BNNecks.fc_bin": ([4, 8, 9], [4, 8, 5])}
    assert "init_skip" in str(info.value)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


def test_init_skip_and_non_strict(tmp_path: Path) -> None:
    source = _gaitbase(classes=9, salt="other")
    torch.save(source.state_dict(), tmp_path / "other.pt")
    target = _gaitbase(classes=5)
    head_before = target.BNNecks.fc_bin.detach().clone()
    report = apply_warm_start(target, TrainConfig(init_from=str(tmp_path / "other.pt"), init_skip=["BNNecks.fc_bin"]))
    assert report.clean and report.skipped == ["BNNecks.fc_bin"]
    assert torch.equal(target.BNNecks.fc_bin, head_before) and _same(source, target, "Backbone")
    loose = _gaitbase(classes=5)
    report = apply_warm_start(loose, TrainConfig(init_from=str(tmp_path / "other.pt"), init_strict=False))
    assert list(report.shape_mismatched) == ["BNNecks.fc_bin"] and not report.missing and not report.unexpected
    assert _same(source, loose, "BNNecks.bn1d") and "1 shape-mismatched" in report.summary()
    with pytest.raises(ValueError, match=r"train\.init_skip: pattern 'Bnnecks\.\*' matches no key"):
        apply_warm_start(loose, TrainConfig(init_from=str(tmp_path / "other.pt"), init_skip=["Bnnecks.*"]))


def test_deepgaitv2_weights_warm_start_swingait(tmp_path: Path) -> None:
    """The peer's SwinGait recipe: start from a DeepGaitV2 checkpoint, non-strict."""
    torch.manual_seed(0)
    deep = fill_with_recipe(create_model("deepgaitv2", channels=(8, 16, 16, 32), num_classes=4), "deep")
    torch.save({"model": deep.state_dict(), "iteration": 60000}, tmp_path / "deep.pt")
    swin = create_model("swingait", channels=(8, 16), embed_dim=16, num_heads=(2, 4), out_dim=16, num_classes=4)
    report = apply_warm_start(swin, TrainConfig(init_from=str(tmp_path / "deep.pt"), init_strict=False))
    assert "layer2.0.shortcut3d.weight" in report.loaded and _same(deep, swin, "layer1.")
    assert any(k.startswith("layer3.") for k in report.unexpected)
    assert any(k.startswith("transformer.") for k in report.missing)
    assert "transformer.layers.0.blocks.0.attn.relative_position_index" in report.missing  # kept as built
    with pytest.raises(WarmStartError, match="missing from the file"):
        apply_warm_start(swin, TrainConfig(init_from=str(tmp_path / "deep.pt")))


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_unsafe_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "extra": _Evil()}, bad, pickle_module=pickle)
    with pytest.raises(ValueError, match="refused to load"):
        apply_warm_start(_gaitbase(), TrainConfig(init_from=str(bad)))
    with pytest.raises(FileNotFoundError, match=r"train\.init_from: checkpoint .*nope\.pt not found"):
        apply_warm_start(_gaitbase(), TrainConfig(init_from=str(tmp_path / "nope.pt")))
