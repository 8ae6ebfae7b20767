"""Data-parallel runs under ``torchrun``: environment, process group, device, and the few collectives the engine uses.

gaitforge has no launcher of its own. ``torchrun`` (``python -m torch.distributed.run``) starts one process per device
and sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`distributed` reads them and joins the process group (gloo on CPU, NCCL on CUDA) once per process; it is
left at interpreter exit. Without
those variables the same code runs as one plain process: no group is created and every helper here is a no-op
(``barrier``) or the identity (``gather_arrays`` returns ``[array]``).

The collectives: :func:`all_gather_keep_grad` (model outputs gathered for a loss over the whole batch),
:func:`gather_arrays` (variable-length arrays, e.g. embeddings, padded for one ``all_gather``),
:func:`gather_objects`, :func:`broadcast_object`, :func:`main_first` / :func:`main_only` (rank 0 does a job, failures
reach every rank). Synchronised BatchNorm for every backend is in :mod:`gaitforge.engine.sync_batchnorm`.
Data parallelism itself: Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel Training"
(VLDB 2020).
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist

from gaitforge.engine.device import resolve_device

__all__ = [
    "BACKENDS",
    "DistContext",
    "DistEnv",
    "all_gather_keep_grad",
    "barrier",
    "broadcast_object",
    "distributed",
    "gather_arrays",
    "gather_objects",
    "get_rank",
    "get_world_size",
    "is_distributed",
    "is_main",
    "local_device",
    "main_first",
    "main_only",
    "read_env",
    "resolve_backend",
    "shutdown",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
BACKENDS = ("auto", "gloo", "nccl", "mpi")
_REQUIRED = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
_STATE = {"owned": False}  # whether this module created the default process group


@dataclass(frozen=True)
class DistEnv:
    """What ``torchrun`` told this process (see ``torch.distributed.run``)."""

    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    master_addr: str
    master_port: int


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run.

    Attributes:
        rank, local_rank, world_size: As torchrun set them (0, 0, 1 in a plain process).
        device: The device this process computes on (``cuda:LOCAL_RANK`` under DDP on GPUs).
        backend: The process group's backend, or ``None`` when there is no group.
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        """True when a process group with more than one process exists."""
        return self.backend is not None and self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def read_env(environ: Mapping[str, str] | None = None) -> DistEnv | None:
    """The torchrun variables, or ``None`` when this is a plain process (no ``RANK`` / ``WORLD_SIZE``).

    Raises:
        ValueError: Some but not all variables are set, or one is malformed; the message names the variable.
    """
    env = os.environ if environ is None else environ
    present = [k for k in _REQUIRED if k in env]
    if not present:
        return None
    missing = [k for k in _REQUIRED if k not in env]
    if missing:
        raise ValueError(
            f"distributed environment: {', '.join(present)} set but {', '.join(missing)} missing; "
            "start data-parallel runs with torchrun, which sets them all"
        )
    values: dict[str, int] = {}
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT", "LOCAL_WORLD_SIZE"):
        raw = env.get(key, env["WORLD_SIZE"] if key == "LOCAL_WORLD_SIZE" else None)
        try:
            values[key] = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"distributed environment: {key}={raw!r}; expected an integer") from None
    if values["WORLD_SIZE"] < 1 or not 0 <= values["RANK"] < values["WORLD_SIZE"]:
        raise ValueError(
            f"distributed environment: RANK={values['RANK']}, WORLD_SIZE={values['WORLD_SIZE']}; "
            "expected 0 <= RANK < WORLD_SIZE"
        )
    if values["LOCAL_RANK"] < 0:
        raise ValueError(f"distributed environment: LOCAL_RANK={values['LOCAL_RANK']}; expected >= 0")
    return DistEnv(
        rank=values["RANK"],
        local_rank=values["LOCAL_RANK"],
        world_size=values["WORLD_SIZE"],
        local_world_size=values["LOCAL_WORLD_SIZE"],
        master_addr=env["MASTER_ADDR"],
        master_port=values["MASTER_PORT"],
    )


def local_device(requested: str, local_rank: int) -> torch.device:
    """The device of the process with ``local_rank``: ``cuda:LOCAL_RANK`` for ``auto``/``cuda`` when CUDA is there.

    ``CUDA_VISIBLE_DEVICES`` is respected: ``LOCAL_RANK`` indexes the visible devices.
    """
    device = resolve_device(requested)
    if device.type != "cuda":
        return device
    visible = torch.cuda.device_count()
    if device.index is not None and device.index != local_rank:
        raise ValueError(
            f"train.device: {requested!r} under torchrun, but each process uses cuda:LOCAL_RANK (here "
            f"cuda:{local_rank}); use 'auto' or 'cuda' and choose GPUs with CUDA_VISIBLE_DEVICES"
        )
    if local_rank >= visible:
        raise ValueError(
            f"LOCAL_RANK={local_rank} but only {visible} CUDA device(s) are visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}); "
            "start at most that many processes per node (--nproc_per_node)"
        )
    return torch.device("cuda", local_rank)


def resolve_backend(name: str, device: torch.device) -> str:
    """``auto`` → ``nccl`` on CUDA, ``gloo`` otherwise; NCCL on a CPU device is an error."""
    if name not in BACKENDS:
        raise ValueError(f"train.dist_backend: {name!r}; expected one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if name == "nccl" and device.type != "cuda":
        raise ValueError("train.dist_backend: 'nccl' needs CUDA devices; use 'gloo' (or 'auto') on CPU")
    return name


@contextmanager
def distributed(backend: str = "auto", device: str = "auto", timeout_s: float = 1800.0) -> Iterator[DistContext]:
    """This process's place in a torchrun run, joining the process group if needed (a plain process: no group).

    The group is created once per process and kept for later blocks (``train`` then ``evaluate``): torch cannot
    reliably create the default group again after destroying it in the same process (the rendezvous keys repeat).
    It is destroyed at interpreter exit (or by :func:`shutdown`); a group the caller created is reused and left
    alone. ``WORLD_SIZE=1`` runs without a group. Inside the block, ranks other than 0 log only warnings.

    Args:
        backend: ``auto`` | ``gloo`` | ``nccl`` | ``mpi`` (``train.dist_backend``).
        device: ``train.device``; under DDP ``auto``/``cuda`` become ``cuda:LOCAL_RANK``.
        timeout_s: Collective timeout; rank 0 may score a large protocol while the others wait.
    """
    env = read_env()
    if env is None or env.world_size == 1:
        yield DistContext(device=resolve_device(device))
        return
    dev = local_device(device, env.local_rank)
    name = resolve_backend(backend, dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(
            name,
            rank=env.rank,
            world_size=env.world_size,
            timeout=timedelta(seconds=timeout_s),
            device_id=dev if name == "nccl" else None,
        )
        if not _STATE["owned"]:
            atexit.register(shutdown)
        _STATE["owned"] = True
        logger.debug("rank %d/%d joined the %s group on %s", env.rank, env.world_size, name, dev)
    elif dist.get_world_size() != env.world_size:
        raise RuntimeError(f"existing process group has {dist.get_world_size()} ranks; WORLD_SIZE={env.world_size}")
    package_logger = logging.getLogger("gaitforge")
    level = package_logger.level
    if env.rank != 0:
        package_logger.setLevel(max(logging.WARNING, level))
    try:
        yield DistContext(env.rank, env.local_rank, env.world_size, dev, dist.get_backend())
    finally:
        package_logger.setLevel(level)


def shutdown() -> None:
    """Destroy the process group :func:`distributed` created (runs at interpreter exit).

    The process cannot reliably join another default group afterwards. Unreachable objects that still hold the
    group (a DDP model in a reference cycle) are collected first: a group whose last holder is only freed during
    interpreter teardown can take the process down there with ``terminate called without an active exception``
    (SIGABRT, seen in about one launch in five on torch 2.13 with gloo), after all the work is done.
    """
    if _STATE["owned"] and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
    _STATE["owned"] = False


def is_distributed() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Rank 0 (or a plain process): the one that logs, shows progress and writes files."""
    return get_rank() == 0


def _device() -> torch.device:
    """Where tensors for collectives live: the current CUDA device under NCCL, else CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    """Wait for every rank (no-op in a plain process)."""
    if not is_distributed():
        return
    if dist.get_backend() == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def broadcast_object(obj: T, src: int = 0) -> T:
    """``obj`` of rank ``src`` on every rank (picklable objects; never used on untrusted data)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather_objects(obj: Any, dst: int | None = 0) -> list[Any]:
    """Every rank's ``obj`` in rank order, on rank ``dst`` (``None``: on every rank); ``[]`` on the other ranks."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    if dst is None:
        dist.all_gather_object(out, obj)
        return out
    dist.gather_object(obj, out if dist.get_rank() == dst else None, dst=dst)
    return out if dist.get_rank() == dst else []


def gather_arrays(array: np.ndarray, dst: int | None = 0) -> list[np.ndarray]:
    """Every rank's ``array`` (any length along axis 0, same trailing shape and dtype) in rank order.

    The arrays are padded to the longest, exchanged in one ``all_gather`` (on the GPU under NCCL) and trimmed.
    A rank with no rows may send an array of shape ``(0,)``; it comes back with the others' trailing shape.

    Args:
        array: ``[n_r, ...]`` on rank ``r``.
        dst: The rank that receives them (others get ``[]``), or ``None`` for every rank.
    """
    if not is_distributed():
        return [array]
    meta = gather_objects((array.shape, array.dtype.str), dst=None)
    shaped = [(shape, dtype) for shape, dtype in meta if shape[0] > 0]
    if not shaped:
        return [array[:0] for _ in meta] if dst is None or dist.get_rank() == dst else []
    trailing, dtype = tuple(shaped[0][0][1:]), np.dtype(shaped[0][1])
    for r, (shape, dt) in enumerate(meta):
        if shape[0] > 0 and (tuple(shape[1:]) != trailing or np.dtype(dt) != dtype):
            raise ValueError(f"gather_arrays: rank {r} sent {shape} {dt}; rank 0's share is [n, *{trailing}] {dtype}")
    longest = max(shape[0] for shape, _ in meta)
    local = np.zeros((longest, *trailing), dtype=dtype)
    if array.shape[0]:
        local[: array.shape[0]] = array
    device = _device()
    send = torch.from_numpy(local).to(device)
    parts = [torch.empty_like(send) for _ in meta]
    dist.all_gather(parts, send)
    if dst is not None and dist.get_rank() != dst:
        return []
    return [p[: shape[0]].cpu().numpy() for p, (shape, _) in zip(parts, meta, strict=True)]


def all_gather_keep_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's ``[b, ...]`` tensor along dim 0; gradients flow into this rank's slice only.

    With the loss computed on the gathered batch and multiplied by the world size, DDP's gradient average equals the
    gradient one process would get on the whole batch: each rank contributes ``W · ∂L/∂out_r`` through its own slice
    and DDP divides the sum by ``W``. Every rank must send the same shape.
    """
    if not is_distributed():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.detach().contiguous())
    parts[dist.get_rank()] = tensor
    return torch.cat(parts, dim=0)


def main_first(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0, then on the other ranks (e.g. rank 0 creates a cache the others then reuse).

    When it fails on rank 0 the other ranks raise too (naming rank 0's error) instead of waiting forever.
    """
    if not is_distributed():
        return fn()
    if dist.get_rank() == 0:
        try:
            result = fn()
        except Exception as exc:
            broadcast_object(f"{type(exc).__name__}: {exc}")
            raise
        broadcast_object(None)
        return result
    error = broadcast_object(None)
    if error is not None:
        raise RuntimeError(f"rank 0 failed: {error}")
    return fn()


def main_only(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only (e.g. write a file); every rank returns rank 0's (picklable) result.

    The other ranks wait for it, and raise (naming rank 0's error) when it fails.
    """
    if not is_distributed():
        return fn()
    if dist.get_rank() == 0:
        try:
            result = fn()
        except Exception as exc:
            broadcast_object((None, f"{type(exc).__name__}: {exc}"))
            raise
        return broadcast_object((result, None))[0]
    result, error = broadcast_object((None, None))
    if error is not None:
        raise RuntimeError(f"rank 0 failed: {error}")
    return result
