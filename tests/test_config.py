"""Typed config: defaults, YAML loading, overrides, and errors that name the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaitforge.config import ConfigError, config_from_dict, load_config, save_config


def test_defaults_are_the_peer_recipe() -> None:
    cfg = config_from_dict({})
    assert cfg.optimizer.lr == 0.1 and cfg.optimizer.momentum == 0.9 and cfg.optimizer.weight_decay == 5e-4
    assert [loss["name"] for loss in cfg.losses] == ["triplet", "ce"]
    assert cfg.data.train_frames.num == 30


def test_unknown_key_names_its_path(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("train:\n  iteratons: 10\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown config key train\.iteratons"):
        load_config(f)
    with pytest.raises(ConfigError, match=r"unknown config key data\.train_frames\.nmu"):
        config_from_dict({"data": {"train_frames": {"nmu": 3}}})
    with pytest.raises(ConfigError, match=r"unknown config key bogus"):
        config_from_dict({"bogus": 1})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"train": {"iterations": "ten"}}, r"train\.iterations: expected an integer"),
        ({"train": {"amp": 1}}, r"train\.amp: expected true/false"),
        ({"optimizer": {"lr": "fast"}}, r"optimizer\.lr: expected a number"),
        ({"data": {"modalities": "sil"}}, r"data\.modalities: expected a list"),
        ({"data": "store"}, r"data: expected a mapping"),
        ({"scheduler": {"milestones": [1, "x"]}}, r"scheduler\.milestones\[1\]: expected an integer"),
    ],
)
def test_wrong_types_name_path_and_expectation(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_overrides_and_round_trip(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("name: x\ntrain:\n  iterations: 10\n")
    cfg = load_config(f, ["train.iterations=20", "model.args={channels: [8, 16, 32, 64]}", "optimizer.lr=0.05"])
    assert cfg.train.iterations == 20 and cfg.optimizer.lr == 0.05
    assert cfg.model.args == {"channels": [8, 16, 32, 64]}
    out = save_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(out) == cfg
    with pytest.raises(ConfigError, match="expected key.path=value"):
        load_config(f, ["train.iterations"])


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping at the top level"):
        load_config(f)


def test_yaml_is_never_executed(tmp_path: Path) -> None:
    f = tmp_path / "evil.yaml"
    f.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(Exception, match="could not determine a constructor|python/object"):
        load_config(f)


def test_every_shipped_config_loads_and_builds_its_pipeline() -> None:
    from gaitforge.data.transforms import build_transform
    from gaitforge.engine.data_setup import frame_sampler
    from gaitforge.engine.optim import lr_factor

    root = Path(__file__).resolve().parents[1] / "configs"
    files = sorted(root.rglob("*.yaml"))
    assert files, "configs/ has no YAML files"
    for f in files:
        cfg = load_config(f)
        for field_name in ("transforms", "test_transforms"):  # one list, or modality -> list
            spec = getattr(cfg.data, field_name)
            for key, steps in spec.items() if isinstance(spec, dict) else [("", spec)]:
                build_transform(steps, where=f"{f.name}: data.{field_name}{'.' + key if key else ''}")
        frame_sampler(cfg.data.train_frames)
        frame_sampler(cfg.data.test_frames)
        lr_factor(cfg.scheduler, 0, cfg.train.iterations)


def test_warm_start_param_groups_and_schedule_fields(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(
        "train:\n  init_from: runs/a/ckpt.pt\n  init_strict: false\n  init_skip: ['BNNecks.*']\n"
        "optimizer:\n  param_groups:\n    - {params: 'backbone.*', lr_scale: 0.1}\n"
        "    - {params: ['head.*', '*.bias'], lr: 0.5, weight_decay: 0}\n"
        "scheduler: {name: cosine, cosine_iterations: 600, update_every: 100}\n"
    )
    cfg = load_config(f)
    assert cfg.train.init_from == "runs/a/ckpt.pt" and not cfg.train.init_strict
    assert cfg.train.init_skip == ["BNNecks.*"]
    first, second = cfg.optimizer.param_groups
    assert first.params == "backbone.*" and first.lr_scale == 0.1 and first.lr is None
    assert second.params == ["head.*", "*.bias"] and second.lr == 0.5 and second.weight_decay == 0.0
    assert cfg.scheduler.cosine_iterations == 600 and cfg.scheduler.update_every == 100
    assert load_config(save_config(cfg, tmp_path / "resolved.yaml")) == cfg
    defaults = config_from_dict({})
    assert defaults.train.init_from == "" and defaults.train.init_strict and defaults.optimizer.param_groups == []
    with pytest.raises(ConfigError, match=r"optimizer\.param_groups\[0\]\.lrr"):
        config_from_dict({"optimizer": {"param_groups": [{"params": "a.*", "lrr": 1}]}})
    with pytest.raises(ConfigError, match=r"train\.init_skip: expected a list"):
        config_from_dict({"train": {"init_skip": "BNNecks.*"}})
