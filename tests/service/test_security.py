"""The service under bad input and faults (issue 18): the shared input checks and name rule, repeated fields,
forwarded headers and the token lockout, a busy port, a corrupt ``gallery.db``."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.retrieval.gallery import GalleryError
from gaitforge.service import ServiceLimits, Tokens, create_app
from gaitforge.service.cli import proxy_options
from tests.service.common import error_of, npy_bytes, open_client, serve, upload

TOKEN = "k" * 24 + "-read-token-0000"


def _walk(n: int) -> np.ndarray:
    walk = np.zeros((n, 64, 64), np.uint8)
    walk[:, 10:50, 25:40] = 255
    return walk


def _enroll(client: Any, subject: Any, walk: np.ndarray) -> Any:
    return client.post("/api/v1/enroll", data={"subject": subject}, files=upload("w.npy", npy_bytes(walk)))


def test_blank_and_short_walks_are_refused_as_on_the_command_line(recognizer, tmp_path: Path) -> None:
    with open_client(create_app(recognizer, tmp_path / "g")) as client:
        err = error_of(_enroll(client, "ghost", np.zeros((30, 64, 64), np.uint8)), 422, "no_silhouette", "file")
        assert "none of the 30 frames holds a silhouette" in err["message"]
        for n in (1, 3):
            err = error_of(_enroll(client, "short", _walk(n)), 422, "too_few_frames", "file")
            assert err["limit"] == 5 and f"only {n} of {n} frames hold a silhouette; at least 5" in err["message"]
        assert client.get("/api/v1/subjects").json()["total"] == 0
    app = create_app(recognizer, tmp_path / "g2", limits=ServiceLimits(min_frames=3))
    with open_client(app) as client:  # the minimum is a setting, as --min-frames is
        assert _enroll(client, "short", _walk(3)).status_code == 201


def test_a_field_sent_twice_is_refused(recognizer, tmp_path: Path) -> None:
    with open_client(create_app(recognizer, tmp_path / "g")) as client:
        files = [("subject", (None, "alice")), ("subject", (None, "mallory")), ("file", ("w.npy", npy_bytes(_walk(6))))]
        err = error_of(client.post("/api/v1/enroll", files=files), 422, "duplicate_field", "subject")
        assert "sent 2 times; expected it once" in err["message"]
        assert client.get("/api/v1/subjects").json()["total"] == 0


def test_subject_names_follow_the_one_rule(recognizer, tmp_path: Path) -> None:
    with open_client(create_app(recognizer, tmp_path / "g")) as client:
        for bad in ("a\nb", "../../etc/passwd", "аlice"):
            error_of(_enroll(client, bad, _walk(6)), 422, "invalid_subject", "subject")
        created = _enroll(client, "ａｌｉｃｅ", _walk(6))
        assert created.status_code == 201 and created.json()["subject"] == "alice"  # stored in NFKC
        assert client.get("/api/v1/subjects/ａｌｉｃｅ").json()["subject"] == "alice"
        assert _enroll(client, "ace", _walk(6)).status_code == 201
        err = error_of(_enroll(client, "асе", _walk(6)), 422, "invalid_subject", "subject")  # Cyrillic а с е
        assert "reads like the enrolled 'ace'" in err["message"]
        assert sorted(s["subject"] for s in client.get("/api/v1/subjects").json()["subjects"]) == ["ace", "alice"]


def _bad_tokens_until_refused(base: str, forwarded: list[str]) -> list[int]:
    """Status of one bad-token request per ``X-Forwarded-For`` value, then of a good token from a new one."""
    statuses = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for address in forwarded:
            headers = {"Authorization": "Bearer wrong", "X-Forwarded-For": address}
            statuses.append(client.get("/api/v1/info", headers=headers).status_code)
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.250"}
        statuses.append(client.get("/api/v1/info", headers=headers).status_code)
    return statuses


def test_a_forwarded_header_does_not_escape_the_token_lockout(
    recognizer, service_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    handed: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: handed.append(kw))
    assert main(["serve", "--model", str(service_run), "--gallery", str(tmp_path / "g0")]) == 0
    options = {k: handed[-1][k] for k in ("proxy_headers", "forwarded_allow_ips")}
    assert options == proxy_options(None) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own setting must not reopen it either

    limits = ServiceLimits(max_token_failures=3)
    tokens = Tokens.from_pairs({TOKEN: "read"})
    app = create_app(recognizer, tmp_path / "g1", limits=limits, tokens=tokens)
    with serve(app, **options) as base:  # as `gaitforge serve` runs it: a new address per request changes nothing
        assert _bad_tokens_until_refused(base, [f"198.51.100.{i}" for i in range(3)]) == [401, 401, 401, 429]

    configured = proxy_options("127.0.0.1")  # --forwarded-allow-ips 127.0.0.1: the proxy's header is believed
    assert configured == {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"}
    app = create_app(recognizer, tmp_path / "g2", limits=limits, tokens=tokens)
    with serve(app, **configured) as base:
        assert _bad_tokens_until_refused(base, ["198.51.100.7"] * 3) == [401, 401, 401, 200]


def test_serve_on_a_busy_port_creates_nothing(
    service_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--model", str(service_run), "--gallery", str(tmp_path / "g"), "--port", str(port)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"gaitforge serve: error: --port {port}: cannot listen on 127.0.0.1:{port}")
    assert "nothing was created" in err and not (tmp_path / "g").exists()


def test_a_corrupt_gallery_db_stops_the_service_with_one_line(
    recognizer, service_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gallery = tmp_path / "g"
    create_app(recognizer, gallery).state.service.close()
    for suffix in ("-wal", "-shm"):
        (gallery / f"gallery.db{suffix}").unlink(missing_ok=True)
    (gallery / "gallery.db").write_bytes(b"\0garbage\0" * 512)
    with pytest.raises(GalleryError, match="gallery.db: open: not a readable gallery database"):
        create_app(recognizer, gallery)
    code = main(["serve", "--model", str(service_run), "--gallery", str(gallery), "--port", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "gallery.db: open: not a readable gallery database" in err
