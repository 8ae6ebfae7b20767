"""An inter-process write lock on a file (``fcntl.flock``): one gallery writer at a time, any number of readers.

The lock belongs to an open file description, so the kernel drops it when the holder dies (even by SIGKILL):
a crashed writer never leaves a gallery locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["FileLock", "LockTimeout"]


class LockTimeout(TimeoutError):
    """The lock stayed held by another writer for longer than the timeout."""


class FileLock:
    """Exclusive, re-entrant (within one object) lock on ``path``.

    Args:
        path: Lock file (created if missing; its content is the holder's pid, for messages only).
        timeout: Seconds to wait for another holder before :class:`LockTimeout`.
    """

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = float(timeout)
        self._fd: int | None = None
        self._depth = 0
        self._guard = threading.RLock()

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._depth > 0

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds."""
        self._guard.acquire()
        if self._depth:
            self._depth += 1
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            deadline = time.monotonic() + self.timeout
            delay = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = self.path.read_text(errors="replace").strip() or "unknown"
                        os.close(fd)
                        raise LockTimeout(
                            f"{self.path}: another writer (pid {holder}) has held the gallery lock for more than "
                            f"{self.timeout:.0f} s"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except BaseException:
            self._guard.release()
            raise
        self._fd, self._depth = fd, 1

    def release(self) -> None:
        """Release one level of the lock."""
        if not self._depth:
            raise RuntimeError(f"{self.path}: release() without acquire()")
        self._depth -= 1
        if not self._depth and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._guard.release()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
