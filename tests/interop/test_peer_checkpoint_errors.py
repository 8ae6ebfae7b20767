"""``convert opengait-checkpoint`` / ``fastposegait-checkpoint`` on bad input: a checkpoint of another model than
the config names, configs it cannot map, unsafe files, an occupied output folder, a failure while writing; each is
one clear error and leaves nothing behind. Also the recorded transforms of small models and the CLI."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
import torch
import yaml

from gaitforge.cli import main
from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.interop.opengait import build_model
from gaitforge.interop.peer_checkpoint import convert_peer_checkpoint, peer_eval_transform, run_config_for

BASELINE = {
    "model": "Baseline",
    "backbone_cfg": {"type": "ResNet9", "block": "BasicBlock", "channels": [4, 8, 8, 16], "layers": [1, 1, 1, 1]},
    "SeparateFCs": {"in_channels": 16, "out_channels": 8, "parts_num": 4},
    "SeparateBNNecks": {"class_num": 5, "in_channels": 8, "parts_num": 4},
    "bin_num": [4],
}
GAITSET = {
    "model": "GaitSet",
    "in_channels": [1, 4, 8, 16],
    "SeparateFCs": {"in_channels": 16, "out_channels": 8, "parts_num": 8},
    "bin_num": [4],
}
GAITGRAPH2 = {
    "model": "GaitGraph2",
    "joint_format": "coco",
    "input_num": 3,
    "reduction": 4,
    "block": "Bottleneck",
    "input_branch": [5, 8, 8],
    "main_stream": [8, 16, 16],
    "num_class": 8,
    "tta": True,
}
GAITHEAT = {
    "model": "GaitHeat",
    "backbone_cfg": {
        "type": "ResNet9",
        "in_channel": 1,
        "block": "BasicBlock",
        "channels": [4, 8, 8, 16],
        "layers": [1, 1, 1, 1],
        "strides": [1, 2, 2, 1],
        "maxpool": False,
    },
    "SeparateFCs": {"in_channels": 16, "out_channels": 8, "parts_num": 4},
    "SeparateBNNecks": {"class_num": 5, "in_channels": 8, "parts_num": 4},
    "bin_num": [4],
}
SIL_TF = [{"type": "BaseSilCuttingTransform"}]
GG2_TF = [{"type": "Compose", "trf_cfg": [{"type": "NormalizeEmpty"}, {"type": "GaitGraphMultiInput"}]}]


def _files(folder: Path, model_cfg: dict, ckpt_cfg: dict | None = None, transform=SIL_TF, prefix: str = ""):
    """A peer YAML for ``model_cfg`` and an OpenGait-layout checkpoint of ``ckpt_cfg`` (default: the same)."""
    from gaitforge.interop.peer_checkpoint import _model_spec

    spec = _model_spec(ckpt_cfg or model_cfg, "fastposegait")
    model = fill_with_recipe(spec.build(), "errors")
    state = {prefix + k: v for k, v in model.state_dict().items()}
    ckpt = folder / "peer.pt"
    torch.save({"model": state, "optimizer": {}, "scheduler": {}, "iteration": 7}, ckpt)
    config = folder / "peer.yaml"
    config.write_text(yaml.safe_dump({"model_cfg": model_cfg, "evaluator_cfg": {"transform": transform}}))
    return ckpt, config


def _nothing_written(folder: Path, out: Path) -> None:
    assert not out.exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(f".{out.name}.")], "a temporary folder was left"


def test_checkpoint_of_another_model_names_the_first_key(tmp_path: Path) -> None:
    ckpt, config = _files(tmp_path, BASELINE, GAITSET)
    out = tmp_path / "run"
    with pytest.raises(ValueError) as info:
        convert_peer_checkpoint(ckpt, config, out)
    message = str(info.value)
    assert "\n" not in message and "not a checkpoint of the Baseline" in message
    first = next(iter(build_model(BASELINE).state_dict()))
    assert f"first mismatching key '{first}': in the model" in message and "not in the checkpoint" in message
    _nothing_written(tmp_path, out)


def test_shape_mismatch_names_the_key_and_both_shapes(tmp_path: Path) -> None:
    other = copy.deepcopy(BASELINE)
    other["SeparateBNNecks"]["class_num"] = 7  # another dataset's classifier
    ckpt, config = _files(tmp_path, BASELINE, other)
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"first mismatching key 'BNNecks.fc_bin': checkpoint \[4, 8, 7\] vs model "
                       r"\[4, 8, 5\]$"):  # fmt: skip
        convert_peer_checkpoint(ckpt, config, out)
    _nothing_written(tmp_path, out)


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (
            lambda c: c["model_cfg"]["backbone_cfg"].update(dilation=2),
            r"model_cfg\.backbone_cfg\.dilation: unknown key",
        ),
        (lambda c: c["model_cfg"].update(model="GaitUnknown"), r"model_cfg\.model: unsupported OpenGait model"),
        (lambda c: c["model_cfg"]["backbone_cfg"].update(type="ResNet50"), r"model_cfg\.backbone_cfg\.type: expected"),
        (
            lambda c: c["evaluator_cfg"].update(transform=[{"type": "PointCloudsTransform"}]),
            r"evaluator_cfg\.transform\[0\]\.type: test-time transform 'PointCloudsTransform' has no gaitforge",
        ),
        (
            lambda c: c["evaluator_cfg"].update(transform=GG2_TF),
            r"evaluator_cfg\.transform\[0\]\.trf_cfg\[1\]\.type: GaitGraphMultiInput builds the input of gaitgraph2, "
            r"but the config's model is gaitbase",
        ),
        (lambda c: c["evaluator_cfg"].update(metric="l1"), r"evaluator_cfg\.metric: expected euc or cos"),
        (
            lambda c: c["evaluator_cfg"].update(sampler={"sample_type": "random"}),
            r"evaluator_cfg\.sampler\.sample_type",
        ),
        (
            lambda c: c["evaluator_cfg"].update(
                transform=[{"type": "BaseSilCuttingTransform"}, {"type": "NoOperation"}]
            ),
            r"evaluator_cfg\.transform\[1\]: this input's transform differs",
        ),
    ],  # fmt: skip
)
def test_configs_it_cannot_map_name_the_key_path(tmp_path: Path, edit, path: str) -> None:
    ckpt, config = _files(tmp_path, BASELINE)
    peer = yaml.safe_load(config.read_text())
    edit(peer)
    config.write_text(yaml.safe_dump(peer))
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=path) as info:
        convert_peer_checkpoint(ckpt, config, out)
    assert str(info.value).startswith(f"{config}: ") and "\n" not in str(info.value)
    _nothing_written(tmp_path, out)


class _Payload:
    def __reduce__(self):
        return (print, ("executed",))


def test_unsafe_or_unreadable_checkpoints_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _, config = _files(tmp_path, BASELINE)
    evil = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "extra": _Payload()}, evil)
    with pytest.raises(ValueError, match="refused to load"):
        convert_peer_checkpoint(evil, config, tmp_path / "run")
    assert "executed" not in capsys.readouterr().out
    junk = tmp_path / "junk.pt"
    junk.write_bytes(pickle.dumps([1, 2]) + b"garbage")
    with pytest.raises(ValueError, match="junk.pt"):
        convert_peer_checkpoint(junk, config, tmp_path / "run")
    with pytest.raises(FileNotFoundError):
        convert_peer_checkpoint(tmp_path / "missing.pt", config, tmp_path / "run")
    _nothing_written(tmp_path, tmp_path / "run")


def test_occupied_output_and_failures_while_writing_leave_nothing(tmp_path: Path, monkeypatch) -> None:
    ckpt, config = _files(tmp_path, BASELINE)
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        convert_peer_checkpoint(ckpt, config, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    import gaitforge.engine.checkpoint as engine_checkpoint

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine_checkpoint, "save_checkpoint", disk_full)
    with pytest.raises(OSError, match="No space left"):
        convert_peer_checkpoint(ckpt, config, tmp_path / "run2")
    _nothing_written(tmp_path, tmp_path / "run2")
    with pytest.raises(OSError, match="No space left"):  # folders made for --out are removed too
        convert_peer_checkpoint(ckpt, config, tmp_path / "new" / "deeper" / "run")
    assert not (tmp_path / "new").exists()


def test_a_converted_run_loads_and_records_its_source(tmp_path: Path) -> None:
    from gaitforge.engine.evaluate import load_trained_model

    ckpt, config = _files(tmp_path, BASELINE, prefix="module.")  # a DDP-wrapped save
    out = tmp_path / "nested" / "run"
    outcome = convert_peer_checkpoint(ckpt, config, out)
    assert outcome.checkpoint == out / "checkpoints" / "ckpt-0000007.pt" and outcome.model == "gaitbase"
    model, cfg, path = load_trained_model(out)
    assert path == outcome.checkpoint and cfg.name == "peer" and cfg.data.test_transforms == [{"name": "sil_cut"}]
    expected = torch.load(ckpt, weights_only=True)["model"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[f"module.{key}"]), key
    record = json.loads((out / "conversion.json").read_text())
    assert record["source"]["format"] == "opengait" and len(record["source"]["sha256"]) == 64
    assert record["num_classes"] == 5 and record["input_transform"]["peer"] == SIL_TF


def test_recorded_transforms() -> None:
    assert peer_eval_transform(SIL_TF, "gaitbase")["test_transforms"] == [{"name": "sil_cut"}]
    cut = peer_eval_transform({"type": "BaseSilCuttingTransform", "cutting": 0, "divsor": 1.0}, "gaitbase")
    assert cut["test_transforms"] == [{"name": "sil_cut", "cut": 0, "scale": 1.0}]
    gg2 = peer_eval_transform(GG2_TF, "gaitgraph2")
    assert gg2["test_transforms"] == [{"name": "pose_fill_empty"}] and gg2["inside_model"] == ["GaitGraphMultiInput"]
    config, record = run_config_for({"model_cfg": GAITGRAPH2, "evaluator_cfg": {"transform": GG2_TF}})
    assert config["data"]["modalities"] == ["pose"] and config["model"]["name"] == "gaitgraph2"
    assert record["num_classes"] is None


def test_inputs_with_their_own_transforms() -> None:
    from gaitforge.interop.peer_checkpoint import peer_streams

    class Split(torch.nn.Module):  # a model whose peer inputs come in another order (as GaitEdge's do)
        input_modalities = ("rgb", "sil", "ratio")

        @staticmethod
        def from_opengait_inputs(ipts):
            return {"ratio": ipts[0], "rgb": ipts[1], "sil": ipts[2]}

    class Stacked(torch.nn.Module):  # one peer stream split into two inputs (as SkeletonGait++'s)
        input_modalities = ("skeleton_map", "sil")

        @staticmethod
        def from_opengait_inputs(ipts):
            return {"skeleton_map": ipts[0][:1], "sil": ipts[0][1:]}

    assert peer_streams(Split(), 3) == [["ratio"], ["rgb"], ["sil"]]
    assert peer_streams(Stacked(), 1) == [["skeleton_map", "sil"]]
    rgb = [
        {"type": "NoOperation"},
        {"type": "BaseRgbTransform", "mean": [127.5, 127.5, 127.5], "std": [51.0, 51.0, 51.0]},
        {"type": "BaseSilTransform"},
    ]
    got = peer_eval_transform(rgb, "gaitedge", streams=peer_streams(Split(), 3))["test_transforms"]
    assert got == {
        "ratio": [],
        "rgb": [{"name": "rgb_normalize", "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}],
        "sil": [{"name": "sil_cut", "cut": 0}],
    }
    with pytest.raises(ValueError, match=r"transform\[1\]: this input's transform differs .* cannot be matched"):
        peer_eval_transform(rgb, "gaitedge", streams=None)
    parsing = peer_eval_transform([{"type": "BaseParsingCuttingTransform"}], "parsinggait")
    assert parsing["test_transforms"] == [{"name": "sil_cut", "scale": 1.0}]


def test_fastposegait_gaitheat_converts_and_gpgait_is_refused(tmp_path: Path) -> None:
    from gaitforge.engine.evaluate import load_trained_model

    heat_tf = [{"type": "Sequence_level"}, {"type": "RotationMat"}]
    ckpt, config = _files(tmp_path, GAITHEAT, transform=heat_tf)
    with pytest.raises(ValueError, match=r"model_cfg\.model: unsupported OpenGait model 'GaitHeat'.*FastPoseGait"):
        convert_peer_checkpoint(ckpt, config, tmp_path / "run", peer="opengait")
    outcome = convert_peer_checkpoint(ckpt, config, tmp_path / "run", peer="fastposegait")
    assert outcome.model == "gaitheat_released"
    assert outcome.record["input_transform"]["inside_model"] == ["Sequence_level", "RotationMat"]
    assert "rotation_mats" in outcome.record["input_transform"]["note"]
    model, cfg, _ = load_trained_model(tmp_path / "run")
    assert cfg.data.modalities == ["heatmap"] and cfg.data.test_transforms == []
    peer = yaml.safe_load(config.read_text())
    peer["model_cfg"] = {"model": "GPGait_PlusPlus", "in_channels": [2, 64], "num_class": 74}
    config.write_text(yaml.safe_dump(peer))
    with pytest.raises(ValueError, match=r"model_cfg\.model: GPGait_PlusPlus: not convertible"):
        convert_peer_checkpoint(ckpt, config, tmp_path / "run2", peer="fastposegait")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt, config = _files(tmp_path, GAITGRAPH2, transform=GG2_TF)
    out = tmp_path / "run"
    assert main(["-q", "convert", "opengait-checkpoint", str(ckpt), "--config", str(config), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "GaitGraph2" in printed and "gaitgraph2" in printed and "pose_fill_empty" in printed
    assert main(["-q", "convert", "opengait-checkpoint", str(ckpt), "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gaitforge convert: error:") and "already exists" in err and "\n" not in err
    bad = yaml.safe_load(config.read_text())
    bad["model_cfg"]["num_class"] = 16
    config.write_text(yaml.safe_dump(bad))
    code = main(
        ["-q", "convert", "fastposegait-checkpoint", str(ckpt), "--config", str(config), "--out", str(out) + "2"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "first mismatching key 'ResGCN.fcn.weight': checkpoint [8, 16] vs model [16, 16]" in err
    assert not (tmp_path / "run2").exists()


def test_a_converted_run_serves(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from gaitforge.service.app import create_app
    from gaitforge.service.routes import API_PREFIX

    ckpt, config = _files(tmp_path, BASELINE)
    convert_peer_checkpoint(ckpt, config, tmp_path / "run")
    with TestClient(create_app(tmp_path / "run", tmp_path / "gallery")) as client:
        info = client.get(f"{API_PREFIX}/info").json()
    assert info["model"]["name"] == "gaitbase" and info["model"]["checkpoint"] == "ckpt-0000007.pt"
    assert info["dim"] == 8 * 4  # embed_dim × parts


def test_fastposegait_gaitheat_fixture_config_has_the_released_layout(fixtures_dir: Path) -> None:
    from gaitforge.interop.peer_checkpoint import _model_spec

    meta = json.loads((fixtures_dir / "models" / "GaitHeat.json").read_text())
    model = _model_spec(meta["model_cfg"], "fastposegait").build()
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == [[k, s] for k, s, _ in meta["state_dict"]]
    assert sum(p.numel() for p in model.parameters()) == meta["param_count"]


def test_a_converted_run_evaluates_on_a_store(micro_world: Path, tmp_path: Path) -> None:
    ckpt, config = _files(tmp_path, BASELINE)
    convert_peer_checkpoint(ckpt, config, tmp_path / "run")
    out = tmp_path / "eval"
    assert main(["-q", "eval", str(tmp_path / "run"), "--store", str(micro_world), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"] == "casia-b" and results["counts"]["gallery"] > 0
