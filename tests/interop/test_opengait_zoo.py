"""build_model for the zoo: the peer's shipped model_cfg sections build the right models; errors name the key;
run_opengait_style routes each model's outputs to the peer's paths."""

from __future__ import annotations

import copy

import pytest
import torch

from gaitforge.interop.opengait import build_model, run_opengait_style, supported_models
from gaitforge.models.deepgaitv2 import DeepGaitV2
from gaitforge.models.gaitbase import GaitBase
from gaitforge.models.gaitgl import GaitGL
from gaitforge.models.gaitpart import GaitPart
from gaitforge.models.gaitset import GaitSet
from gaitforge.models.gln import GLN
from gaitforge.models.plain import PlainBaseline
from gaitforge.models.swingait import SwinGait

# model_cfg sections of the peer's YAMLs (class counts cut down to keep the models small).
GAITSET_OUMVLP = {
    "model": "GaitSet",
    "in_channels": [1, 64, 128, 256],
    "SeparateFCs": {"in_channels": 256, "out_channels": 256, "parts_num": 62},
    "bin_num": [16, 8, 4, 2, 1],
}
GAITPART_OUMVLP = {
    "model": "GaitPart",
    "backbone_cfg": {
        "in_channels": 1,
        "layers_cfg": [
            "BC-32",
            "BC-32",
            "M",
            "BC-64",
            "BC-64",
            "M",
            "FC-128-3",
            "FC-128-3",
            "FC-256-3",
            "FC-256-3",
        ],
        "type": "Plain",
    },
    "SeparateFCs": {"in_channels": 256, "out_channels": 256, "parts_num": 16},
    "bin_num": [16],
}
GAITGL_GREW_BNNECK = {
    "model": "GaitGL",
    "channels": [32, 64, 128, 256],
    "class_num": 20,
    "SeparateBNNecks": {"class_num": 20, "in_channels": 256, "parts_num": 64},
}
DEEPGAITV2_GAIT3D = {
    "model": "DeepGaitV2",
    "Backbone": {"in_channels": 1, "mode": "p3d", "layers": [1, 4, 4, 1], "channels": [64, 128, 256, 512]},
    "SeparateBNNecks": {"class_num": 30},
}
SWINGAIT_GREW = {
    "model": "SwinGait",
    "Backbone": {"mode": "p3d", "in_channels": 1, "layers": [1, 4, 4, 2], "channels": [64, 128]},
    "bin_num": [15],
    "SeparateBNNecks": {"in_channels": 256, "class_num": 20, "parts_num": 16},
}
PLAIN_BASELINE_GREW = {
    "model": "Baseline",
    "backbone_cfg": {
        "in_channels": 1,
        "layers_cfg": ["BC-32", "BC-32", "M", "BC-64", "BC-64", "M", "BC-128", "BC-128", "BC-256", "BC-256"],
        "type": "Plain",
    },
    "SeparateFCs": {"in_channels": 256, "out_channels": 256, "parts_num": 16},
    "SeparateBNNecks": {"class_num": 20, "in_channels": 256, "parts_num": 16},
    "bin_num": [16],
}
GLN_SMALL = {
    "model": "GLN",
    "class_num": 5,
    "lateral_dim": 8,
    "hidden_dim": 8,
    "dropout": 0.9,
    "in_channels": [1, 4, 8, 8],
    "SeparateFCs": {"in_channels": 8, "out_channels": 8, "parts_num": 45},
    "bin_num": [8, 4, 2, 1],
    "Lateral_pretraining": False,
}


def _changed(cfg: dict, **changes) -> dict:
    cfg = copy.deepcopy(cfg)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = cfg
        for p in parents:
            node = node[p]
        node[leaf] = value
    return cfg


def test_supported_names() -> None:
    assert {"Baseline", "GaitSet", "GaitPart", "GaitGL", "GLN", "DeepGaitV2", "SwinGait", "SkeletonGaitPP"} <= set(
        supported_models()
    )


def test_peer_configs_build_the_right_models() -> None:
    gaitset = build_model(GAITSET_OUMVLP)
    assert isinstance(gaitset, GaitSet) and gaitset.Head.fc_bin.shape == (62, 256, 256)
    gaitpart = build_model(GAITPART_OUMVLP)
    assert isinstance(gaitpart, GaitPart) and gaitpart.Head.fc_bin.shape == (16, 256, 256)
    assert gaitpart.Backbone.forward_block.feature[-2].halving == 3
    gaitgl = build_model(GAITGL_GREW_BNNECK)
    assert isinstance(gaitgl, GaitGL) and gaitgl.bnneck and gaitgl.BNNecks.fc_bin.shape == (64, 256, 20)
    assert "conv3d.2.conv3d.weight" in gaitgl.state_dict()
    deep = build_model(DEEPGAITV2_GAIT3D)
    assert isinstance(deep, DeepGaitV2) and len(deep.layer2) == 4 and len(deep.layer4) == 1
    swin = build_model(SWINGAIT_GREW)
    assert isinstance(swin, SwinGait) and len(swin.layer2) == 4
    assert [len(stage.blocks) for stage in swin.transformer.layers] == [4, 2]
    plain = build_model(PLAIN_BASELINE_GREW)
    assert isinstance(plain, PlainBaseline) and plain.BNNecks.fc_bin.shape == (16, 256, 20)
    resnet = _changed(
        PLAIN_BASELINE_GREW,
        backbone_cfg={"type": "ResNet9", "channels": [8, 8, 16, 16], "layers": [1, 1, 1, 1]},
        SeparateFCs__in_channels=16,
    )
    assert isinstance(build_model(resnet), GaitBase)
    skeleton = build_model(_changed(DEEPGAITV2_GAIT3D, Backbone__in_channels=2, use_emb2=True))
    assert skeleton.input_modalities == ("skeleton_map",) and skeleton.inference_bnneck


@pytest.mark.parametrize(
    ("cfg", "error", "pattern"),
    [
        (_changed(GAITSET_OUMVLP, extra=1), KeyError, r"model_cfg\.extra: unknown key"),
        (
            _changed(GAITSET_OUMVLP, SeparateFCs__parts_num=31),
            ValueError,
            r"SeparateFCs\.parts_num: expected 62",
        ),
        (_changed(GAITSET_OUMVLP, in_channels=[1, 64]), ValueError, r"model_cfg\.in_channels: expected 4"),
        (
            _changed(GAITPART_OUMVLP, backbone_cfg__layers_cfg=["BC-32", "BX-3"]),
            ValueError,
            r"model_cfg\.backbone_cfg\.layers_cfg\[1\]",
        ),
        (
            _changed(GAITPART_OUMVLP, backbone_cfg__type="ResNet9"),
            ValueError,
            r"backbone_cfg\.type: expected 'Plain'",
        ),
        (_changed(GAITGL_GREW_BNNECK, channels=[32, 64]), ValueError, r"model_cfg\.channels: expected 3"),
        (
            _changed(GAITGL_GREW_BNNECK, SeparateBNNecks__parts_num=16),
            ValueError,
            r"SeparateBNNecks\.parts_num: expected 64",
        ),
        (_changed(DEEPGAITV2_GAIT3D, Backbone__mode="4d"), ValueError, r"Backbone\.mode: expected '2d'"),
        (
            _changed(DEEPGAITV2_GAIT3D, Backbone__depth=3),
            KeyError,
            r"model_cfg\.Backbone\.depth: unknown key",
        ),
        (
            _changed(SWINGAIT_GREW, SeparateBNNecks__parts_num=15),
            ValueError,
            r"SeparateBNNecks\.parts_num: expected 16",
        ),
        (_changed(SWINGAIT_GREW, Backbone__mode="3d"), ValueError, r"Backbone\.mode: expected 'p3d'"),
        (_changed(GLN_SMALL, hidden_dim=16), ValueError, r"model_cfg\.hidden_dim: expected 8, got 16"),
        (_changed(GLN_SMALL, bin_num="16"), ValueError, r"model_cfg\.bin_num: expected a list of integers"),
        (
            _changed(PLAIN_BASELINE_GREW, SeparateBNNecks__norm=False),
            ValueError,
            r"SeparateBNNecks\.norm: expected True",
        ),
    ],
)
def test_build_errors_name_the_key(cfg: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        build_model(cfg)


def test_gln_phase_two_output_paths() -> None:
    torch.manual_seed(0)
    model = build_model(GLN_SMALL).eval()
    assert isinstance(model, GLN)
    out = run_opengait_style(model, [torch.rand(1, 7, 32, 22)], torch.tensor([[7]], dtype=torch.int32))
    assert set(out) == {
        "inference_feat/embeddings",
        "training_feat/triplet/embeddings",
        "training_feat/triplet/labels",
        "training_feat/softmax/logits",
        "training_feat/softmax/labels",
    }
    assert out["training_feat/softmax/logits"].shape == (1, 1, 5)  # the peer's [n, 1, classes]
    phase1 = build_model(_changed(GLN_SMALL, Lateral_pretraining=True)).eval()
    out = run_opengait_style(phase1, [torch.rand(2, 5, 32, 22)], None)
    assert set(out) == {
        "inference_feat/embeddings",
        "training_feat/triplet/embeddings",
        "training_feat/triplet/labels",
    }
