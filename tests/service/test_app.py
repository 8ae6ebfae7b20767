"""create_app: the page and its static files, JSON errors for unknown routes, model/gallery checks, env factory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from gaitforge.retrieval import Gallery
from gaitforge.service import ServiceLimits, create_app
from gaitforge.service.app import ENV_CONFIG, STATIC_DIR, app_from_environment
from tests.service.common import error_of, npy_bytes, open_client


def test_page_is_self_contained(recognizer, tmp_path: Path) -> None:
    with open_client(create_app(recognizer, tmp_path / "g")) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "img-src 'self' data:" in csp
        for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert ref.startswith("/static/"), ref  # nothing from a CDN
            assert client.get(ref).status_code == 200
        for asset in STATIC_DIR.iterdir():
            assert not re.search(r"https?://", asset.read_text(encoding="utf-8")), asset.name
        ids = set(re.findall(r'id="([^"]+)"', page.text))
        script = client.get("/static/app.js").text
        assert set(re.findall(r'\$\("([^"]+)"\)', script)) <= ids  # every element the script uses exists
        error_of(client.get("/api/v1/nothing"), 404, "not_found", None)
        error_of(client.put("/api/v1/identify"), 405, "method_not_allowed", None)
        assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "gaitforge"


def test_gallery_of_another_model_is_refused(recognizer, tmp_path: Path) -> None:
    Gallery.create(tmp_path / "g", dim=recognizer.dim + 1).close()
    with pytest.raises(ValueError, match="expected dim"):
        create_app(recognizer, tmp_path / "g")


def test_missing_model_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        create_app(tmp_path / "no_run", tmp_path / "g")


def test_gallery_is_created_with_the_model_and_closed_at_shutdown(recognizer, tmp_path: Path) -> None:
    app = create_app(recognizer, tmp_path / "g")
    with open_client(app) as client:
        assert client.get("/api/v1/health").json() == {"status": "ok", "sequences": 0}
        walk = np.zeros((6, 64, 64), np.uint8)
        walk[:, 10:50, 25:40] = 255
        files = {"file": ("w.npy", npy_bytes(walk), "application/octet-stream")}
        empty = client.post("/api/v1/identify", files=files).json()["probes"][0]
        assert empty["matches"] == [] and empty["known"] is None
        gallery = app.state.service.gallery
        gallery.enroll("x", np.ones(recognizer.dim, np.float32))
    with pytest.raises(ValueError, match="closed"):
        gallery.identify(np.ones(recognizer.dim, np.float32))
    with Gallery.open(tmp_path / "g") as reopened:
        assert reopened.model["model"] == "gaitbase" and len(reopened) == 1


def test_app_from_environment(service_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    with pytest.raises(ValueError, match=ENV_CONFIG):
        app_from_environment()
    config = {"model": str(service_run), "gallery": str(tmp_path / "g"), "limits": {"max_frames": 7}}
    monkeypatch.setenv(ENV_CONFIG, json.dumps(config))
    app = app_from_environment()
    assert app.state.service.limits == ServiceLimits(max_frames=7)
    app.state.service.close()
