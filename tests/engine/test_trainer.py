"""The training loop: it learns, checkpoints, and resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gaitforge.engine.checkpoint import latest_checkpoint, load_checkpoint
from gaitforge.engine.trainer import _gather_loss_inputs, train
from gaitforge.losses import build_losses
from gaitforge.models.base import ModelOutput
from tests.conftest import micro_config
from tests.engine.common import recording_conv_dtypes


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


def test_loss_inputs_gathered_only_when_per_sample() -> None:
    """In one process the gathered batch is the batch; a loss input without one row per sample is refused."""
    losses = build_losses([{"name": "triplet", "margin": 0.2}, {"name": "ce", "input": "bnneck_logits"}])
    labels = torch.tensor([0, 0, 1, 1])
    output = ModelOutput(torch.randn(4, 8, 2), extras={"bnneck_logits": torch.randn(4, 3, 2), "other": torch.ones(1)})
    merged, merged_labels = _gather_loss_inputs(output, labels, losses)
    assert merged.embeddings is output.embeddings and merged.extras["bnneck_logits"] is output.extras["bnneck_logits"]
    assert merged_labels is labels
    bad = ModelOutput(torch.randn(4, 8, 2), extras={"bnneck_logits": torch.randn(1, 3, 2)})
    with pytest.raises(ValueError, match=r"train.global_loss: model output 'bnneck_logits' has shape \[1, 3, 2\]"):
        _gather_loss_inputs(bad, labels, losses)


def test_warm_start_loads_weights_before_training(micro_world: Path, tmp_path: Path) -> None:
    source = train(micro_config(micro_world, iterations=3), tmp_path / "source", progress=False)
    cfg = micro_config(micro_world, iterations=1, init_from=str(source.checkpoint))
    cfg.optimizer.lr = 0.0  # the one step changes no parameter: what we read back is what the warm start loaded
    cfg.scheduler.warmup_iterations = 0
    train(cfg, tmp_path / "warm", progress=False)
    a, b = _weights(tmp_path / "source"), _weights(tmp_path / "warm")
    params = [k for k in a if "running_" not in k and "num_batches" not in k]
    assert params
    for key in params:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=f"{key} not warm-started")
    cold = micro_config(micro_world, iterations=1)
    cold.optimizer.lr = 0.0
    train(cold, tmp_path / "cold", progress=False)
    c = _weights(tmp_path / "cold")
    assert any(not torch.equal(c[k], a[k]) for k in params)  # without init_from the weights differ


def test_warm_start_is_skipped_on_resume(micro_world: Path, tmp_path: Path) -> None:
    cfg = micro_config(micro_world, iterations=2, init_from=str(tmp_path / "missing.pt"))
    with pytest.raises(FileNotFoundError, match="init_from"):
        train(cfg, tmp_path / "run", progress=False)
    plain = micro_config(micro_world, iterations=2)
    train(plain, tmp_path / "run2", progress=False, stop_at=1)
    train(cfg, tmp_path / "run2", progress=False, resume=True)  # resume ignores init_from (not even opened)


def _conv_output_dtypes(monkeypatch: pytest.MonkeyPatch) -> list[torch.dtype]:
    """Builds the run's model with a hook that records the dtype every convolution computes in while training."""
    import gaitforge.engine.trainer as trainer_module

    seen: list[torch.dtype] = []
    monkeypatch.setattr(trainer_module, "build_model_for", recording_conv_dtypes(trainer_module.build_model_for, seen))
    return seen


def test_bfloat16_autocast_trains_on_cpu(micro_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _conv_output_dtypes(monkeypatch)
    cfg = micro_config(micro_world, iterations=4, amp_dtype="bfloat16")
    train(cfg, tmp_path / "bf16", progress=False)
    assert seen and set(seen) == {torch.bfloat16}  # every convolution of every step ran in bfloat16
    seen.clear()
    train(micro_config(micro_world, iterations=4), tmp_path / "fp32", progress=False)  # CPU default: float32
    assert seen and set(seen) == {torch.float32}

    state = load_checkpoint(latest_checkpoint(tmp_path / "bf16" / "checkpoints"))
    assert state["scaler"] == {} and state["config"]["train"]["amp_dtype"] == "bfloat16"
    low, full = state["model"], _weights(tmp_path / "fp32")
    assert all(v.dtype == full[k].dtype for k, v in low.items())  # weights and statistics stay float32
    params = [k for k in low if low[k].is_floating_point() and "running_" not in k]
    assert any(not torch.equal(low[k], full[k]) for k in params)  # autocast changed the arithmetic
    losses = [json.loads(x)["train/loss"] for x in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 4 and all(0 < x < 10 for x in losses)

    half = micro_config(micro_world, iterations=4, amp_dtype="bfloat16")
    train(half, tmp_path / "split", progress=False, stop_at=2)
    train(half, tmp_path / "split", progress=False, resume=True)
    split = _weights(tmp_path / "split")
    for key in low:  # resuming a bfloat16 run repeats the same arithmetic
        torch.testing.assert_close(split[key], low[key], rtol=0, atol=1e-6, msg=f"{key} differs after resume")


def test_float16_on_cpu_is_refused_before_any_work(micro_world: Path, tmp_path: Path) -> None:
    cfg = micro_config(micro_world, iterations=2, amp_dtype="float16")
    with pytest.raises(ValueError, match=r"train\.amp_dtype is 'float16' but the run is on cpu"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # nothing written: no run folder, no config.yaml
