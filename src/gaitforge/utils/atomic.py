"""Atomic file writes: write a temporary file in the same folder, fsync, then ``os.replace``.

A reader (or a crash) sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["DiskFullError", "atomic_path", "atomic_write_bytes", "atomic_write_text", "disk_full"]

#: errno values that mean "the device (or the user's quota) is full".
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class DiskFullError(OSError, ValueError):
    """Writing a file failed because the device is full. An ``OSError`` (errno ENOSPC) and, for the command
    line's one-line error report, a ``ValueError``; the message names the file and what was kept."""


def disk_full(exc: BaseException, path: str | os.PathLike[str], kept: str) -> DiskFullError | None:
    """A :class:`DiskFullError` naming ``path`` when ``exc`` is a full-device error, else ``None``.

    Args:
        exc: The error raised while writing.
        path: The file being written.
        kept: What is still intact, for the message (``"the previous file is unchanged"``).
    """
    if isinstance(exc, DiskFullError):
        return exc
    if not isinstance(exc, OSError) or exc.errno not in _FULL:
        return None
    err = DiskFullError(
        f"{os.fspath(path)}: no space left on the device while writing it; {kept}; free space and retry"
    )
    err.errno = exc.errno
    return err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions a plain ``open(path, "w")`` would give (mkstemp's 0600 would make every written file private).
_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    Raises:
        DiskFullError: the device filled up (naming ``path``; the previous file, if any, is unchanged).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path: Path | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, _FILE_MODE)
        os.replace(tmp_path, target)
    except OSError as exc:
        full = disk_full(exc, target, f"the previous {target.name} (if any) is unchanged")
        if full is None:
            raise
        raise full from exc
    finally:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))
