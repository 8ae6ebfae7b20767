"""The training loop: one explicit function, read top to bottom.

CPU or one GPU with no launcher; many processes under ``torchrun`` (PyTorch DDP, see docs/distributed.md); mixed
precision (float16 on CUDA, bfloat16 on CUDA or CPU: :mod:`~gaitforge.engine.precision`); checkpoints (model,
optimiser, scheduler, iteration, config, RNG states) written atomically by rank 0;
``resume=True`` continues exactly where the last checkpoint stopped: batches are a pure function of
(seed, iteration), so N straight iterations equal N/2 + resume + N/2.

Under DDP the P×K batch of the config is the *global* batch: each of W ranks takes ``p*k/W`` of it, BatchNorm is
synchronised (``train.sync_bn``) and the losses see the gathered outputs of all ranks (``train.global_loss``), so W
processes take the same steps as one process would on the whole batch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from gaitforge.config import Config, check_values, config_to_dict, save_config
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
from gaitforge.engine.device import seed_everything
from gaitforge.engine.distributed import (
    DistContext,
    all_gather_keep_grad,
    broadcast_object,
    distributed,
    main_first,
    main_only,
)
from gaitforge.engine.logging import RunLogger
from gaitforge.engine.model_setup import build_model_for
from gaitforge.engine.optim import build_optimizer, build_scheduler
from gaitforge.engine.periodic_eval import BEST_NAME, BestTracker, PeriodicEvaluator
from gaitforge.engine.precision import resolve_precision
from gaitforge.engine.sync_batchnorm import convert_sync_batchnorm
from gaitforge.engine.warm_start import apply_warm_start
from gaitforge.losses import LossCollection, build_losses
from gaitforge.models.base import ModelOutput

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


def train(
    cfg: Config,
    run_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    data: TrainData | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train ``cfg`` into ``run_dir`` (config, checkpoints, metrics, TensorBoard scalars).

    Started by ``torchrun`` it trains data-parallel (process group from the environment, see
    :func:`~gaitforge.engine.distributed.distributed`); rank 0 alone writes files, logs and shows progress, and every
    rank returns the same result. Without torchrun's environment it is one plain process.

    Args:
        cfg: The resolved run configuration.
        run_dir: Output folder; created if missing.
        resume: Continue from the newest checkpoint in ``run_dir/checkpoints`` (error if there is none).
        progress: Show a progress bar.
        data: Pre-built training data (tests); built from ``cfg.data`` when None.
        stop_at: Stop after this iteration with a checkpoint, as a time-limited job would; ``resume`` continues it.
    """
    t = cfg.train
    with distributed(t.dist_backend, t.device, t.dist_timeout_s) as ctx:
        return _train(cfg, Path(run_dir), resume, progress and ctx.is_main, data, stop_at, ctx)


def _train(
    cfg: Config,
    run_dir: Path,
    resume: bool,
    progress: bool,
    data: TrainData | None,
    stop_at: int | None,
    ctx: DistContext,
) -> TrainResult:
    started = time.perf_counter()
    check_values(cfg)  # configs built in Python skip load_config's checks: refuse bad numbers before any work
    d = cfg.data
    if ctx.world_size > 1 and (d.p * d.k) % ctx.world_size:
        raise ValueError(
            f"data.p × data.k: the global batch {d.p}×{d.k} = {d.p * d.k} does not split among {ctx.world_size} "
            "processes; make p×k a multiple of the number of processes (every rank takes p×k / processes)"
        )
    gather = ctx.enabled and cfg.train.global_loss
    if ctx.enabled and not gather and d.p % ctx.world_size:
        raise ValueError(
            f"data.p: {d.p} subjects per batch do not divide among {ctx.world_size} processes; with "
            "train.global_loss false every rank needs whole subjects for its triplets"
        )
    precision = resolve_precision(cfg.train.amp, cfg.train.amp_dtype, ctx.device)  # fails before anything is written
    ckpt_dir = run_dir / "checkpoints"
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    device = ctx.device
    seed_everything(cfg.train.seed)

    # rank 0 first: it may generate the synthetic world that the other ranks then reuse
    data = data or main_first(lambda: build_train_data(cfg, workdir=run_dir.parent, progress=progress))
    model = build_model_for(cfg, data.num_classes)
    if not resume:  # a resume restores everything from the run's own checkpoint instead
        apply_warm_start(model, cfg.train)
    if ctx.is_main:  # only now: a bad data setup, model or init_from checkpoint leaves no run folder behind
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run_dir / "config.yaml")
    if ctx.enabled and cfg.train.sync_bn:
        model = convert_sync_batchnorm(model, device)
    model = model.to(device)
    losses = build_losses(cfg.losses)
    optimizer = build_optimizer(model, cfg.optimizer)
    total = cfg.train.iterations
    scheduler = build_scheduler(optimizer, cfg.scheduler, total)
    scaler = precision.grad_scaler()

    start = 0
    evaluator = PeriodicEvaluator(cfg, run_dir, workdir=run_dir.parent)  # train.eval_every; best.pt
    if resume:
        last = broadcast_object(latest_checkpoint(ckpt_dir) if ctx.is_main else None)  # every rank: rank 0's choice
        if last is None:
            raise FileNotFoundError(f"{ckpt_dir}: --resume given but no checkpoint (ckpt-*.pt) is there")
        state = load_checkpoint(last)  # under DDP every rank reads it (the run folder must be shared across nodes)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler") and precision.scaler:
            scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"])
        evaluator.best = BestTracker.from_state(state.get("best"), cfg.train.best_metric)
        start = int(state["iteration"])
        logger.info("resumed from %s at iteration %d", last, start)
    net: torch.nn.Module = model
    if ctx.enabled:  # DDP averages the gradients over ranks during backward
        net = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=cfg.train.find_unused_parameters,
        )
        logger.info("DDP: %d processes, %s, global batch %d", ctx.world_size, ctx.backend, cfg.data.p * cfg.data.k)
    logger.info("precision: %s on %s", precision.describe(), device)

    def write_checkpoint(iteration: int, name: str | None = None) -> Path:
        path = save_checkpoint(
            ckpt_dir / (name or checkpoint_name(iteration)),
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if precision.scaler else {},
                "iteration": iteration,
                "config": config_to_dict(cfg),
                "num_classes": data.num_classes,
                "label_names": list(data.label_names),
                "rng": capture_rng_state(),
                "best": evaluator.best.to_dict(),
            },
        )
        prune_checkpoints(ckpt_dir, cfg.train.keep_checkpoints)
        return path

    def save(iteration: int) -> Path:  # rank 0 writes; the others wait for it and get its path
        return main_only(lambda: write_checkpoint(iteration))

    def save_best(iteration: int) -> Path:  # a new best evaluation score: keep these weights as best.pt
        return main_only(lambda: write_checkpoint(iteration, BEST_NAME))

    run_log = RunLogger(run_dir, tensorboard=cfg.train.tensorboard, enabled=ctx.is_main)
    last_stats: dict[str, float] = {}
    checkpoint = broadcast_object(latest_checkpoint(ckpt_dir) if ctx.is_main else None) if start >= total else None
    net.train()
    bar = tqdm(total=total, initial=start, desc="train", unit="it", disable=not progress, dynamic_ncols=True)
    try:
        end = total if stop_at is None else min(total, stop_at)
        batches = data.batches(start, rank=ctx.rank, world_size=ctx.world_size)
        for iteration, batch in zip(range(start, end), batches, strict=False):
            batch = batch.to(device, non_blocking=True)
            with precision.autocast():
                output = net(batch)  # this rank's share of the global batch
                labels = batch.labels
                if gather:  # the losses see the whole global batch, as in one process
                    output, labels = _gather_loss_inputs(output, labels, losses)
                loss, stats = losses(output, labels)
            optimizer.zero_grad(set_to_none=True)
            # gathered: this rank's slice gets W·∂L/∂out, and DDP's average over W ranks is the one-process gradient
            scaler.scale(loss * ctx.world_size if gather else loss).backward()
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
            if evaluator.due(done, total) and evaluator(model, done, device, run_log):
                save_best(done)
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


def _gather_loss_inputs(
    output: ModelOutput, labels: torch.Tensor, losses: LossCollection
) -> tuple[ModelOutput, torch.Tensor]:
    """The fields the losses read, and the labels, of every rank concatenated in rank order (the global batch).

    Gradients flow into this rank's slice only (:func:`~gaitforge.engine.distributed.all_gather_keep_grad`).
    """
    b = int(labels.shape[0])
    gathered: dict[str, torch.Tensor] = {}
    for term in losses.terms:
        name = term.input or getattr(term.loss, "default_input", "embeddings")
        try:
            tensor = output.get(name)
        except KeyError:
            continue  # the loss collection reports the missing field
        if tensor.dim() == 0 or tensor.shape[0] != b:
            raise ValueError(
                f"train.global_loss: model output {name!r} has shape {list(tensor.shape)}; expected one row per "
                f"sample ([{b}, ...]) to gather it over ranks; set train.global_loss false for this model"
            )
        if name not in gathered:
            gathered[name] = all_gather_keep_grad(tensor)
    extras = {**output.extras, **{k: v for k, v in gathered.items() if k not in ("embeddings", "logits")}}
    merged = ModelOutput(
        embeddings=gathered.get("embeddings", output.embeddings),
        logits=gathered.get("logits", output.logits),
        extras=extras,
    )
    return merged, all_gather_keep_grad(labels)
