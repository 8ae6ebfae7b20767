"""Evaluation during training (``train.eval_every``) and the best checkpoint (``best.pt``, by ``train.best_metric``).

Every ``eval_every`` iterations and after the last one, the model is scored on the run's own test set through
:func:`gaitforge.engine.evaluate.evaluate_model` (the same path as ``gaitforge eval``); the figures go to
TensorBoard and ``metrics.jsonl`` under ``eval/`` and the files to ``RUN/eval/iter-<N>/``. When the selected score
beats every earlier one, the model is written to ``RUN/checkpoints/best.pt`` (a full checkpoint: ``gaitforge eval
RUN/checkpoints/best.pt`` and ``enroll --model`` accept it).

The evaluation draws no number from the training random generators (their states are saved and restored around
it), so a run with ``eval_every`` takes exactly the steps of one without, and a resumed run continues the best
score from its checkpoint (``"best"`` field).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gaitforge.config import Config
from gaitforge.engine.logging import RunLogger

__all__ = ["BEST_NAME", "BestTracker", "PeriodicEvaluator", "select_score"]

logger = logging.getLogger(__name__)

BEST_NAME = "best.pt"
#: Figure-name endings that are Rank-1 accuracies in the protocols' keys (``NM@R1``, ``NM-Rank@1``, ``Rank-1``).
_RANK1 = ("@R1", "Rank@1", "Rank-1")
_NOT_ACCURACY = ("mAP", "mINP")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def select_score(figures: Mapping[str, Any], metric: str) -> float:
    """The score ``best.pt`` maximises, from an evaluation's figures.

    Args:
        figures: ``EvaluationResult.figures`` (the peer's keys, percent).
        metric: ``"mean_rank1"``: the mean of every Rank-1 figure (keys ending in ``@R1``, ``Rank@1`` or
            ``Rank-1``; for protocols without such keys, e.g. CCPG's per-condition accuracies or a classification
            accuracy, the mean of every scalar figure other than mAP / mINP); else the exact figure key
            (``scalar/test_accuracy/NM@R1``).

    Raises:
        ValueError: The figure is missing or not a finite number (the message lists the available keys).
    """
    if metric == "mean_rank1":
        values = [v for k, x in figures.items() if k.endswith(_RANK1) and (v := _number(x)) is not None]
        if not values:
            values = [v for k, x in figures.items() if not k.endswith(_NOT_ACCURACY) and (v := _number(x)) is not None]
        if not values:
            raise ValueError(f"train.best_metric: mean_rank1: no numeric figure among {sorted(figures)}")
        return float(sum(values) / len(values))
    if metric not in figures:
        known = ", ".join(sorted(figures))
        raise ValueError(f"train.best_metric: no figure {metric!r}; available: mean_rank1, {known}")
    value = _number(figures[metric])
    if value is None:
        raise ValueError(f"train.best_metric: figure {metric!r} is {figures[metric]!r}, not a finite number")
    return value


@dataclass
class BestTracker:
    """The best score so far (stored in every checkpoint as ``"best"``, so a resume continues it)."""

    metric: str
    value: float | None = None
    iteration: int | None = None

    def improves(self, score: float) -> bool:
        """Whether ``score`` beats the best so far (ties keep the earlier checkpoint)."""
        return self.value is None or score > self.value

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "value": self.value, "iteration": self.iteration}

    @classmethod
    def from_state(cls, state: Any, metric: str) -> BestTracker:
        """From a checkpoint's ``"best"`` field; a fresh tracker when absent or for another metric."""
        if isinstance(state, Mapping) and state.get("metric") == metric and state.get("value") is not None:
            return cls(metric, float(state["value"]), int(state["iteration"]))
        return cls(metric)


class PeriodicEvaluator:
    """Scores the model on the run's test set when due; tells the trainer when to write ``best.pt``.

    Args:
        cfg: The run's config (``train.eval_every``, ``train.best_metric``, the data and eval sections).
        run_dir: The run folder (``eval/iter-<N>/`` is written there by rank 0).
        workdir: Where an unset ``data.store`` (the synthetic world) lives, as for training.
        best: The tracker, restored from the checkpoint on resume.
    """

    def __init__(self, cfg: Config, run_dir: Path, workdir: Path, best: BestTracker | None = None) -> None:
        self.cfg = cfg
        self.every = int(cfg.train.eval_every)
        self.run_dir = Path(run_dir)
        self.workdir = Path(workdir)
        self.best = best or BestTracker(cfg.train.best_metric)
        self._data: tuple[Any, Any] | None = None

    def due(self, iteration: int, total: int) -> bool:
        """Whether to evaluate after ``iteration`` (a multiple of ``eval_every``, or the last one)."""
        return self.every > 0 and (iteration % self.every == 0 or iteration == total)

    def __call__(self, model: torch.nn.Module, iteration: int, device: torch.device, run_log: RunLogger) -> bool:
        """Evaluate (every rank calls it under DDP) and return whether this is a new best.

        The figures and the selected score go to ``run_log`` under ``eval/`` (rank 0's logger writes them).
        """
        from gaitforge.engine.checkpoint import capture_rng_state, restore_rng_state
        from gaitforge.engine.data_setup import open_store
        from gaitforge.engine.distributed import main_first
        from gaitforge.engine.evaluate import evaluate_model

        rng = capture_rng_state()
        try:
            if self._data is None:
                self._data = main_first(lambda: open_store(self.cfg, workdir=self.workdir, progress=False))
            store, partition = self._data
            out = self.run_dir / "eval" / f"iter-{iteration:07d}"
            result = evaluate_model(model, self.cfg, store, partition, out_dir=out, device=device, progress=False)
        finally:
            restore_rng_state(rng)
        score = select_score(result.figures, self.best.metric)
        values = {k.removeprefix("scalar/"): v for k, x in result.figures.items() if (v := _number(x)) is not None}
        run_log.scalars(iteration, {**values, self.best.metric: score}, prefix="eval")
        improved = self.best.improves(score)
        if improved:
            self.best.value, self.best.iteration = score, iteration
        logger.info(
            "evaluation at iteration %d: %s %.2f (best %.2f at %d)",
            iteration,
            self.best.metric,
            score,
            self.best.value,
            self.best.iteration,
        )
        return improved
