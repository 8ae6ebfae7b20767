"""build_model for the peer's pose models (GaitGraph1/2, GaitTR, MultiScaleGaitGraph): the fixtures' model_cfg
sections build the peer's state-dict layout; settings gaitforge does not implement are errors naming the key."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from gaitforge.interop.opengait import build_model, peer_model_spec, supported_models

FIXTURES = {"GaitGraph1": "gaitgraph1", "GaitGraph2": "gaitgraph2", "GaitTR": "gaittr", "MSGG": "msgg"}


@pytest.mark.parametrize(("fixture", "name"), FIXTURES.items())
def test_fixture_configs_build_the_peer_layout(fixtures_dir: Path, fixture: str, name: str) -> None:
    meta = json.loads((fixtures_dir / "models" / f"{fixture}.json").read_text())
    spec = peer_model_spec(meta["model_cfg"])
    assert spec.name == name
    model = build_model(meta["model_cfg"])
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == [[k, s] for k, s, _ in meta["state_dict"]]
    assert sum(p.numel() for p in model.parameters()) == meta["param_count"]
    assert tuple(model.input_modalities) == ("pose",)


def test_supported_names() -> None:
    assert {"GaitGraph1", "GaitGraph2", "GaitTR", "MultiScaleGaitGraph"} <= set(supported_models())


GG2 = {
    "model": "GaitGraph2",
    "joint_format": "coco",
    "input_num": 3,
    "reduction": 8,
    "block": "Bottleneck",
    "input_branch": [5, 64, 32],
    "main_stream": [32, 128, 256],
    "num_class": 128,
    "tta": True,
}
MSGG = {
    "model": "MultiScaleGaitGraph",
    "in_channels": [3, 16, 32],
    "out_channels": 16,
    "graph_cfg": {"layout": "body_12", "strategy": "gait_temporal"},
    "temporal_kernel_size": 9,
    "num_id": 5,
}


@pytest.mark.parametrize(
    ("base", "edit", "message"),
    [
        (GG2, {"joint_format": "openpose"}, r"model_cfg\.joint_format: expected 'coco'"),
        (GG2, {"input_num": 1}, r"model_cfg\.input_num: expected 3"),
        (GG2, {"input_branch": [3, 64, 32]}, r"model_cfg\.input_branch\[0\]: expected 5"),
        (GG2, {"main_stream": [64, 128, 256]}, r"model_cfg\.main_stream\[0\]: expected 32"),
        (GG2, {"block": "Dense"}, r"model_cfg\.block: expected one of"),
        (GG2, {"tta": "yes"}, r"model_cfg\.tta: expected true or false"),
        (GG2, {"kernel": 9}, r"model_cfg\.kernel: unknown key"),
        ({**GG2, "model": "GaitGraph1"}, {}, r"model_cfg\.input_num: expected 1"),
        ({"model": "GaitTR", "in_channels": [6, 64], "num_class": 8}, {}, r"model_cfg\.in_channels\[0\]: expected 10"),
        ({"model": "GaitTR", "in_channels": [10, 64]}, {}, r"model_cfg: missing key\(s\) \['num_class'\]"),
        (MSGG, {"graph_cfg": {"layout": "coco"}}, r"model_cfg\.graph_cfg\.layout: expected 'body_12'"),
        (MSGG, {"temporal_kernel_size": 4}, r"model_cfg\.temporal_kernel_size: expected an odd size"),
        (MSGG, {"num_id": 0}, r"model_cfg\.num_id: expected a positive integer"),
    ],
)
def test_unsupported_settings_name_the_key(base: dict, edit: dict, message: str) -> None:
    cfg = {**copy.deepcopy(base), **edit}
    with pytest.raises((KeyError, ValueError), match=message):
        peer_model_spec(cfg)


def test_small_configs_build() -> None:
    model = build_model(MSGG)
    assert model.fc.out_features == 16 and model.encoder_cls.out_features == 5
    spec = peer_model_spec({**GG2, "input_branch": [5, 8, 8], "main_stream": [8, 16], "num_class": 8})
    assert spec.kwargs["embed_dim"] == 8 and spec.num_classes is None
