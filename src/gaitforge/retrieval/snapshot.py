"""Saved FAISS indexes of a gallery: a derived artefact, replaced atomically together with the generation it covers.

Files in the gallery folder:

* ``index-<generation>-<tag>.faiss``: the index (written to a temporary file, fsynced, renamed);
* ``index.json``: the manifest naming the current index file, the catalog generation it covers and the
  ``index_epoch`` (bumped when the gallery is re-indexed). It is replaced atomically after the index file exists,
  so a reader sees an old complete snapshot or a new complete one; a crash in between leaves an orphan file that
  the next save deletes. A missing, unreadable or mismatched snapshot is never an error: the gallery rebuilds the
  index from the catalog.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gaitforge.retrieval.vector_index import VectorIndex
from gaitforge.utils.atomic import atomic_path

__all__ = ["MANIFEST_NAME", "current_umask", "load_snapshot", "read_manifest", "write_snapshot"]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "index.json"


def current_umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, racing other threads); 0o022 if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest, or None when absent or unreadable (logged)."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("%s: unreadable index manifest (%s); the index will be rebuilt", path, exc)
        return None
    if not isinstance(data, dict) or not {"generation", "file", "index_epoch"} <= set(data):
        logger.warning("%s: index manifest lacks 'generation', 'file' or 'index_epoch'; ignored", path)
        return None
    return data


def load_snapshot(
    folder: Path, dim: int, metric: str, kind: str, options: dict[str, Any], epoch: int, attempts: int = 3
) -> tuple[VectorIndex, int] | None:
    """``(index, generation)`` of the current snapshot, or None when there is no usable one."""
    for _ in range(attempts):
        manifest = read_manifest(folder)
        if manifest is None:
            return None
        if manifest["index_epoch"] != epoch:
            logger.info(
                "%s: saved index is from index epoch %s (now %s); rebuilding", folder, manifest["index_epoch"], epoch
            )
            return None
        try:
            index = VectorIndex.load(folder / manifest["file"], dim, metric, kind, options)
        except FileNotFoundError:
            continue  # a writer replaced the snapshot between our two reads: read the new manifest
        except ValueError as exc:
            logger.warning("%s; the index will be rebuilt", exc)
            return None
        return index, int(manifest["generation"])
    return None


def write_snapshot(
    folder: Path, index: VectorIndex, generation: int, epoch: int, fault: Callable[[str], None] | None = None
) -> Path:
    """Save ``index`` (covering catalog ``generation``) and point the manifest at it; the caller holds the write lock.

    Older index files and temporary files left by crashed saves are deleted afterwards.
    """
    name = f"index-{generation:012d}-{uuid.uuid4().hex[:8]}.faiss"
    started = time.perf_counter()
    with atomic_path(folder / name) as tmp:
        index.save(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # as a plain new file would be (mkstemp gives 0600)
    if fault is not None:
        fault("before_manifest")
    manifest = {
        "generation": generation,
        "file": name,
        "index_epoch": epoch,
        "kind": index.kind,
        "stage": index.stage,
        "ntotal": index.ntotal,
        "live": index.live_count,
        "saved": time.time(),
    }
    with atomic_path(folder / MANIFEST_NAME) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o666 & ~current_umask())
    for old in list(folder.glob("index-*.faiss")) + list(folder.glob(".index-*.tmp")):
        if old.name != name:
            old.unlink(missing_ok=True)
    logger.debug("saved gallery index %s (%d vectors) in %.2f s", name, index.ntotal, time.perf_counter() - started)
    return folder / name
