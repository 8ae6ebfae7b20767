"""Reading gaitforge and OpenGait ``.pt`` checkpoints safely: ``torch.load(..., weights_only=True)``, so a file can
hold tensors and plain containers only, and the model state dict found wherever the peer or gaitforge put it.

Also importable from :mod:`gaitforge.interop.opengait`.
"""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointContents", "load_checkpoint", "read_checkpoint"]

logger = logging.getLogger("gaitforge.interop.opengait")  # the name its messages have always had


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


@dataclass(frozen=True)
class CheckpointContents:
    """What :func:`read_checkpoint` found in a ``.pt`` file.

    Attributes:
        state: The model state dict (a ``module.`` prefix on every key removed).
        format: ``"gaitforge"`` (a dict with ``format_version``), ``"opengait"`` (the peer's dict with
            ``model`` / ``optimizer`` / ``scheduler`` / ``iteration``) or ``"state_dict"`` (a bare state dict).
        iteration: The stored iteration, when there is one.
    """

    state: OrderedDict[str, torch.Tensor]
    format: str
    iteration: int | None


def read_checkpoint(path: str | PathLike[str]) -> CheckpointContents:
    """Read a gaitforge or OpenGait ``.pt`` checkpoint safely (``weights_only=True``); see :func:`load_checkpoint`.

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file holds anything but tensors and plain containers (refused, never unpickled), or
            is not a state dict / a dict with a ``model`` state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{path}: refused to load: the checkpoint contains objects other than tensors and plain "
            f"containers, which are never unpickled (weights_only=True). Details: {exc}"
        ) from exc
    except (RuntimeError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable PyTorch checkpoint: {exc}") from exc
    state = obj.get("model") if isinstance(obj, Mapping) and "model" in obj else obj
    if not _is_state_dict(state):
        found = f"dict with keys {sorted(map(str, obj))[:10]}" if isinstance(obj, Mapping) else type(obj).__name__
        where = "field 'model'" if state is not obj else "top level"
        raise ValueError(
            f"{path}: expected a state dict (str → Tensor) or a dict whose 'model' field is one; "
            f"the {where} is not (found {found})"
        )
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    if state is obj:
        kind, iteration = "state_dict", None
    else:
        kind = "gaitforge" if "format_version" in obj else "opengait"
        raw = obj.get("iteration")
        iteration = int(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
    logger.info("loaded %d tensors from %s (%s checkpoint)", len(state), path, kind)
    return CheckpointContents(OrderedDict(state), kind, iteration)


def load_checkpoint(path: str | PathLike[str]) -> OrderedDict[str, torch.Tensor]:
    """Read an OpenGait ``.pt`` checkpoint safely (``weights_only=True``) and return its model state dict.

    Accepts a plain state dict or the peer's
    ``{"model": ..., "optimizer": ..., "scheduler": ..., "iteration": ...}`` (a gaitforge checkpoint too).
    A ``module.`` prefix on every key (a DDP-wrapped save) is removed.

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file holds anything but tensors and plain containers (refused, never unpickled), or
            is not a state dict / a dict with a ``model`` state dict.
    """
    return read_checkpoint(path).state
