"""Generating a whole world: in parallel worker processes, in a fixed order, into a sequence store."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from gaitforge.data.sequence import Sequence
from gaitforge.synth.config import WorldConfig
from gaitforge.synth.world import generate_sequence

__all__ = ["iter_world", "make_world", "partition"]

logger = logging.getLogger(__name__)

PARTITION_NAME = "partition.json"
WORLD_NAME = "world.json"


def _walk(cfg: WorldConfig, subject_index: int, condition: str) -> list[Sequence]:
    """Every view of one walk (spawn-safe worker entry point)."""
    return [generate_sequence(cfg, subject_index, condition, view) for view in cfg.views]


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _resolve_workers(workers: int | None) -> int:
    if workers is None:
        return max(1, min(os.cpu_count() or 1, 8))
    if workers < 1:
        raise ValueError(f"synth: workers must be >= 1, got {workers}")
    return int(workers)


def iter_world(cfg: WorldConfig, workers: int | None = 1, progress: bool = False) -> Iterator[Sequence]:
    """Every sequence of the world, ordered by subject, then condition, then view.

    Work is split by walk (subject × condition: all views at once) over ``workers`` spawned processes, with
    a bounded number of walks in flight so memory stays flat whatever the consumer's pace. The arrays do not
    depend on ``workers``.

    Args:
        cfg: The world.
        workers: Worker processes (1 = in this process; ``None`` = up to 8, one per CPU).
        progress: Show a tqdm progress bar (sequences).

    Yields:
        :class:`~gaitforge.data.sequence.Sequence` with ``sil``, ``pose``, ``joints3d``.
    """
    n = _resolve_workers(workers)
    tasks = [(i, c) for i in range(cfg.n_subjects) for c in cfg.conditions]
    bar = tqdm(total=cfg.n_sequences, unit="seq", desc=f"synth {cfg.name}", disable=not progress)
    try:
        if n == 1:
            for i, c in tasks:
                for seq in _walk(cfg, i, c):
                    bar.update(1)
                    yield seq
            return
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker) as pool:
            pending: deque[Future[list[Sequence]]] = deque()
            todo = iter(tasks)
            for i, c in todo:
                pending.append(pool.submit(_walk, cfg, i, c))
                if len(pending) >= 4 * n:
                    break
            try:
                while pending:
                    batch = pending.popleft().result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending.append(pool.submit(_walk, cfg, *nxt))
                    for seq in batch:
                        bar.update(1)
                        yield seq
            finally:  # a consumer that stops early should not wait for walks it will never read
                for fut in pending:
                    fut.cancel()
    finally:
        bar.close()


def partition(cfg: WorldConfig) -> dict[str, list[str]]:
    """The world's split in the field's format: ``{"TRAIN_SET": [...], "TEST_SET": [...]}``."""
    return {"TRAIN_SET": list(cfg.train_subjects), "TEST_SET": list(cfg.test_subjects)}


def make_world(
    cfg: WorldConfig,
    out_dir: str | Path,
    workers: int | None = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Generate the world into a sequence store ``out_dir/<cfg.name>``.

    Beside the store's index the folder gets ``partition.json`` (``TRAIN_SET`` / ``TEST_SET``) and
    ``world.json`` (the config that made it).

    Args:
        cfg: The world.
        out_dir: Parent folder of the store.
        workers: Worker processes (see :func:`iter_world`).
        progress: Show a progress bar.
        overwrite: Replace an existing store of that name.

    Returns:
        The store folder.

    Raises:
        FileExistsError: The store exists and ``overwrite`` is false.
    """
    from gaitforge.data.store import StoreWriter
    from gaitforge.data.store_writer import write_json_atomic

    root = Path(out_dir) / cfg.name
    with StoreWriter(root, overwrite=overwrite) as writer:
        for seq in iter_world(cfg, workers=workers, progress=progress):
            writer.add(seq)
    write_json_atomic(root / PARTITION_NAME, partition(cfg))
    write_json_atomic(root / WORLD_NAME, cfg.to_dict())
    logger.info("synth: wrote %d sequences to %s", cfg.n_sequences, root)
    return root
