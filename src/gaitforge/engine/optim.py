"""Optimisers (with per-group settings by parameter-name patterns) and learning-rate schedules from typed config."""

from __future__ import annotations

import fnmatch
import logging
import math
from typing import Any

import torch
from torch import nn

from gaitforge.config import OptimizerConfig, ParamGroupConfig, SchedulerConfig

__all__ = ["build_optimizer", "build_scheduler", "lr_factor", "param_groups"]

logger = logging.getLogger(__name__)


def _patterns(group: ParamGroupConfig, where: str) -> list[str]:
    raw = [group.params] if isinstance(group.params, str) else list(group.params)
    patterns = [p for p in raw if isinstance(p, str) and p.strip()]
    if not patterns or len(patterns) != len(raw):
        raise ValueError(
            f"{where}.params: expected a glob pattern or a list of them (e.g. 'backbone.*'), got {group.params!r}"
        )
    return patterns


def param_groups(model: nn.Module, cfg: OptimizerConfig) -> list[dict[str, Any]]:
    """Trainable parameters split into optimiser groups by ``cfg.param_groups``.

    Each configured group claims the parameters whose names (``model.named_parameters()``) match one of its
    glob patterns and that no earlier group claimed; its ``lr`` (or ``lr_scale · cfg.lr``) and ``weight_decay``
    default to the optimiser's. The unclaimed parameters form the last group with the optimiser's settings; for
    AdamW they are split as without groups (no decay on 1-D parameters), while a configured group applies its
    weight decay to all of its parameters.

    Returns:
        ``torch.optim`` parameter-group dicts (``params``, ``lr``, ``weight_decay``, and ``name`` for logs).

    Raises:
        ValueError: A pattern matches no trainable parameter (the message lists a few names), both ``lr`` and
            ``lr_scale`` are set, or a value is negative.
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters; training-free models are evaluated with `gaitforge eval`")
    claimed: set[str] = set()
    groups: list[dict[str, Any]] = []
    for i, group in enumerate(cfg.param_groups):
        where = f"optimizer.param_groups[{i}]"
        patterns = _patterns(group, where)
        if group.lr is not None and group.lr_scale is not None:
            raise ValueError(f"{where}: give lr or lr_scale, not both (lr={group.lr}, lr_scale={group.lr_scale})")
        lr = group.lr if group.lr is not None else cfg.lr * (1.0 if group.lr_scale is None else group.lr_scale)
        wd = cfg.weight_decay if group.weight_decay is None else group.weight_decay
        if lr < 0 or wd < 0:
            raise ValueError(f"{where}: lr and weight_decay must be >= 0, got lr={lr}, weight_decay={wd}")
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(n, pattern) for n, _ in named):
                sample = ", ".join(n for n, _ in named[:6])
                raise ValueError(
                    f"{where}.params: pattern {pattern!r} matches no trainable parameter of "
                    f"{type(model).__name__} (names look like: {sample}, ...)"
                )
        members = [
            (n, p) for n, p in named if n not in claimed and any(fnmatch.fnmatchcase(n, pat) for pat in patterns)
        ]
        if not members:
            logger.warning("%s: every parameter matching %s is already claimed by an earlier group", where, patterns)
            continue
        claimed.update(n for n, _ in members)
        groups.append({"params": [p for _, p in members], "lr": lr, "weight_decay": wd, "name": where})
        logger.info("%s: %d tensors, lr %g, weight decay %g", where, len(members), lr, wd)
    rest = [(n, p) for n, p in named if n not in claimed]
    if rest:
        if cfg.name.lower() == "adamw":
            decay = [p for _, p in rest if p.ndim > 1]
            no_decay = [p for _, p in rest if p.ndim <= 1]
            for params, wd, tag in ((decay, cfg.weight_decay, "decay"), (no_decay, 0.0, "no_decay")):
                if params:
                    groups.append({"params": params, "lr": cfg.lr, "weight_decay": wd, "name": f"default_{tag}"})
        else:
            groups.append(
                {"params": [p for _, p in rest], "lr": cfg.lr, "weight_decay": cfg.weight_decay, "name": "default"}
            )
    return groups


def build_optimizer(model: nn.Module, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), Adam (L2 in the gradient) or AdamW over the trainable parameters, grouped by
    :func:`param_groups` (without groups: one group; AdamW: 1-D parameters are not decayed)."""
    name = cfg.name.lower()
    if name not in ("sgd", "adam", "adamw"):
        raise ValueError(f"optimizer.name: unknown optimizer {cfg.name!r}; expected 'sgd', 'adam' or 'adamw'")
    groups = param_groups(model, cfg)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    betas = (float(cfg.betas[0]), float(cfg.betas[1]))
    if name == "adam":  # L2 penalty in the gradient, as torch.optim.Adam (the peer's GaitGL recipe)
        return torch.optim.Adam(groups, lr=cfg.lr, betas=betas)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=betas)


def lr_factor(cfg: SchedulerConfig, iteration: int, total: int) -> float:
    """Multiplier of each group's base learning rate at ``iteration`` (0-based) of ``total``.

    ``update_every`` holds the rate between updates (it is evaluated at the last multiple of ``update_every``);
    the cosine runs over ``cosine_iterations`` after warm-up (0: until ``total``) and then stays at ``min_lr``.
    """
    if cfg.update_every < 1:
        raise ValueError(f"scheduler.update_every: expected >= 1, got {cfg.update_every}")
    if cfg.cosine_iterations < 0:
        raise ValueError(f"scheduler.cosine_iterations: expected >= 0, got {cfg.cosine_iterations}")
    if cfg.warmup_iterations > 0 and iteration < cfg.warmup_iterations:
        return (iteration + 1) / cfg.warmup_iterations
    iteration -= iteration % cfg.update_every
    name = cfg.name.lower()
    if name == "constant":
        return 1.0
    if name == "multistep":
        return cfg.gamma ** sum(iteration >= m for m in cfg.milestones)
    if name == "cosine":
        span = cfg.cosine_iterations or max(1, total - cfg.warmup_iterations)
        progress = min(1.0, max(0.0, (iteration - cfg.warmup_iterations) / span))
        floor = cfg.min_lr
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"scheduler.name: unknown schedule {cfg.name!r}; expected 'multistep', 'cosine' or 'constant'")


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: SchedulerConfig, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-iteration schedule (step it once per training iteration), one factor for every parameter group.
    ``min_lr`` is a fraction of each group's base rate."""
    lr_factor(cfg, 0, total)  # validates the settings before training starts
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: lr_factor(cfg, it, total))
