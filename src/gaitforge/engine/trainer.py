"""The training loop: one explicit function, read top to bottom.

CPU or one GPU with no launcher; AMP on CUDA; checkpoints (model, optimiser, scheduler, iteration, config,
RNG states) written atomically; ``resume=True`` continues exactly where the last checkpoint stopped: batches are
a pure function of (seed, iteration), so N straight iterations equal N/2 + resume + N/2.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from gaitforge.config import Config, config_to_dict, save_config
from gaitforge.engine.checkpoint import (
    capture_rng_state,
    checkpoint_name,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
)
from gaitforge.engine.data_setup import TrainData, build_train_data
from gaitforge.engine.device import resolve_device, seed_everything
from gaitforge.engine.logging import RunLogger
from gaitforge.engine.optim import build_optimizer, build_scheduler
from gaitforge.losses import build_losses
from gaitforge.models import create_model

__all__ = ["TrainResult", "build_model_for", "train"]

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a finished (or resumed-and-finished) run left behind."""

    run_dir: Path
    checkpoint: Path
    iterations: int
    last_stats: dict[str, float]
    seconds: float


def build_model_for(cfg: Config, num_classes: int) -> torch.nn.Module:
    """The configured model with its classifier sized to the training identities."""
    args = dict(cfg.model.args)
    args.setdefault("num_classes", num_classes)
    try:
        return create_model(cfg.model.name, **args)
    except TypeError as exc:
        raise ValueError(f"model.args: {exc}") from exc


def train(
    cfg: Config,
    run_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    data: TrainData | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train ``cfg`` into ``run_dir`` (config, checkpoints, metrics, TensorBoard scalars).

    Args:
        cfg: The resolved run configuration.
        run_dir: Output folder; created if missing.
        resume: Continue from the newest checkpoint in ``run_dir/checkpoints`` (error if there is none).
        progress: Show a progress bar.
        data: Pre-built training data (tests); built from ``cfg.data`` when None.
        stop_at: Stop after this iteration with a checkpoint, as a time-limited job would; ``resume`` continues it.
    """
    started = time.perf_counter()
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    seed_everything(cfg.train.seed)

    data = data or build_train_data(cfg, workdir=run_dir.parent, progress=progress)
    model = build_model_for(cfg, data.num_classes).to(device)
    losses = build_losses(cfg.losses)
    optimizer = build_optimizer(model, cfg.optimizer)
    total = cfg.train.iterations
    scheduler = build_scheduler(optimizer, cfg.scheduler, total)
    use_amp = cfg.train.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    start = 0
    if resume:
        last = latest_checkpoint(ckpt_dir)
        if last is None:
            raise FileNotFoundError(f"{ckpt_dir}: --resume given but no checkpoint (ckpt-*.pt) is there")
        state = load_checkpoint(last)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if "scaler" in state and use_amp:
            scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"])
        start = int(state["iteration"])
        logger.info("resumed from %s at iteration %d", last, start)

    def save(iteration: int) -> Path:
        path = save_checkpoint(
            ckpt_dir / checkpoint_name(iteration),
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if use_amp else {},
                "iteration": iteration,
                "config": config_to_dict(cfg),
                "num_classes": data.num_classes,
                "label_names": list(data.label_names),
                "rng": capture_rng_state(),
            },
        )
        prune_checkpoints(ckpt_dir, cfg.train.keep_checkpoints)
        return path

    run_log = RunLogger(run_dir, tensorboard=cfg.train.tensorboard)
    last_stats: dict[str, float] = {}
    checkpoint = latest_checkpoint(ckpt_dir) if start >= total else None
    model.train()
    bar = tqdm(total=total, initial=start, desc="train", unit="it", disable=not progress, dynamic_ncols=True)
    try:
        end = total if stop_at is None else min(total, stop_at)
        for iteration, batch in zip(range(start, end), data.batches(start), strict=False):
            batch = batch.to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                output = model(batch)
                loss, stats = losses(output, batch.labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            lr = optimizer.param_groups[0]["lr"]  # the rate this iteration used
            scheduler.step()

            done = iteration + 1
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at iteration {done}; lower optimizer.lr?")
            last_stats = {"loss": float(loss.detach()), "lr": lr, **stats}
            bar.update(1)
            if done % cfg.train.log_every == 0 or done == total:
                run_log.scalars(done, last_stats)
                bar.set_postfix(loss=f"{last_stats['loss']:.3f}")
            if done % cfg.train.save_every == 0 or done in (total, end):
                checkpoint = save(done)
    finally:
        bar.close()
        run_log.close()
    if checkpoint is None:
        raise RuntimeError(f"training produced no checkpoint in {ckpt_dir} (iterations={total}, start={start})")
    return TrainResult(
        run_dir=run_dir,
        checkpoint=checkpoint,
        iterations=end,
        last_stats=last_stats,
        seconds=time.perf_counter() - started,
    )
