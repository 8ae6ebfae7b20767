"""Optimisers and learning-rate schedules from typed config."""

from __future__ import annotations

import math

import torch
from torch import nn

from gaitforge.config import OptimizerConfig, SchedulerConfig

__all__ = ["build_optimizer", "build_scheduler", "lr_factor"]


def build_optimizer(model: nn.Module, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov) or AdamW over the trainable parameters; BN/bias weights are not decayed for AdamW."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters; training-free models are evaluated with `gaitforge eval`")
    name = cfg.name.lower()
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.nesterov
        )
    if name == "adam":  # L2 penalty in the gradient, as torch.optim.Adam (the peer's GaitGL recipe)
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)  # type: ignore[arg-type]
    if name == "adamw":
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas))  # type: ignore[arg-type]
    raise ValueError(f"optimizer.name: unknown optimizer {cfg.name!r}; expected 'sgd', 'adam' or 'adamw'")


def lr_factor(cfg: SchedulerConfig, iteration: int, total: int) -> float:
    """Multiplier of the base learning rate at ``iteration`` (0-based) of ``total``."""
    if cfg.warmup_iterations > 0 and iteration < cfg.warmup_iterations:
        return (iteration + 1) / cfg.warmup_iterations
    name = cfg.name.lower()
    if name == "constant":
        return 1.0
    if name == "multistep":
        return cfg.gamma ** sum(iteration >= m for m in cfg.milestones)
    if name == "cosine":
        span = max(1, total - cfg.warmup_iterations)
        progress = min(1.0, (iteration - cfg.warmup_iterations) / span)
        floor = cfg.min_lr
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"scheduler.name: unknown schedule {cfg.name!r}; expected 'multistep', 'cosine' or 'constant'")


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: SchedulerConfig, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-iteration schedule (step it once per training iteration). ``min_lr`` is a fraction of the base rate."""
    lr_factor(cfg, 0, total)  # validates the name before training starts
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: lr_factor(cfg, it, total))
