"""FileLock: exclusive across processes, re-entrant within one object, released when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaitforge.retrieval.lock import FileLock, LockTimeout

_HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_exclusive_across_processes_and_released_on_kill(tmp_path: Path) -> None:
    path = tmp_path / "write.lock"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
        with pytest.raises(LockTimeout, match="another writer"):
            FileLock(path, timeout=0.1).acquire()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        started = time.monotonic()
        with FileLock(path, timeout=10):
            assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_reentrant_and_balanced(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "l")
    with lock:
        with lock:
            assert lock.held
        assert lock.held
        assert (tmp_path / "l").read_text() == str(os.getpid())
    assert not lock.held
    with pytest.raises(RuntimeError, match="without acquire"):
        lock.release()
