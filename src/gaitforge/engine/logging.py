"""Run logging: scalars to TensorBoard (when available) and to ``metrics.jsonl``, one JSON object per log step."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

__all__ = ["RunLogger"]

logger = logging.getLogger(__name__)


class RunLogger:
    """Writes scalars for one run; safe to use without TensorBoard installed.

    Args:
        run_dir: The run folder (``metrics.jsonl`` and ``tensorboard/`` go there).
        tensorboard: Also write TensorBoard event files.
        enabled: ``False`` makes every call a no-op and touches no file (ranks other than 0 under DDP).
    """

    def __init__(self, run_dir: Path, tensorboard: bool = True, enabled: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self._jsonl = None
        self._tb = None
        if not enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = (self.run_dir / "metrics.jsonl").open("a", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # pragma: no cover - tensorboard is a dependency, but stay usable without it
                logger.warning("tensorboard is not installed; scalars go to metrics.jsonl only")
            else:
                self._tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        if self._jsonl is None:
            return
        record: dict[str, Any] = {"step": step}
        for key, value in values.items():
            value = float(value)
            record[f"{prefix}/{key}"] = value if math.isfinite(value) else str(value)
            if self._tb is not None:
                self._tb.add_scalar(f"{prefix}/{key}", value, step)
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        if self._tb is not None:
            self._tb.close()
