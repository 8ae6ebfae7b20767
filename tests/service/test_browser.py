"""End to end in headless Chromium (Playwright): the page enrolls, identifies with thumbnails, lists and deletes.

Chromium is Debian's (``/usr/bin/chromium``, or ``$GAITFORGE_CHROMIUM``); the test is skipped without it, except
in CI (``CI=true``), where its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

from gaitforge.service import create_app
from tests.service.common import npz_bytes, zip_bytes


def _chromium() -> str:
    path = os.environ.get("GAITFORGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = ""
    if not path or not Path(path).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium ({path or 'playwright'}) is missing (required in CI)")
        pytest.skip("headless chromium or playwright is not available")
    return path


@contextmanager
def serve(app) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_page_enrolls_identifies_and_deletes(recognizer, walks: dict[str, list[np.ndarray]], tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    names = sorted(walks)
    probe_zip = tmp_path / "carol_walk.zip"
    probe_zip.write_bytes(zip_bytes(walks[names[3]][0]))
    bad = tmp_path / "notes.txt"
    bad.write_text("not a walk")
    with serve(create_app(recognizer, tmp_path / "gallery")) as base:
        for name in names[:3]:
            files = {"file": ("w.npz", npz_bytes(sil=walks[name][0]), "application/octet-stream")}
            assert httpx.post(f"{base}/api/v1/enroll", data={"subject": name}, files=files).status_code == 201
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.on("dialog", lambda dialog: dialog.accept())
                page.goto(base + "/")
                expect(page.locator("#model-info")).to_contain_text("gaitbase")
                expect(page.locator("tr.subject-row")).to_have_count(3)

                page.fill("#enroll-subject", "carol")
                page.set_input_files("#enroll-file", str(probe_zip))
                page.click("#enroll-submit")
                expect(page.locator("#enroll-status")).to_contain_text("enrolled carol: 1 sequence")
                expect(page.locator("tr.subject-row")).to_have_count(4)

                page.set_input_files("#identify-file", str(probe_zip))
                page.fill("#identify-k", "3")
                page.click("#identify-submit")
                rows = page.locator("#identify-results tr.match")
                expect(rows).to_have_count(3)
                expect(rows.nth(0).locator("td.subject")).to_have_text("carol")
                expect(rows.nth(0).locator("td.distance")).to_have_text("0.0000")
                distances = [float(t) for t in page.locator("#identify-results td.distance").all_inner_texts()]
                assert distances == sorted(distances)
                thumbs = page.locator("#identify-results img.thumb")
                expect(thumbs).to_have_count(4)  # the probe and its three matches
                loaded = thumbs.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
                assert loaded == [True] * 4

                page.set_input_files("#identify-file", str(bad))
                page.click("#identify-submit")
                expect(page.locator("#identify-status.error")).to_contain_text("field 'file'")

                page.click("button.delete[data-subject='carol']")
                expect(page.locator("tr.subject-row")).to_have_count(3)
                expect(page.locator("#enroll-status")).to_contain_text("deleted carol")
            finally:
                browser.close()
        remaining = httpx.get(f"{base}/api/v1/subjects").json()["subjects"]
        assert [s["subject"] for s in remaining] == names[:3]
