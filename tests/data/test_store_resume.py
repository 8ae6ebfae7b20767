"""A writer process killed (SIGKILL) in the middle of writing: the store stays readable and the import resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter

_CHILD = """
import sys, numpy as np
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import StoreWriter
root, mode = sys.argv[1], sys.argv[2]
w = StoreWriter(root, append=True, checkpoint_seconds=0.0, shard_bytes=3000) if mode == "append" else StoreWriter(root)
n = 0
while True:  # runs until killed; in append mode every add republishes the index
    w.add(Sequence(f"{n:04d}", "nm-01", "000", {"sil": np.full((1 + n % 5, 16, 11), n % 256, np.uint8)}, {"n": n}))
    n += 1
"""


def _seq(n: int) -> Sequence:
    return Sequence(f"{n:04d}", "nm-01", "000", {"sil": np.full((1 + n % 5, 16, 11), n % 256, np.uint8)}, {"n": n})


def _run_and_kill(root: Path, mode: str, until) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(root), mode], env=env)
    try:
        deadline = time.monotonic() + 60
        while not until():
            assert proc.poll() is None, "the writer process ended on its own"
            assert time.monotonic() < deadline, "the writer process made no progress"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def _count(root: Path) -> int:
    try:
        return json.loads((root / "index.json").read_text())["count"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def test_killed_append_writer_resumes(tmp_path: Path) -> None:
    root = tmp_path / "s"
    _run_and_kill(root, "append", lambda: _count(root) >= 40)
    store = SequenceStore(root, verify=True)  # whatever generation was last published is complete
    done = len(store)
    assert done >= 40
    assert [r.key for r in store.records] == [_seq(n).key for n in range(done)]
    with StoreWriter(root, append=True) as w:  # resume: present keys skipped, leftovers of the dead writer removed
        for n in range(done + 10):
            w.add(_seq(n))
        assert w.skipped == done
    store = SequenceStore(root, verify=True)
    assert len(store) == done + 10
    for n in (0, done - 1, done, done + 9):
        assert store.record(n).meta == {"n": n}
        np.testing.assert_array_equal(store.array(n, "sil"), _seq(n).modalities["sil"])
    listed = {name for name, _ in store._index.manifest.files} | {"index.json"}
    generations = sorted(p.name for p in root.glob("index.*.idx"))
    assert {p.name for p in root.iterdir()} == listed | set(generations) and len(generations) <= 2


def test_killed_new_store_writer_leaves_nothing_published(tmp_path: Path) -> None:
    root = tmp_path / "s"
    tmp_dirs = lambda: list(tmp_path.glob(".s.tmp-*"))  # noqa: E731
    _run_and_kill(root, "new", lambda: any(p.stat().st_size > 50_000 for d in tmp_dirs() for p in d.glob("*.bin")))
    assert not root.exists()
    with pytest.raises(FileNotFoundError, match="no store index"):
        SequenceStore(root)
