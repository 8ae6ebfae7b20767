"""The training loop: it learns, checkpoints, and resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gaitforge.engine.checkpoint import latest_checkpoint, load_checkpoint
from gaitforge.engine.trainer import train
from tests.conftest import micro_config


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(latest_checkpoint(run / "checkpoints"))["model"]


def test_resume_equals_straight_run(micro_world: Path, tmp_path: Path) -> None:
    cfg = micro_config(micro_world, iterations=4)
    straight = train(cfg, tmp_path / "straight", progress=False)
    assert straight.iterations == 4

    half = train(cfg, tmp_path / "split", progress=False, stop_at=2)
    assert half.iterations == 2 and half.checkpoint.name == "ckpt-0000002.pt"
    resumed = train(cfg, tmp_path / "split", progress=False, resume=True)
    assert resumed.iterations == 4

    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=f"{key} differs after resume")
    state = load_checkpoint(latest_checkpoint(tmp_path / "split" / "checkpoints"))
    assert state["iteration"] == 4 and state["scheduler"]["last_epoch"] == 4
    assert {"model", "optimizer", "scheduler", "iteration", "config", "rng"} <= set(state)


def test_run_folder_contents(micro_world: Path, tmp_path: Path) -> None:
    cfg = micro_config(micro_world, iterations=3, tensorboard=True)
    result = train(cfg, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert (run / "config.yaml").is_file()
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]
    assert all(x["train/loss"] > 0 for x in lines)
    assert any((run / "tensorboard").iterdir())
    assert result.last_stats["lr"] == pytest.approx(0.05)


def test_resume_without_checkpoint_is_an_error(micro_world: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(micro_config(micro_world), tmp_path / "empty", progress=False, resume=True)


def test_training_reduces_the_loss(micro_world: Path, tmp_path: Path) -> None:
    cfg = micro_config(micro_world, iterations=30, log_every=1)
    cfg.scheduler.milestones = []
    train(cfg, tmp_path / "learn", progress=False)
    losses = [json.loads(x)["train/loss"] for x in (tmp_path / "learn" / "metrics.jsonl").read_text().splitlines()]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
