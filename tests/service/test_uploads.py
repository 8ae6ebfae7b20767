"""Every bound and every bad input of the upload endpoints answers a 4xx JSON error naming the field and limit."""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from gaitforge.service import ServiceError, ServiceLimits, create_app
from tests.service.common import error_of, npy_bytes, npz_bytes, open_client, png_bytes, upload, zip_bytes

API = "/api/v1"
LIMITS = ServiceLimits(
    max_upload_bytes=200_000,
    max_frames=20,
    max_archive_members=30,
    max_uncompressed_bytes=300_000,
    max_frame_side=256,
    max_video_pixels=160 * 120,
    max_k=10,
    max_subject_length=16,
    max_queue=1,
)


@pytest.fixture(scope="module")
def client(recognizer, tmp_path_factory: pytest.TempPathFactory):
    with open_client(create_app(recognizer, tmp_path_factory.mktemp("uploads") / "gallery", limits=LIMITS)) as c:
        yield c


@pytest.fixture(scope="module")
def walk(walks: dict[str, list[np.ndarray]]) -> np.ndarray:
    return walks[sorted(walks)[0]][0]  # uint8 [10, 64, 64]


def identify(client, name: str, data: bytes, content_type: str = "application/octet-stream", **fields: str):
    return client.post(f"{API}/identify", data=fields, files=upload(name, data, content_type))


# -- request size --------------------------------------------------------------------------------------------


def test_declared_body_size_over_the_limit(client) -> None:
    res = identify(client, "big.npy", b"\0" * 250_000)
    err = error_of(res, 413, "upload_too_large", "file")
    assert err["limit"] == 200_000 and "200000" in err["message"]


def _multipart_head(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.npy"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


async def _stream(app, chunks: int, chunk_size: int = 1 << 16) -> tuple[int, list[dict]]:
    """POST a chunked body (no Content-Length) straight to the ASGI app; returns (bytes it read, messages sent)."""
    boundary = "gaitforge-test-boundary"
    body = [_multipart_head(boundary)] + [b"\0" * chunk_size] * chunks
    read, sent = 0, []

    async def receive() -> dict:
        nonlocal read
        if not body:
            return {"type": "http.request", "body": f"\r\n--{boundary}--\r\n".encode(), "more_body": False}
        chunk = body.pop(0)
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{API}/identify",
        "raw_path": f"{API}/identify".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    return read, sent


def test_streamed_body_is_cut_off_at_the_limit(client) -> None:
    read, sent = asyncio.run(_stream(client.app, chunks=100))  # 6.5 MB offered, 200 kB allowed
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert read <= LIMITS.max_upload_bytes + (1 << 16) + 200  # stopped reading at the limit, not at the end
    assert b'"upload_too_large"' in b"".join(m.get("body", b"") for m in sent[1:])


# -- request shape -------------------------------------------------------------------------------------------


def test_request_shape_errors(client, walk: np.ndarray) -> None:
    error_of(client.post(f"{API}/identify", json={"file": "x"}), 415, "unsupported_media_type", "body")
    bad = client.post(f"{API}/identify", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    error_of(bad, 400, "invalid_multipart", "body")
    error_of(
        client.post(f"{API}/identify", data={"k": "3"}, files={"other": ("a.txt", b"x")}), 422, "unknown_field", "other"
    )
    error_of(client.post(f"{API}/identify", data={"k": "3"}), 415, "unsupported_media_type", "body")  # urlencoded
    error_of(client.post(f"{API}/identify", files={"k": ("k.txt", b"3")}, data={}), 422, "missing_field", "file")
    error_of(
        client.post(f"{API}/identify", data={"file": "text"}, files={"k": ("k.txt", b"3")}),
        422,
        "invalid_field",
        "file",
    )
    two = [("file", ("a.npy", npy_bytes(walk))), ("file", ("b.npy", npy_bytes(walk)))]
    error_of(client.post(f"{API}/identify", files=two), 400, "invalid_multipart", "body")


@pytest.mark.parametrize("k", ["0", "11", "abc", "-1"])
def test_k_is_bounded(client, walk: np.ndarray, k: str) -> None:
    err = error_of(identify(client, "p.npy", npy_bytes(walk), k=k), 422, "invalid_field", "k")
    if k == "11":
        assert err["limit"] == 10 and "1 to 10" in err["message"]


def test_subjects_page_size_is_bounded(client) -> None:
    err = error_of(client.get(f"{API}/subjects", params={"limit": 20000}), 422, "invalid_field", "limit")
    assert err["limit"] == 10000


@pytest.mark.parametrize(
    "name", ["", "../etc", "a/b", " lead", "trail ", "tab\there", "x" * 17, "-dash", "semi;colon", "new\nline"]
)
def test_subject_names_are_validated(client, walk: np.ndarray, name: str) -> None:
    res = client.post(f"{API}/enroll", data={"subject": name}, files=upload("w.npy", npy_bytes(walk)))
    err = error_of(res, 422, "missing_field" if name == "" else "invalid_subject", "subject")
    if len(name) == 17:
        assert err["limit"] == 16


def test_unicode_subject_names_are_fine(client, walk: np.ndarray) -> None:
    res = client.post(f"{API}/enroll", data={"subject": "José Ñ-2.b"}, files=upload("w.npy", npy_bytes(walk)))
    assert res.status_code == 201, res.text
    assert client.delete(f"{API}/subjects/José Ñ-2.b").status_code == 200
    error_of(client.delete(f"{API}/subjects/a b "), 422, "invalid_subject", "subject")


# -- file kinds and content types ----------------------------------------------------------------------------


def test_file_kind_and_content_type_checks(client, walk: np.ndarray) -> None:
    error_of(identify(client, "walk.txt", b"hello"), 415, "unsupported_media_type", "file")
    error_of(identify(client, "noext", b"hello"), 415, "unsupported_media_type", "file")
    error_of(identify(client, "walk.zip", zip_bytes(walk), "image/png"), 415, "unsupported_media_type", "file")
    error_of(identify(client, "walk.mp4", b"x" * 100, "text/plain"), 415, "unsupported_media_type", "file")
    error_of(identify(client, "walk.zip", b"GIF89a not a zip"), 415, "unsupported_format", "file")
    error_of(identify(client, "walk.npz", b"\x93NUMPY not a zip"), 415, "unsupported_format", "file")
    error_of(identify(client, "walk.zip", b"PK\x03\x04" + b"\0" * 200), 422, "invalid_archive", "file")
    assert identify(client, "walk.zip", zip_bytes(walk), "application/zip").status_code == 200
    assert identify(client, "walk.zip", zip_bytes(walk), "").status_code == 200  # no declared type: content decides


# -- silhouette archives -------------------------------------------------------------------------------------


def test_frame_count_limit(client, walk: np.ndarray) -> None:
    many = np.concatenate([walk, walk, walk])  # 30 frames > 20
    for name, data in (("w.zip", zip_bytes(many)), ("w.npz", npz_bytes(sil=many)), ("w.npy", npy_bytes(many))):
        err = error_of(identify(client, name, data), 413, "too_many_frames", "file")
        assert err["limit"] == 20 and "30 frames" in err["message"]
    assert identify(client, "w.zip", zip_bytes(np.concatenate([walk, walk]))).status_code == 200  # 20: allowed


def test_archive_member_limit(client, walk: np.ndarray) -> None:
    clutter = {f"notes/{i}.txt": b"x" for i in range(25)}  # 10 frames + 25 other members > 30
    err = error_of(identify(client, "w.zip", zip_bytes(walk, clutter)), 413, "too_many_members", "file")
    assert err["limit"] == 30
    ok = {f"notes/{i}.txt": b"x" for i in range(5)} | {"__MACOSX/._000.png": b"junk", ".DS_Store": b"junk"}
    assert identify(client, "w.zip", zip_bytes(walk, ok)).status_code == 200  # clutter is ignored


def test_zip_bomb_by_declared_size(client, walk: np.ndarray) -> None:
    bomb = zip_bytes(walk, {"zz.png": b"\0" * 400_000})  # ~400 kB of zeros deflate to ~400 bytes
    assert len(bomb) < 20_000
    err = error_of(identify(client, "w.zip", bomb), 413, "archive_too_large", "file")
    assert err["limit"] == 300_000 and "300000" in err["message"]
    npz = npz_bytes(sil=np.zeros((20, 256, 256), np.uint8))  # 1.3 MB of zeros, a few kB compressed
    error_of(identify(client, "w.npz", npz), 413, "archive_too_large", "file")


def _lying_zip(real: bytes, declared: int) -> bytes:
    """A one-member deflated ZIP whose headers declare ``declared`` uncompressed bytes for ``real``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("000.png", real)
    data = bytearray(buf.getvalue())
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def test_zip_bomb_with_lying_headers_is_never_inflated(client) -> None:
    real = png_bytes(np.zeros((8, 8), np.uint8)) + b"\0" * 2_000_000  # 2 MB behind a header that says 100 bytes
    res = identify(client, "w.zip", _lying_zip(real, 100))
    error_of(res, 422, "invalid_archive", "file")  # only the declared 100 bytes are inflated; the CRC then fails


def test_frame_side_limit_is_checked_before_decoding(client, walk: np.ndarray) -> None:
    wide = np.zeros((300, 40), np.uint8)
    err = error_of(identify(client, "w.zip", zip_bytes([wide])), 413, "frame_too_large", "file")
    assert err["limit"] == 256 and "40x300" in err["message"]
    # a PNG header claiming 100000 x 100000 pixels (a decompression bomb) is refused from its header alone
    ihdr = struct.pack(">II5B", 100_000, 100_000, 8, 0, 0, 0, 0)
    fake = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("000.png", fake)
    error_of(identify(client, "w.zip", buf.getvalue()), 413, "frame_too_large", "file")
    error_of(identify(client, "w.npy", npy_bytes(np.zeros((2, 300, 8), np.uint8))), 413, "frame_too_large", "file")


def test_bad_frames_and_arrays(client, walk: np.ndarray) -> None:
    error_of(identify(client, "w.zip", zip_bytes([], {"000.png": b"not a png"})), 422, "invalid_frame", "file")
    error_of(identify(client, "w.zip", zip_bytes([], {"a.txt": b"x"})), 422, "no_frames", "file")
    objects = io.BytesIO()
    np.savez(objects, sil=np.array([{"x": 1}], dtype=object))  # a pickled payload: never loaded
    error_of(identify(client, "w.npz", objects.getvalue()), 422, "invalid_array", "file")
    error_of(identify(client, "w.npz", npz_bytes(sil=walk.astype(np.float32))), 422, "invalid_array", "file")
    error_of(identify(client, "w.npz", npz_bytes(sil=walk[0])), 422, "invalid_array", "file")  # [H, W]
    error_of(identify(client, "w.npz", npz_bytes(a=walk, b=walk)), 422, "invalid_array", "file")
    error_of(identify(client, "w.npy", npy_bytes(walk)[:-100]), 422, "invalid_array", "file")  # truncated
    error_of(identify(client, "w.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': os}   "), 422, "invalid_array", "file")
    err = error_of(identify(client, "w.npy", npy_bytes(np.zeros_like(walk))), 422, "no_silhouette", "file")
    assert "10 frames" in err["message"]
    assert identify(client, "w.npz", npz_bytes(a=walk > 0)).status_code == 200  # one bool array, any name


# -- videos --------------------------------------------------------------------------------------------------


def _video(path: Path, size: tuple[int, int], frames: int) -> bytes:
    from gaitforge.preprocess.video import write_video

    write_video(path, [np.full((size[1], size[0], 3), 8 * i, np.uint8) for i in range(frames)], fps=10.0)
    return path.read_bytes()


def test_video_limits_and_bad_videos(client, tmp_path: Path) -> None:
    err = error_of(
        identify(client, "v.mp4", _video(tmp_path / "big.mp4", (192, 144), 4), "video/mp4"),
        413,
        "video_too_large",
        "file",
    )
    assert err["limit"] == 160 * 120 and "192x144" in err["message"]
    err = error_of(
        identify(client, "v.mp4", _video(tmp_path / "long.mp4", (64, 48), 30), "video/mp4"),
        413,
        "too_many_frames",
        "file",
    )
    assert err["limit"] == 20
    error_of(identify(client, "v.mp4", b"not a video" * 50, "video/mp4"), 422, "invalid_video", "file")
    error_of(
        identify(client, "v.mp4", _video(tmp_path / "empty.mp4", (64, 48), 12), "video/mp4"), 422, "no_person", "file"
    )


# -- load ----------------------------------------------------------------------------------------------------


def test_busy_server_answers_503(client, walk: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    state = client.app.state.service
    started, release = threading.Event(), threading.Event()

    def blocked(upload):
        started.set()
        release.wait(10)
        raise ServiceError(422, "test", "field 'file': held by the test", "file")

    monkeypatch.setattr(state, "embed_upload", blocked)
    first: dict = {}
    request = threading.Thread(
        target=lambda: first.update(
            r=client.post(f"{API}/enroll", data={"subject": "a"}, files=upload("w.npy", npy_bytes(walk)))
        )
    )
    request.start()
    try:
        assert started.wait(10)
        res = client.post(f"{API}/enroll", data={"subject": "b"}, files=upload("w.npy", npy_bytes(walk)))
        err = error_of(res, 503, "busy", None)
        assert err["limit"] == 1 and res.headers["retry-after"] == "1"
    finally:
        release.set()
        request.join(10)
    assert first["r"].status_code == 422
