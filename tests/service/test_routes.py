"""The /api/v1 endpoints on a micro trained model: enroll, identify, list, show, delete, info, health."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.retrieval import Gallery
from gaitforge.service import ServiceLimits, create_app
from tests.service.common import error_of, npy_bytes, npz_bytes, open_client, upload, zip_bytes

API = "/api/v1"


@pytest.fixture(scope="module")
def gallery_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("routes") / "gallery"


@pytest.fixture(scope="module")
def client(recognizer, gallery_dir: Path):
    with open_client(create_app(recognizer, gallery_dir, limits=ServiceLimits())) as c:
        yield c


def decode_thumbnail(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    img = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None
    return img


def enroll(client, subject: str, frames: np.ndarray, kind: str = "zip", **fields: str):
    data = {"zip": zip_bytes(frames), "npz": npz_bytes(sil=frames), "npy": npy_bytes(frames)}[kind]
    return client.post(f"{API}/enroll", data={"subject": subject, **fields}, files=upload(f"walk.{kind}", data))


def test_enroll_identify_list_show_delete(client, walks: dict[str, list[np.ndarray]]) -> None:
    names = sorted(walks)[:3]
    ids = {}
    for name in names:  # two sequences per subject, through two upload kinds
        first = enroll(client, name, walks[name][0], "zip")
        second = enroll(client, name, walks[name][1], "npz")
        assert first.status_code == second.status_code == 201, first.text + second.text
        body = second.json()
        assert body["subject"] == name and len(body["sequence_ids"]) == 1 and body["replaced"] is False
        seq = body["sequences"][0]
        assert seq["frames"] == 10 and seq["name"] == "walk.npz"
        assert decode_thumbnail(seq["thumbnail"]).shape[0] == 48
        ids[name] = first.json()["sequence_ids"] + body["sequence_ids"]
    assert len({i for v in ids.values() for i in v}) == 6

    listed = client.get(f"{API}/subjects").json()
    assert listed["total"] == 3 and [s["subject"] for s in listed["subjects"]] == names
    assert all(s["sequences"] == 2 for s in listed["subjects"])
    page = client.get(f"{API}/subjects", params={"offset": 1, "limit": 1}).json()
    assert page["total"] == 3 and [s["subject"] for s in page["subjects"]] == names[1:2]

    # the exact frames of an enrolled sequence: that sequence, at distance ~0, ranked first
    target = names[1]
    res = client.post(f"{API}/identify", data={"k": "2"}, files=upload("probe.npy", npy_bytes(walks[target][0])))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["k"] == 2 and body["threshold"] is None and len(body["probes"]) == 1
    probe = body["probes"][0]
    assert probe["name"] == "probe.npy" and probe["frames"] == 10 and probe["known"] is None
    decode_thumbnail(probe["thumbnail"])
    matches = probe["matches"]
    assert [m["rank"] for m in matches] == [1, 2]
    assert matches[0]["subject"] == target and matches[0]["sequence_id"] == ids[target][0]
    assert matches[0]["distance"] == pytest.approx(0.0, abs=1e-3)
    assert matches[0]["distance"] <= matches[1]["distance"] and matches[1]["subject"] != target
    assert matches[0]["provenance"]["upload"] == "walk.zip" and "thumbnail" not in matches[0]["provenance"]
    for m in matches:
        decode_thumbnail(m["thumbnail"])

    shown = client.get(f"{API}/subjects/{target}").json()
    assert [s["sequence_id"] for s in shown["sequences"]] == ids[target]
    assert all(s["thumbnail"].startswith("data:image/png") for s in shown["sequences"])

    gone = client.delete(f"{API}/subjects/{target}")
    assert gone.status_code == 200 and gone.json() == {
        "subject": target,
        "removed_sequences": 2,
        "gallery_sequences": 4,
    }
    res = client.post(f"{API}/identify", data={"k": "5"}, files=upload("probe.npy", npy_bytes(walks[target][0])))
    left = res.json()["probes"][0]["matches"]  # the deleted subject is gone; the others, nearest first
    assert sorted(m["subject"] for m in left) == sorted(set(names) - {target})
    assert [m["distance"] for m in left] == sorted(m["distance"] for m in left)
    error_of(client.delete(f"{API}/subjects/{target}"), 404, "unknown_subject", "subject")
    error_of(client.get(f"{API}/subjects/{target}"), 404, "unknown_subject", "subject")


def test_replace_and_raw_frames(client, walks: dict[str, list[np.ndarray]]) -> None:
    name = sorted(walks)[4]
    assert enroll(client, name, walks[name][2]).status_code == 201
    replaced = enroll(client, name, walks[name][3], "npy", replace="true")
    assert replaced.status_code == 201 and replaced.json()["replaced"] is True
    assert (
        client.get(f"{API}/subjects/{name}").json()["sequences"][0]["sequence_id"] == replaced.json()["sequence_ids"][0]
    )
    # frames that are not pretreated (a walker on a larger canvas) are pretreated by the service
    canvas = np.zeros((10, 120, 90), np.uint8)
    canvas[:, 20:84, 13:77] = walks[name][4]
    res = enroll(client, "raw frames", canvas)
    assert res.status_code == 201 and res.json()["sequences"][0]["frames"] == 10
    client.delete(f"{API}/subjects/raw frames")


def test_threshold_gives_known_and_unknown(client, walks: dict[str, list[np.ndarray]]) -> None:
    name = sorted(walks)[5]
    assert enroll(client, name, walks[name][0]).status_code == 201
    gallery: Gallery = client.app.state.service.gallery
    gallery.threshold = 1e-3
    try:
        same = client.post(f"{API}/identify", files=upload("p.npy", npy_bytes(walks[name][0]))).json()
        other = client.post(f"{API}/identify", files=upload("p.npy", npy_bytes(walks[name][5]))).json()
        assert same["threshold"] == pytest.approx(1e-3)
        assert same["probes"][0]["known"] is True and other["probes"][0]["known"] is False
    finally:
        gallery.threshold = None


def test_info_health_and_provenance_stays_json(client, recognizer, gallery_dir: Path) -> None:
    info = client.get(f"{API}/info").json()
    assert info["dim"] == recognizer.dim and info["metric"] == recognizer.metric
    assert info["model"]["name"] == "gaitbase" and info["model"]["modalities"] == ["sil"]
    assert info["model"]["checkpoint"].startswith("ckpt-") and "/" not in info["model"]["checkpoint"]
    assert info["gallery"]["name"] == gallery_dir.name
    assert info["gallery"]["sequences"] == client.get(f"{API}/health").json()["sequences"]
    assert info["limits"] == ServiceLimits().to_dict()
    health = client.get(f"{API}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_video_uploads_one_sequence_per_walker(client, tmp_path: Path) -> None:
    from gaitforge.synth.video import SceneConfig, make_synthetic_video

    path = tmp_path / "street.mp4"
    scene = SceneConfig(
        width=320, height=240, frames=40, fps=10.0, n_people=2, seed=0, camera_distance_m=7.0, depth_range_m=(-1.0, 2.0)
    )
    make_synthetic_video(path, scene)
    video = path.read_bytes()
    files = upload("street.mp4", video, "video/mp4")
    err = error_of(
        client.post(f"{API}/enroll", data={"subject": "walkers"}, files=files), 422, "several_tracks", "track"
    )
    assert "2 people" in err["message"]
    error_of(
        client.post(f"{API}/enroll", data={"subject": "walkers", "track": "99"}, files=files),
        422,
        "unknown_track",
        "track",
    )
    both = client.post(f"{API}/enroll", data={"subject": "walkers", "all_tracks": "true"}, files=files)
    assert both.status_code == 201, both.text
    seqs = both.json()["sequences"]
    assert len(seqs) == 2 and all(s["name"].startswith("street.mp4#track") for s in seqs)
    one = client.post(f"{API}/enroll", data={"subject": "walker one", "track": "1"}, files=files)
    assert one.status_code == 201 and [s["name"] for s in one.json()["sequences"]] == ["street.mp4#track1"]
    found = client.post(f"{API}/identify", files=files).json()
    assert len(found["probes"]) == 2
    for probe in found["probes"]:
        assert probe["matches"][0]["distance"] == pytest.approx(0.0, abs=1e-3)
        assert probe["matches"][0]["provenance"]["kind"] == "video"
    for name in ("walkers", "walker one"):
        assert client.delete(f"{API}/subjects/{name}").status_code == 200
