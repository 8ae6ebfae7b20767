"""A writer killed with SIGKILL at any point loses nothing it committed and leaves nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from gaitforge.retrieval import Gallery

DIM = 8
PER_SUBJECT = 3

# The child enrolls subjects s00, s01, ... (PER_SUBJECT vectors each, one transaction per subject), saving the
# index after every write, and prints "committed <i>" after each enroll returns. With a point name it SIGKILLs
# itself the third time that point is reached; with "none" it runs until the parent kills it.
_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from gaitforge.retrieval import Gallery, gallery, live_index

    path, point, per_subject, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    live_index.SAVE_MIN_CHANGES = 1  # save the index after every write: crashes also hit snapshot writes
    seen = {"n": 0}

    def hook(name):
        if name == point:
            seen["n"] += 1
            if seen["n"] == 3:
                os.kill(os.getpid(), signal.SIGKILL)

    gallery._FAULT_HOOK = hook
    g = Gallery.open(path)
    for i in range(1000):
        x = np.random.default_rng(i).normal(size=(per_subject, dim)).astype(np.float32) * 0.01 + i
        g.enroll(f"s{i:02d}", x, provenance={"i": i})
        print(f"committed {i}", flush=True)
    """
)


def _run_child(path: Path, point: str, kill_after: int | None = None) -> list[int]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), point, str(PER_SUBJECT), str(DIM)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    committed: list[int] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        committed.append(int(line.split()[1]))
        if kill_after is not None and len(committed) == kill_after:
            time.sleep(0.02)  # let it get into the next transaction
            proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode() if proc.stderr else ""
    return committed


def _check_consistent(path: Path, committed: list[int]) -> set[int]:
    """Every committed subject is whole and findable; returns the subjects present."""
    with Gallery.open(path) as g:
        g.verify()
        counts = {s.subject: s.n_sequences for s in g.subjects()}
        present = {int(name[1:]) for name in counts}
        assert set(committed) <= present
        assert all(n == PER_SUBJECT for n in counts.values())  # no subject half-enrolled
        assert present == set(range(len(present)))  # transactions commit in order, none skipped
        for i in present:
            match = g.identify(np.full(DIM, float(i)), k=1).matches[0]
            assert match.subject == f"s{i:02d}" and match.provenance == {"i": i}
        ids = g.enroll("after", np.zeros((2, DIM)))  # the gallery keeps working
        assert len(g) == PER_SUBJECT * len(present) + 2 and min(ids) > PER_SUBJECT * len(present)
    return present


@pytest.mark.parametrize(
    ("point", "lands"),
    [
        ("before_commit", False),  # inside the transaction: the in-flight subject must vanish
        ("after_commit", True),  # committed, index not yet updated nor saved: replayed on open
        ("before_manifest", True),  # new index file written, manifest not switched: old snapshot + replay
    ],
)
def test_kill_at_a_fault_point(tmp_path: Path, point: str, lands: bool) -> None:
    Gallery.create(tmp_path / "g", DIM).close()
    committed = _run_child(tmp_path / "g", point)
    assert committed == [0, 1]  # killed during the third enroll, before it returned
    present = _check_consistent(tmp_path / "g", committed)
    assert present == ({0, 1, 2} if lands else {0, 1})


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_kill_at_an_arbitrary_moment(tmp_path: Path, index: str) -> None:
    Gallery.create(tmp_path / "g", DIM, index=index).close()
    committed = _run_child(tmp_path / "g", "none", kill_after=6)
    present = _check_consistent(tmp_path / "g", committed)
    assert len(present) - len(committed) in (0, 1)  # at most the one in flight, and only whole
