"""Bearer tokens: the token file, the roles, and the API refusing requests before their bodies are read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.service import ServiceLimits, TokenFileError, Tokens, create_app
from gaitforge.service.app import ENV_CONFIG, app_from_environment
from gaitforge.service.auth import MIN_TOKEN_CHARS, required_role
from tests.service.common import error_of, npy_bytes, open_client, upload

WRITE = "w" * 20 + "-write-token-0123"
READ = "r" * 20 + "-read-token-45678"


def _walk() -> np.ndarray:
    walk = np.zeros((6, 64, 64), np.uint8)
    walk[:, 10:50, 25:40] = 255
    return walk


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_file_roles_comments_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(f"# who may do what\n\n{WRITE}\n{READ}  read   # the kiosk\n")
    tokens = Tokens.from_file(path)
    assert tokens.role_of(f"Bearer {WRITE}") == "write"  # no role given: write
    assert tokens.role_of(f"bearer  {READ} ") == "read"  # the scheme is case-insensitive
    for header in (None, "", WRITE, f"Basic {WRITE}", "Bearer ", f"Bearer {WRITE}x", f"Bearer {'a' * 600}"):
        assert tokens.role_of(header) is None, header
    assert WRITE not in repr(tokens) and "2 from" in repr(tokens)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no token in the file"),
        ("# only a comment\n", "no token in the file"),
        ("short\n", f"tokens.txt:1: a token of 5 characters; expected at least {MIN_TOKEN_CHARS}"),
        (f"{WRITE} admin\n", "tokens.txt:1: role 'admin'; expected one of ['read', 'write']"),
        (f"{WRITE} read extra\n", "tokens.txt:1: expected 'TOKEN [read|write]', found 3 words"),
        (f"{WRITE}\n\n{WRITE} read\n", "tokens.txt:3: the same token as line 1"),
    ],
)
def test_bad_token_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(text)
    with pytest.raises(TokenFileError, match="tokens.txt") as err:
        Tokens.from_file(path)
    assert message in str(err.value) and WRITE not in str(err.value)  # a token is never echoed


def test_missing_token_file_fails_before_the_model_loads(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError, match="no such token file"):
        create_app(tmp_path / "no_run", tmp_path / "g", tokens=tmp_path / "none.txt")
    assert not (tmp_path / "g").exists()


def test_required_roles() -> None:
    assert required_role("GET", "/health") is None and required_role("GET", "/openapi.json") is None
    assert required_role("GET", "/info") == required_role("GET", "/subjects/alice") == "read"
    assert required_role("POST", "/identify") == "read"
    assert required_role("POST", "/enroll") == required_role("DELETE", "/subjects/alice") == "write"
    assert required_role("POST", "/anything-new") == "write"  # unknown writes need the stronger role


def test_api_needs_a_token_of_the_routes_role(recognizer, tmp_path: Path) -> None:
    tokens = Tokens.from_pairs({WRITE: "write", READ: "read"})
    app = create_app(recognizer, tmp_path / "g", tokens=tokens)
    walk = upload("w.npy", npy_bytes(_walk()))
    with open_client(app) as client:
        assert client.get("/api/v1/health").status_code == 200  # open: liveness probes carry no secret
        assert client.get("/").status_code == 200 and client.get("/static/app.js").status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 200

        for response in (
            client.get("/api/v1/info"),
            client.get("/api/v1/subjects", headers=_bearer("x" * 40)),
            client.post("/api/v1/identify", files=walk, headers={"Authorization": f"Basic {WRITE}"}),
            client.delete("/api/v1/subjects/alice"),
        ):
            error_of(response, 401, "unauthorized", "Authorization")
            assert response.headers["www-authenticate"] == 'Bearer realm="gaitforge"'

        enroll = {"data": {"subject": "alice"}, "files": walk}
        error_of(client.post("/api/v1/enroll", headers=_bearer(READ), **enroll), 403, "forbidden", "Authorization")
        error_of(client.delete("/api/v1/subjects/alice", headers=_bearer(READ)), 403, "forbidden", "Authorization")
        assert len(app.state.service.gallery) == 0  # nothing was enrolled by the refused requests

        assert client.post("/api/v1/enroll", headers=_bearer(WRITE), **enroll).status_code == 201
        listed = client.get("/api/v1/subjects", headers=_bearer(READ)).json()
        assert [s["subject"] for s in listed["subjects"]] == ["alice"]
        found = client.post("/api/v1/identify", files=walk, headers=_bearer(READ)).json()
        assert found["probes"][0]["matches"][0]["subject"] == "alice"
        assert client.delete("/api/v1/subjects/alice", headers=_bearer(WRITE)).status_code == 200


def test_refused_before_the_body_is_read(recognizer, tmp_path: Path) -> None:
    """An upload over the size limit without a token gets 401, not 413: the token is checked first."""
    app = create_app(
        recognizer,
        tmp_path / "g",
        limits=ServiceLimits(max_upload_bytes=1024),
        tokens=Tokens.from_pairs({WRITE: "write"}),
    )
    big = upload("w.npy", b"\0" * 4096)
    with open_client(app) as client:
        error_of(client.post("/api/v1/identify", files=big), 401, "unauthorized", "Authorization")
        assert client.post("/api/v1/identify", files=big, headers=_bearer(WRITE)).status_code == 413


def test_open_without_tokens(recognizer, tmp_path: Path) -> None:
    with open_client(create_app(recognizer, tmp_path / "g")) as client:
        assert client.get("/api/v1/info").status_code == 200


def test_token_file_reaches_every_worker(service_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(f"{READ} read\n")
    config = {"model": str(service_run), "gallery": str(tmp_path / "g"), "token_file": str(path)}
    monkeypatch.setenv(ENV_CONFIG, json.dumps(config))
    with open_client(app_from_environment()) as client:
        error_of(client.get("/api/v1/info"), 401, "unauthorized", "Authorization")
        assert client.get("/api/v1/info", headers=_bearer(READ)).status_code == 200


def test_tokens_over_https(recognizer, tmp_path: Path) -> None:
    """A real TLS server (a self-signed certificate for 127.0.0.1): the token travels encrypted and still decides."""
    import shutil
    import ssl
    import subprocess

    import httpx

    from tests.service.common import serve

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    app = create_app(recognizer, tmp_path / "g", tokens=Tokens.from_pairs({READ: "read"}))
    with serve(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as base:
        assert base.startswith("https://")
        verify = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=verify) as client:
            assert client.get(f"{base}/api/v1/info").status_code == 401
            assert client.get(f"{base}/api/v1/info", headers=_bearer(READ)).json()["dim"] == recognizer.dim
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is refused by a default client
            httpx.get(f"{base}/api/v1/health")
        with pytest.raises(httpx.RemoteProtocolError):  # and plain HTTP gets no answer
            httpx.get(base.replace("https://", "http://") + "/api/v1/health")


def test_failure_window_slides_and_forgets() -> None:
    from gaitforge.service.auth import FailureWindow

    now = [100.0]
    window = FailureWindow(limit=3, window_s=60.0, max_clients=2, clock=lambda: now[0])
    for _ in range(3):
        assert window.wait_s("a") == 0.0
        window.record("a")
        now[0] += 10.0
    assert window.wait_s("a") == pytest.approx(30.0)  # the first failure (t=100) leaves the window at t=160
    now[0] = 160.0
    assert window.wait_s("a") == 0.0  # one failure left the window: one more attempt allowed
    window.record("b")
    window.record("c")  # a third address: the least recently failing one ("a", 2 failures left) is forgotten
    now[0] = 161.0
    window.record("a")  # remembered, this would be a's third failure within the minute
    assert window.wait_s("a") == 0.0
    window.record("a")
    window.record("a")
    assert window.wait_s("a") == pytest.approx(60.0)
    with pytest.raises(ValueError, match="limit 0"):
        FailureWindow(limit=0)


def test_repeated_bad_tokens_get_429(recognizer, tmp_path: Path) -> None:
    tokens = Tokens.from_pairs({READ: "read"})
    app = create_app(recognizer, tmp_path / "g", limits=ServiceLimits(max_token_failures=2), tokens=tokens)
    with open_client(app) as client:
        assert client.get("/api/v1/info", headers=_bearer(READ)).status_code == 200  # successes are not counted
        for _ in range(2):
            error_of(client.get("/api/v1/info", headers=_bearer("x" * 40)), 401, "unauthorized", "Authorization")
        blocked = client.get("/api/v1/info", headers=_bearer(READ))  # even a valid token, for the rest of the minute
        err = error_of(blocked, 429, "too_many_failures", "Authorization")
        assert err["limit"] == 2 and 0 < int(blocked.headers["retry-after"]) <= 60
        assert client.get("/api/v1/health").status_code == 200  # open routes are not affected
