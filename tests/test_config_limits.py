"""Configs from strangers and clumsy configs: refused at load with one line naming file, line or key, and
before any run folder exists (alias bombs, size, duplicate keys, tags, syntax, bad numbers, bad init_from)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from gaitforge.cli import main
from gaitforge.config import ConfigError, config_to_dict, load_config
from tests.conftest import micro_config
from tests.utils.test_safe_yaml import billion_laughs


def _train(cfg: Path, run: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """Run ``gaitforge train``; assert it failed with one line and left no run folder; return that line."""
    assert main(["-q", "train", str(cfg), "--run-dir", str(run), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gaitforge train: error: ") and "\n" not in err and "Traceback" not in err
    assert not run.exists()
    return err


def _bomb_config(tmp_path: Path) -> Path:
    path = tmp_path / "bomb.yaml"
    text = "model:\n  name: gaitbase\n  args:\n" + billion_laughs("    ")
    path.write_text(text + "#" * (432 - len(text)) + "\n")  # 433 bytes, the size the issue measured
    return path


def test_alias_bomb_refused_at_load_in_well_under_a_second(tmp_path: Path) -> None:
    path = _bomb_config(tmp_path)
    assert path.stat().st_size == 433
    started = time.perf_counter()
    with pytest.raises(ValueError, match="aliases are expanded") as info:
        load_config(path)
    assert time.perf_counter() - started < 5  # generous: the measured figure is milliseconds
    assert str(path) in str(info.value)


def test_alias_bomb_in_train_and_convert_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _bomb_config(tmp_path)
    assert str(path) in _train(path, tmp_path / "run", capsys)
    out = tmp_path / "converted.yaml"
    assert main(["convert", "opengait-config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "aliases" in err and "\n" not in err and not out.exists()


def test_oversized_config_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("name: run\n" + "# padding\n" * 110_000)
    with pytest.raises(ValueError, match=r"huge\.yaml: \d+ bytes, more than the 1000000"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\ntrain:\n  iterations: 5\n  iterations: 6\n", ":4: duplicate key 'iterations' (lines 3 and 4)"),
        ("name: !!python/object/apply:os.system ['true']\n", ":1: could not determine a constructor"),
        ("name: a\ntrain: [1, 2\n", ":3: "),
        ("name: a\ntrain:\n  iterations: 5\n seed: 1\n", ":4: "),
    ],
)
def test_bad_yaml_in_train_is_one_line_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert f"{path}{expected}" in _train(path, tmp_path / "run", capsys)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("train.iterations=0", "train.iterations"),
        ("train.iterations=-3", "train.iterations"),
        ("optimizer.lr=.nan", "optimizer.lr"),
        ("optimizer.lr=-0.1", "optimizer.lr"),
        ("optimizer.lr=.inf", "optimizer.lr"),
        ("optimizer.weight_decay=-1", "optimizer.weight_decay"),
        ("optimizer.betas=[0.9, 1.5]", "optimizer.betas[1]"),
        ("scheduler.gamma=0", "scheduler.gamma"),
        ("data.p=0", "data.p"),
        ("data.train_frames.num=0", "data.train_frames.num"),
        ("train.save_every=0", "train.save_every"),
        ("eval.batch_size=-1", "eval.batch_size"),
    ],
)
def test_bad_numbers_refused_naming_the_key_before_any_run_folder(
    micro_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, key: str
) -> None:
    cfg = tmp_path / "micro.yaml"
    cfg.write_text(yaml.safe_dump(config_to_dict(micro_config(micro_world))))
    err = _train(cfg, tmp_path / "run", capsys, "--set", override)
    assert f"{key}: expected" in err and str(cfg) in err
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_config(cfg, [override])


@pytest.mark.parametrize("kind", ["missing", "garbage"])
def test_bad_init_from_leaves_no_run_folder(
    micro_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    ckpt = tmp_path / "warm.pt"
    if kind == "garbage":
        ckpt.write_bytes(b"not a checkpoint at all" * 10)
    cfg = tmp_path / "micro.yaml"
    cfg.write_text(yaml.safe_dump(config_to_dict(micro_config(micro_world, init_from=str(ckpt)))))
    assert "warm.pt" in _train(cfg, tmp_path / "run", capsys)
