"""``gaitforge serve``: arguments and user errors (the server itself is started by test_kill and test_browser)."""

from __future__ import annotations

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
    ],
)
def test_user_errors(service_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra, message) -> None:
    model = str(tmp_path / "missing") if not extra else str(service_run)
    code = main(["serve", "--model", model, "--gallery", str(tmp_path / "g"), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gaitforge serve: error:") and message in err
    assert not (tmp_path / "g").exists()  # nothing created before the arguments were checked
