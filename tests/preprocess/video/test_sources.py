"""Live sources: parsing, a stream that never answers, truncated and corrupt files."""

from __future__ import annotations

import socket
import sys
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from gaitforge.preprocess.video import write_video
from gaitforge.preprocess.video.sources import SourceError, open_source, parse_source

N = 40


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [np.clip(rng.normal(100 + 3 * i, 20, (48, 64, 3)), 0, 255).astype(np.uint8) for i in range(N)]


def _truncate(path: Path, fraction: float) -> Path:
    out = path.with_name("cut-" + path.name)
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def _faststart_mp4(path: Path) -> Path:
    """An MP4 whose index (moov) is at the front, as phones and web videos often are: it opens when truncated."""
    import av

    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=Fraction(10))
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for f in _frames():
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _read_all(path: Path) -> tuple[int, object]:
    src = open_source(parse_source(str(path)), 5.0, 5.0)
    try:
        n = sum(1 for _ in src.frames())
    finally:
        src.close()
    return n, src


def test_parse_source_kinds(tmp_path: Path) -> None:
    f = tmp_path / "a.mp4"
    f.write_bytes(b"x")
    assert parse_source(str(f)).kind == "file" and not parse_source(str(f)).live
    s = parse_source("rtsp://cam.local/stream1")
    assert s.kind == "stream" and s.live
    assert parse_source("https://example.org/live.m3u8").kind == "stream"
    if sys.platform.startswith("linux"):
        w = parse_source("0")
        assert (w.kind, w.url, w.format) == ("webcam", "/dev/video0", "v4l2")
    with pytest.raises(FileNotFoundError, match="nothere.mp4"):
        parse_source(str(tmp_path / "nothere.mp4"))
    with pytest.raises(ValueError, match="ftp"):
        parse_source("ftp://host/video")


def test_a_stream_that_never_answers_times_out() -> None:
    """A server that accepts the connection and then says nothing: the open gives up after its timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            open_source(parse_source(f"http://127.0.0.1:{port}/live"), open_timeout_s=0.5, read_timeout_s=0.5)
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(60.0)  # a guard against a hang, far above the 0.5 s timeout
    try:
        assert not worker.is_alive(), "open_source hung on a silent server"
        assert len(outcome) == 1 and isinstance(outcome[0], SourceError)
        msg = str(outcome[0])
        assert f"127.0.0.1:{port}" in msg and "did not answer within 0.5 s" in msg and "\n" not in msg
        assert held, "the server was never contacted"
    finally:
        server.close()
        for c in held:
            c.close()


def test_a_missing_webcam_is_one_clear_line() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Video4Linux2 devices")
    with pytest.raises(SourceError, match=r"/dev/video97: webcam (not found|cannot be opened)"):
        open_source(parse_source("/dev/video97"), 1.0, 1.0)


@pytest.mark.parametrize("suffix,codec", [(".avi", "mpeg4"), (".mkv", "libx264")])
def test_truncated_files_are_read_and_say_they_ended_early(tmp_path: Path, suffix: str, codec: str) -> None:
    full = tmp_path / f"full{suffix}"
    write_video(full, _frames(), 10.0, codec=codec)
    n, src = _read_all(full)
    assert n == N and src.ended_early() is None
    n_cut, cut = _read_all(_truncate(full, 0.5))
    assert 0 < n_cut < N
    msg = cut.ended_early()
    assert msg is not None and "ended early" in msg and f"decoded {n_cut}" in msg and "cut-full" in msg


def test_truncated_mp4_with_its_index_in_front(tmp_path: Path) -> None:
    full = _faststart_mp4(tmp_path / "fast.mp4")
    n, src = _read_all(full)
    assert n == N and src.ended_early() is None
    n_cut, cut = _read_all(_truncate(full, 0.5))
    assert 0 < n_cut < N
    assert f"decoded {n_cut} of {N} declared frames" in cut.ended_early()


def test_truncated_mp4_with_its_index_at_the_end_cannot_be_opened(tmp_path: Path) -> None:
    full = tmp_path / "plain.mp4"
    write_video(full, _frames(), 10.0)
    with pytest.raises(SourceError, match="cut-plain.mp4: video file cannot be opened"):
        open_source(parse_source(str(_truncate(full, 0.6))))


def test_a_corrupt_frame_in_the_middle_is_skipped(tmp_path: Path) -> None:
    full = tmp_path / "c.mp4"
    write_video(full, _frames(), 10.0)
    import av

    with av.open(str(full)) as c:  # where frame 20's packet lies in the file
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    pos, size = packets[20]
    data = bytearray(full.read_bytes())
    data[pos : pos + size] = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes()
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(bytes(data))
    n, src = _read_all(bad)  # no exception: the bad packet is skipped
    assert n >= N // 2
    assert src.corrupt >= 1 and n < N  # the damaged packet is counted and its frame is missing
