"""Checkpoints that survive a kill: model, optimiser, scheduler, iteration, config and RNG states, written atomically.

Loading uses ``torch.load(..., weights_only=True)``: a checkpoint is data, never code. RNG states are stored as
tensors and plain lists so the safe loader accepts them.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gaitforge.utils.atomic import atomic_path

__all__ = [
    "capture_rng_state",
    "checkpoint_name",
    "latest_checkpoint",
    "load_checkpoint",
    "prune_checkpoints",
    "restore_rng_state",
    "save_checkpoint",
]

logger = logging.getLogger(__name__)
_NAME = re.compile(r"^ckpt-(\d+)\.pt$")
FORMAT_VERSION = 1


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and CUDA) generator states as safe-loadable values."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": _py_state_to_list(random.getstate()),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    random.setstate(_py_state_from_list(state["python"]))
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _py_state_to_list(st: tuple) -> list:
    version, internal, gauss = st
    return [version, list(internal), gauss]


def _py_state_from_list(st: list) -> tuple:
    version, internal, gauss = st
    return (version, tuple(internal), gauss)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) to ``path`` atomically."""
    payload = {"format_version": FORMAT_VERSION, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a gaitforge checkpoint safely; errors name the file and what is wrong."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: checkpoint not found")
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # the safe unpickler's refusal or a truncated file
        raise ValueError(f"{p}: not a loadable gaitforge checkpoint (weights-only load failed: {exc})") from exc
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{p}: expected a dict with a 'model' state_dict, got {type(state).__name__}")
    version = state.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{p}: field 'format_version' is {version!r}, expected {FORMAT_VERSION}")
    return state


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint with the highest iteration in ``folder`` (``ckpt-<iteration>.pt``), or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), f) for f in folder.iterdir() if (m := _NAME.match(f.name))]
    return max(found)[1] if found else None


def checkpoint_name(iteration: int) -> str:
    return f"ckpt-{iteration:07d}.pt"


def prune_checkpoints(folder: str | Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints (``keep <= 0`` keeps all)."""
    if keep <= 0:
        return
    found = sorted((int(m.group(1)), f) for f in Path(folder).iterdir() if (m := _NAME.match(f.name)))
    for _, f in found[:-keep]:
        f.unlink(missing_ok=True)
        logger.debug("removed old checkpoint %s", f)
