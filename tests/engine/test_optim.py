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


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
        self.head = torch.nn.Linear(4, 3)


def _groups(*groups: dict, **opt) -> OptimizerConfig:
    from gaitforge.config import config_from_dict

    return config_from_dict({"optimizer": {**opt, "param_groups": list(groups)}}).optimizer


def test_param_groups_by_pattern() -> None:
    net = _Net()
    cfg = _groups(
        {"params": "backbone.*", "lr_scale": 0.1},
        {"params": ["head.bias", "backbone.0.weight"], "lr": 0.5, "weight_decay": 0.0},
        name="sgd",
        lr=0.2,
        weight_decay=1e-3,
    )
    opt = build_optimizer(net, cfg)
    first, second, rest = opt.param_groups
    assert [p.shape for p in first["params"]] == [p.shape for p in net.backbone.parameters()]  # first match wins
    assert first["lr"] == pytest.approx(0.02) and first["weight_decay"] == 1e-3
    assert second["params"] == [net.head.bias] and second["lr"] == 0.5 and second["weight_decay"] == 0.0
    assert rest["params"] == [net.head.weight] and rest["lr"] == 0.2 and rest["name"] == "default"
    # one schedule factor scales each group's own base rate
    sched = build_scheduler(opt, SchedulerConfig(name="multistep", milestones=[1]), total=3)
    opt.step()
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.002, 0.05, 0.02])


def test_param_groups_with_adamw_keep_the_default_split_for_the_rest() -> None:
    net = _Net()
    opt = build_optimizer(net, _groups({"params": "head.*", "weight_decay": 0.3}, name="adamw", lr=1e-3))
    head, decay, no_decay = opt.param_groups
    assert head["weight_decay"] == 0.3 and len(head["params"]) == 2  # the group decays its 1-D bias too
    assert decay["params"] == [net.backbone[0].weight] and no_decay["weight_decay"] == 0.0
    assert len(no_decay["params"]) == 3  # conv bias, BN weight and bias


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ({"params": "neck.*"}, r"optimizer\.param_groups\[0\]\.params: pattern 'neck\.\*' matches no trainable"),
        ({"params": ["head.*", "tail.*"]}, r"pattern 'tail\.\*' matches no"),
        ({"params": "head.*", "lr": 0.1, "lr_scale": 0.5}, r"param_groups\[0\]: give lr or lr_scale, not both"),
        ({"params": ""}, r"param_groups\[0\]\.params: expected a glob pattern"),
        ({"params": "head.*", "weight_decay": -1.0}, r"param_groups\[0\]\.weight_decay: expected a finite number >= 0"),
    ],
)
def test_param_group_errors(group: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_optimizer(_Net(), _groups(group))


def test_cosine_length_and_update_interval() -> None:
    cfg = SchedulerConfig(name="cosine", cosine_iterations=100, update_every=10, min_lr=0.1)
    assert lr_factor(cfg, 9, 1000) == 1.0  # held until the next update
    half = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))
    assert lr_factor(cfg, 50, 1000) == pytest.approx(half) and lr_factor(cfg, 59, 1000) == pytest.approx(half)
    assert lr_factor(cfg, 100, 1000) == pytest.approx(0.1) and lr_factor(cfg, 999, 1000) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"scheduler\.update_every: expected >= 1"):
        lr_factor(SchedulerConfig(update_every=0), 0, 10)


def test_shipped_param_groups_build_on_their_models() -> None:
    from pathlib import Path

    from gaitforge.config import load_config
    from gaitforge.engine.model_setup import build_model_for

    root = Path(__file__).resolve().parents[2] / "configs"
    grouped = [f for f in sorted(root.rglob("*.yaml")) if load_config(f).optimizer.param_groups]
    assert grouped, "no shipped config uses optimizer.param_groups"
    for f in grouped:
        cfg = load_config(f)
        model = build_model_for(cfg, 3)
        opt = build_optimizer(model, cfg.optimizer)
        trainable = [p for p in model.parameters() if p.requires_grad]  # GaitEdge's freeze_half keeps half frozen
        assert sum(len(g["params"]) for g in opt.param_groups) == len(trainable), f.name
