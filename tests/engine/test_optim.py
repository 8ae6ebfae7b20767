"""Learning-rate schedules and optimiser construction."""

from __future__ import annotations

import math

import pytest
import torch

from gaitforge.config import OptimizerConfig, SchedulerConfig
from gaitforge.engine.optim import build_optimizer, build_scheduler, lr_factor


def test_multistep_and_warmup() -> None:
    cfg = SchedulerConfig(name="multistep", milestones=[10, 20], gamma=0.1, warmup_iterations=4)
    assert [lr_factor(cfg, i, 30) for i in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(cfg, 9, 30) == 1.0
    assert lr_factor(cfg, 10, 30) == pytest.approx(0.1)
    assert lr_factor(cfg, 25, 30) == pytest.approx(0.01)


def test_cosine_ends_at_floor() -> None:
    cfg = SchedulerConfig(name="cosine", min_lr=0.05)
    assert lr_factor(cfg, 0, 100) == 1.0
    assert lr_factor(cfg, 50, 100) == pytest.approx(0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(cfg, 100, 100) == pytest.approx(0.05)


def test_scheduler_steps_optimizer() -> None:
    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(model, OptimizerConfig(name="sgd", lr=1.0))
    sched = build_scheduler(opt, SchedulerConfig(name="multistep", milestones=[2]), total=5)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1])


def test_errors() -> None:
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="optimizer.name: unknown optimizer 'rmsprop'"):
        build_optimizer(model, OptimizerConfig(name="rmsprop"))
    with pytest.raises(ValueError, match="scheduler.name: unknown schedule 'poly'"):
        build_scheduler(build_optimizer(model, OptimizerConfig()), SchedulerConfig(name="poly"), 10)
    frozen = torch.nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(frozen, OptimizerConfig())
    adamw = build_optimizer(model, OptimizerConfig(name="adamw", lr=1e-3))
    assert [g["weight_decay"] for g in adamw.param_groups] == [5e-4, 0.0]
