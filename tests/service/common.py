"""Helpers of the service tests: upload payloads (zip of PNGs, npz, npy), a TestClient without noise, and a real
uvicorn server in a thread."""

from __future__ import annotations

import io
import socket
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cv2
import numpy as np


def png_bytes(frame: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", frame)
    assert ok
    return buf.tobytes()


def zip_bytes(frames: np.ndarray | list[np.ndarray], extra: dict[str, bytes] | None = None) -> bytes:
    """A ZIP of PNG frames ``000.png, 001.png, ...`` (deflated) plus ``extra`` members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, frame in enumerate(frames):
            zf.writestr(f"{i:03d}.png", png_bytes(frame))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> dict[str, Any]:
    """``files=`` argument of a TestClient/httpx request."""
    return {"file": (name, data, content_type)}


def error_of(response: Any, status: int, code: str, field: str | None) -> dict[str, Any]:
    """Check a JSON error response; returns its ``error`` object."""
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert (err["status"], err["code"], err["field"]) == (status, code, field), err
    assert err["message"]
    if field is not None:
        assert f"'{field}'" in err["message"], err["message"]
    return err


@contextmanager
def open_client(app: Any) -> Iterator[Any]:
    """``fastapi.testclient.TestClient`` (its import warns about httpx under Starlette 1.x; harmless here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with TestClient(app) as client:
        yield client


@contextmanager
def serve(app: Any, **config: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields its base URL (``https`` when
    ``config`` has ``ssl_certfile``; ``config`` goes to ``uvicorn.Config``)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        scheme = "https" if config.get("ssl_certfile") else "http"
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
