"""A server killed with SIGKILL in the middle of an enrolment loses nothing it committed and leaves no half-write."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from gaitforge.retrieval import Gallery
from gaitforge.service import create_app
from tests.service.common import npz_bytes, open_client

# The child serves MODEL over GALLERY on a free loopback port (printed first). Its gallery fault hook reports every
# time POINT is reached and, the HOLD-th time, holds the writer there for a while so that the parent's SIGKILL
# lands inside that enrolment ("before_commit": inside the SQLite transaction; "after_commit": committed, not
# yet answered).
_CHILD = textwrap.dedent(
    """
    import socket, sys, time
    import uvicorn
    from gaitforge.retrieval import gallery
    from gaitforge.service import ServiceLimits, create_app

    model, path, point, hold = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    seen = {"n": 0}

    def hook(name):
        if name == point:
            seen["n"] += 1
            print(f"at {name} {seen['n']}", flush=True)
            if seen["n"] == hold:
                time.sleep(30)

    gallery._FAULT_HOOK = hook
    app = create_app(model, path, limits=ServiceLimits())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"port {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    """
)
COMMITTED_FIRST = 3


def _lines(proc: subprocess.Popen) -> queue.Queue:
    out: queue.Queue = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line.strip())

    threading.Thread(target=pump, daemon=True).start()
    return out


def _wait_for(lines: queue.Queue, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if line == text:
            return


def _enroll(base: str, subject: str, walk: np.ndarray, timeout: float = 30.0) -> httpx.Response:
    files = {"file": ("walk.npz", npz_bytes(sil=walk), "application/octet-stream")}
    return httpx.post(f"{base}/api/v1/enroll", data={"subject": subject}, files=files, timeout=timeout)


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_sigkill_mid_enrol(point: str, service_run: Path, recognizer, walks, tmp_path: Path) -> None:
    path = tmp_path / "gallery"
    walk_list = [walks[s][i] for i, s in enumerate(sorted(walks)[: COMMITTED_FIRST + 1])]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(service_run), str(path), point, str(COMMITTED_FIRST + 1)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    in_flight = threading.Thread()
    outcome: list[object] = []
    try:
        lines = _lines(proc)
        port = int(lines.get(timeout=120).split()[1])
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        committed = []
        for i in range(COMMITTED_FIRST):
            res = _enroll(base, f"s{i}", walk_list[i])
            assert res.status_code == 201, res.text
            committed.append(f"s{i}")

        def last_enrolment() -> None:
            try:
                outcome.append(_enroll(base, "s3", walk_list[3]))
            except httpx.TransportError as exc:  # the server died under it
                outcome.append(exc)

        in_flight = threading.Thread(target=last_enrolment)
        in_flight.start()
        _wait_for(lines, f"at {point} {COMMITTED_FIRST + 1}")  # the writer is held inside the 4th enrolment
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if in_flight.ident is not None:
            in_flight.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError), outcome  # never answered

    expected = committed + (["s3"] if point == "after_commit" else [])
    with Gallery.open(path) as gallery:
        assert gallery.verify()["sequences"] == len(expected)  # the index holds exactly the committed rows
        assert [(s.subject, s.n_sequences) for s in gallery.subjects()] == [(s, 1) for s in expected]
    with open_client(create_app(recognizer, path)) as client:  # the service reopens the gallery and serves it
        assert [s["subject"] for s in client.get("/api/v1/subjects").json()["subjects"]] == expected
        for i, subject in enumerate(expected):
            files = {"file": ("p.npz", npz_bytes(sil=walk_list[i]), "application/octet-stream")}
            best = client.post("/api/v1/identify", files=files).json()["probes"][0]["matches"][0]
            assert best["subject"] == subject and best["distance"] == pytest.approx(0.0, abs=1e-3)
