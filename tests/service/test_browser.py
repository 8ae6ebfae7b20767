"""End to end in headless Chromium (Playwright): the page enrolls, identifies with thumbnails, lists and deletes.

Chromium is Debian's (``/usr/bin/chromium``, or ``$GAITFORGE_CHROMIUM``); the test is skipped without it, except
in CI (``CI=true``), where its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest

from gaitforge.service import create_app
from tests.service.common import npz_bytes, serve, zip_bytes


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


def test_page_asks_for_a_token_and_keeps_it_for_the_tab(recognizer, walks, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    from gaitforge.service import Tokens

    write, read = "w" * 32, "r" * 32
    name = sorted(walks)[0]
    walk_zip = tmp_path / "walk.zip"
    walk_zip.write_bytes(zip_bytes(walks[name][0]))
    app = create_app(recognizer, tmp_path / "gallery", tokens=Tokens.from_pairs({write: "write", read: "read"}))
    with serve(app) as base:
        files = {"file": ("w.npz", npz_bytes(sil=walks[name][0]), "application/octet-stream")}
        headers = {"Authorization": f"Bearer {write}"}
        assert (
            httpx.post(f"{base}/api/v1/enroll", data={"subject": name}, files=files, headers=headers).status_code == 201
        )
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(base + "/")
                expect(page.locator("#token-form")).to_be_visible()
                expect(page.locator("#token-status.error")).to_contain_text("needs an access token")
                expect(page.locator("tr.subject-row")).to_have_count(0)

                page.fill("#token-input", "x" * 32)
                page.click("#token-submit")
                expect(page.locator("#token-status.error")).to_contain_text("refused")

                page.fill("#token-input", read)
                page.click("#token-submit")
                expect(page.locator("#token-form")).to_be_hidden()
                expect(page.locator("#model-info")).to_contain_text("gaitbase")
                expect(page.locator("tr.subject-row")).to_have_count(1)

                page.fill("#enroll-subject", "mallory")  # a read token may not enroll
                page.set_input_files("#enroll-file", str(walk_zip))
                page.click("#enroll-submit")
                expect(page.locator("#enroll-status.error")).to_contain_text("need a write token")

                page.reload()  # the token stays with the tab
                expect(page.locator("tr.subject-row")).to_have_count(1)
                expect(page.locator("#token-form")).to_be_hidden()
            finally:
                browser.close()
        listed = httpx.get(f"{base}/api/v1/subjects", headers=headers).json()["subjects"]
        assert [s["subject"] for s in listed] == [name]
