"""The peer's RGB model configs → gaitforge models: settings read, unsupported ones named by their key path."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from gaitforge.interop.opengait import peer_model_spec, supported_models


def _cfg(fixtures_dir: Path, name: str) -> dict:
    return copy.deepcopy(json.loads((fixtures_dir / "models" / f"{name}.json").read_text())["model_cfg"])


def test_supported_and_translated(fixtures_dir: Path) -> None:
    assert {"GaitEdge", "BigGait__Dinov2_Gaitbase", "DenoisingGait"} <= set(supported_models())
    edge = peer_model_spec(_cfg(fixtures_dir, "GaitEdge"))
    assert edge.name == "gaitedge" and edge.num_classes == 74 and edge.kwargs["freeze_half"] is True
    big = peer_model_spec(_cfg(fixtures_dir, "BigGait__Dinov2_Gaitbase"))
    assert big.name == "biggait" and big.kwargs["mask_dropout"] == 0.5 and big.kwargs["image_size"] == 224
    den = peer_model_spec(_cfg(fixtures_dir, "DenoisingGait"))
    assert den.name == "denoisinggait" and den.kwargs["radius"] == 3 and den.kwargs["bins"] == [24]


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "GaitEdge",
            lambda c: c["Segmentation"].update(type="DeepLab"),
            r"model_cfg.Segmentation.type: expected 'U_Net'",
        ),
        ("GaitEdge", lambda c: c.update(extra=1), r"model_cfg.extra: unknown key"),
        (
            "BigGait__Dinov2_Gaitbase",
            lambda c: c["Mask_Branch"].update(source_dim=768),
            r"model_cfg.Mask_Branch.source_dim: expected 384",
        ),
        (
            "BigGait__Dinov2_Gaitbase",
            lambda c: c["Denoising_Branch"].update(Relu=False),
            r"model_cfg.Denoising_Branch.Relu: expected True",
        ),
        ("DenoisingGait", lambda c: c.update(p=0.3), r"model_cfg.p: expected 0.0"),
        ("DenoisingGait", lambda c: c["SeparateFCs"].update(parts_num=16), r"model_cfg.SeparateFCs.parts_num"),
    ],
)
def test_unsupported_settings_are_named(fixtures_dir: Path, name: str, change, message: str) -> None:
    cfg = _cfg(fixtures_dir, name)
    change(cfg)
    with pytest.raises((KeyError, ValueError), match=message):
        peer_model_spec(cfg)
