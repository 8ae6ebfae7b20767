"""``gaitforge serve``: arguments and user errors (the server itself is started by test_kill and test_browser)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gaitforge.cli import build_parser, main


def test_serve_arguments() -> None:
    args = build_parser().parse_args(["serve", "--model", "run", "--gallery", "g"])
    assert (args.host, args.port, args.max_upload_mb, args.max_frames, args.workers) == (
        "127.0.0.1",
        8000,
        64.0,
        2000,
        1,
    )
    args = build_parser().parse_args(
        ["serve", "--model", "r", "--gallery", "g", "--port", "9001", "--max-upload-mb", "8", "--workers", "2"]
    )
    assert (args.port, args.max_upload_mb, args.workers) == (9001, 8.0, 2)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "no such run folder or checkpoint"),
        (["--max-upload-mb", "0"], "--max-upload-mb is 0"),
        (["--workers", "0"], "--workers is 0"),
        (["--max-frames", "0"], "max_frames is 0"),
        (["--token-file", "no_such_tokens.txt"], "no_such_tokens.txt: no such token file"),
        (["--ssl-certfile", "cert.pem"], "--ssl-keyfile is missing"),
        (["--ssl-certfile", "no_cert.pem", "--ssl-keyfile", "no_key.pem"], "--ssl-certfile no_cert.pem: no such file"),
    ],
)
def test_user_errors(service_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra, message) -> None:
    model = str(tmp_path / "missing") if not extra else str(service_run)
    code = main(["serve", "--model", model, "--gallery", str(tmp_path / "g"), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gaitforge serve: error:") and message in err
    assert not (tmp_path / "g").exists()  # nothing created before the arguments were checked


def test_tokens_and_tls_reach_uvicorn(service_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``serve`` hands uvicorn: the TLS files, and an app that asks for the token file's tokens."""
    import uvicorn

    from tests.service.common import open_client

    cert, key, tokens = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "tokens.txt"
    cert.write_text("certificate")
    key.write_text("key")
    tokens.write_text("t" * 32 + " read\n")
    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    common = ["serve", "--model", str(service_run), "--gallery", str(tmp_path / "g"), "--token-file", str(tokens)]
    assert main([*common, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]) == 0
    app, kw = calls[-1]
    assert (kw["ssl_certfile"], kw["ssl_keyfile"]) == (str(cert), str(key))
    with open_client(app) as client:
        assert client.get("/api/v1/info").status_code == 401
        assert client.get("/api/v1/info", headers={"Authorization": "Bearer " + "t" * 32}).status_code == 200
    assert main([*common, "--workers", "2"]) == 0  # several workers: settings through the environment
    app, kw = calls[-1]
    assert app == "gaitforge.service.app:app_from_environment" and "ssl_certfile" not in kw
    assert json.loads(os.environ["GAITFORGE_SERVICE_CONFIG"])["token_file"] == str(tokens.resolve())
    monkeypatch.delenv("GAITFORGE_SERVICE_CONFIG")
