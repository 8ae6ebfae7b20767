"""``gaitforge watch``: events, identification as tracks grow, annotated output, dropped and silent sources, Ctrl-C."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.preprocess.video import probe_video, write_video
from gaitforge.preprocess.video.live import LiveOptions
from gaitforge.preprocess.video.sources import SourceError, SourceLost, SourceSpec, parse_source
from gaitforge.preprocess.video.watch import Watcher, WatchOptions, _Buffer
from gaitforge.synth.video import SceneConfig, make_synthetic_video

SCENE = SceneConfig(
    width=320, height=240, frames=60, fps=10.0, n_people=2, seed=2, camera_distance_m=7.0, depth_range_m=(-1.0, 1.5)
)


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("watch") / "street.mp4"
    make_synthetic_video(path, SCENE)
    return path


@pytest.fixture(scope="module")
def empty_street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 frames of a static textured scene with sensor noise and nobody in it."""
    rng = np.random.default_rng(0)
    bg = np.clip(rng.normal(140, 30, (120, 160, 3)), 0, 255)
    frames = [np.clip(bg + rng.normal(0, 2, bg.shape), 0, 255).astype(np.uint8) for _ in range(30)]
    path = tmp_path_factory.mktemp("watch_empty") / "empty.mp4"
    write_video(path, frames, 10.0)
    return path


class _Identifier:
    """Stands in for a gallery: 'names' a track by its buffer length parity, records the calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, masks: list[np.ndarray]) -> dict[str, Any]:
        assert all(m.dtype == np.uint8 and m.ndim == 2 for m in masks)
        self.calls.append(len(masks))
        return {"subject": "alice", "distance": 0.1, "known": True, "frames": len(masks), "matches": []}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_events_identification_and_annotated_video(street: Path, tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    ident = _Identifier()
    out = tmp_path / "annotated.mp4"
    opts = WatchOptions(realtime=False, min_frames=8, reidentify_every=10, live=LiveOptions(max_track_frames=40))
    summary = Watcher(parse_source(str(street)), opts, identifier=ident, emit=events.append, annotate=out).run()
    kinds = [e["event"] for e in events]
    assert kinds[0] == "source_opened" and kinds[-1] == "stopped"
    assert summary.stopped == "end_of_source"
    assert summary.frames_read == summary.frames_processed == SCENE.frames and summary.frames_dropped == 0
    assert summary.tracks_confirmed >= 2 and kinds.count("track_started") == summary.tracks_confirmed
    first = [e for e in events if e["event"] == "identified"]
    assert len(first) >= 2 and all(e["subject"] == "alice" and e["latency_s"] is not None for e in first)
    assert "reidentified" in kinds  # identified again as the track grew
    assert all(n == 8 or (n % 10 == 0 and 10 <= n <= 60) for n in ident.calls)  # few distinct input sizes
    assert max(ident.calls) > 8
    assert len(summary.first_identification) == len(first)
    assert kinds.count("track_ended") >= summary.tracks_confirmed
    info = probe_video(out)
    assert (info.width, info.height) == (SCENE.width, SCENE.height) and info.frames == SCENE.frames
    assert _leftovers(tmp_path) == []
    json.dumps(summary.as_dict())  # JSON-ready


def test_buffer_drops_the_oldest_frames_when_processing_falls_behind() -> None:
    stop = threading.Event()
    buf = _Buffer(4, drop=True)
    for i in range(10):
        buf.put(i, stop)
    assert buf.dropped == 6
    assert [buf.get(0.01) for _ in range(5)] == [6, 7, 8, 9, None]


class _FakeSource:
    def __init__(self, n: int, lose: bool) -> None:
        self.fps, self.width, self.height = 10.0, 64, 48
        self.n, self.lose, self.decoded, self.corrupt = n, lose, 0, 0

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        for i in range(self.n):
            self.decoded += 1
            yield i / 10, np.full((48, 64, 3), 120, np.uint8)
        if self.lose:
            raise SourceLost("cam: stream lost after 5 frames (I/O error)")

    def ended_early(self) -> None:
        return None

    def close(self) -> None:
        pass


def test_a_webcam_that_disappears_is_reopened_with_backoff_then_given_up() -> None:
    """Frames, then the device is lost; one reopening fails, the next works, then it is lost for good."""
    plan = [_FakeSource(5, lose=True), SourceError("cam: webcam not found"), _FakeSource(5, lose=True)]
    plan += [SourceError("cam: webcam not found")] * 5
    opened: list[Any] = []

    def opener(spec: SourceSpec, a: float, b: float) -> Any:
        item = plan[len(opened)]
        opened.append(item)
        if isinstance(item, Exception):
            raise item
        return item

    events: list[dict[str, Any]] = []
    opts = WatchOptions(reconnect_attempts=2, backoff_s=0.01, backoff_max_s=0.02)
    spec = SourceSpec("webcam", "/dev/video0", "v4l2", "cam")
    summary = Watcher(spec, opts, emit=events.append, opener=opener).run()
    kinds = [e["event"] for e in events]
    assert summary.stopped == "source_failed" and summary.frames_read == 10
    assert summary.reconnects == 1
    assert kinds.count("source_lost") == 2 and "reconnected" in kinds
    waits = [e["wait_s"] for e in events if e["event"] == "reconnecting"]
    assert waits == [0.01, 0.02, 0.01, 0.02]  # doubling, capped, and reset after frames came again
    assert "cam: webcam not found" in summary.message and "reconnection attempts" in summary.message
    assert "\n" not in summary.message


def _silent_server() -> tuple[socket.socket, list[socket.socket]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, held


def test_cli_a_stream_that_never_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server, held = _silent_server()
    port = server.getsockname()[1]
    out = tmp_path / "never.mp4"
    try:
        rc = main(["watch", f"http://127.0.0.1:{port}/cam", "--timeout", "0.5", "--reconnect", "1", "--annotate",
                   str(out)])  # fmt: skip
    finally:
        server.close()
        for c in held:
            c.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and "did not answer within 0.5 s" in err[0] and "after 1 reconnection attempts" in err[0]
    assert len(held) == 2  # the first try and one reconnection
    assert not out.exists() and _leftovers(tmp_path) == []


def test_cli_a_video_with_nobody_in_it(empty_street: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "empty-annotated.mp4"
    rc = main(["watch", str(empty_street), "--fast", "--annotate", str(out), "--summary", str(tmp_path / "s.json")])
    text = capsys.readouterr().out
    assert rc == 0 and "no person was tracked in this video" in text
    assert probe_video(out).frames == 30
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["tracks_confirmed"] == 0 and s["frames_processed"] == 30


def test_cli_truncated_and_corrupt_files_say_so(
    street: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import av

    avi = tmp_path / "street.avi"
    frames = [f.to_ndarray(format="rgb24") for f in av.open(str(street)).decode(video=0)]
    write_video(avi, frames, 10.0, codec="mpeg4")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    rc = main(["watch", str(cut), "--fast", "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rc == 0
    warnings = [e["message"] for e in lines if e["event"] == "source_warning"]
    assert len(warnings) == 1 and "ended early" in warnings[0] and "of 60 declared frames" in warnings[0]
    assert lines[-1]["event"] == "summary" and lines[-1]["frames_processed"] < 60

    with av.open(str(street)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    data = bytearray(street.read_bytes())
    pos, size = packets[30]
    data[pos : pos + size] = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes()
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(bytes(data))
    rc = main(["watch", str(bad), "--fast"])
    text = capsys.readouterr().out
    assert rc == 0 and "corrupt packet(s) skipped" in text


def test_ctrl_c_stops_cleanly_and_keeps_a_complete_video(street: Path, tmp_path: Path) -> None:
    out = tmp_path / "stopped.mp4"
    raised, events = [], []

    def emit(e: dict[str, Any]) -> None:
        events.append(e)
        if e["event"] == "track_started" and not raised:
            raised.append(e)
            raise KeyboardInterrupt

    summary = Watcher(parse_source(str(street)), WatchOptions(realtime=False), emit=emit, annotate=out).run()
    assert summary.stopped == "interrupted" and 0 < summary.frames_processed < SCENE.frames
    written = [e["frames"] for e in events if e["event"] == "annotated"]
    assert len(written) == 1 and summary.frames_processed - 1 <= written[0] <= summary.frames_processed
    assert probe_video(out).frames == written[0]  # finished and readable
    assert events[-1]["event"] == "stopped" and events[-1]["reason"] == "interrupted"
    assert _leftovers(tmp_path) == []


def test_a_failure_leaves_no_half_written_video(street: Path, tmp_path: Path) -> None:
    out = tmp_path / "failed.mp4"

    def emit(e: dict[str, Any]) -> None:
        if e["event"] == "track_started":
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Watcher(parse_source(str(street)), WatchOptions(realtime=False), emit=emit, annotate=out).run()
    assert not out.exists() and _leftovers(tmp_path) == []


def test_cli_usage_errors(street: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", str(street), "--model", "run"]) == 2
    assert "--model and --gallery go together" in capsys.readouterr().err
    assert main(["watch", "rtsp://127.0.0.1:9/x", "--loop"]) == 2
    assert main(["watch", "/no/such/video.mp4"]) == 2
    assert "video file not found" in capsys.readouterr().err


def test_cli_watch_identifies_against_a_real_gallery(street: Path, micro_world: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from gaitforge.engine.trainer import train
    from tests.conftest import micro_config

    run = tmp_path / "run"
    train(micro_config(micro_world, iterations=2), run, progress=False)
    gallery = tmp_path / "gallery"
    assert main(["-q", "enroll", str(street), "--model", str(run), "--gallery", str(gallery), "--subject",
                 "walkers", "--all-tracks"]) == 0  # fmt: skip
    capsys.readouterr()
    rc = main(["watch", str(street), "--fast", "--json", "--model", str(run), "--gallery", str(gallery),
               "--min-frames", "10"])  # fmt: skip
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rc == 0
    found = [e for e in events if e["event"] == "identified"]
    assert found and all(e["subject"] == "walkers" and e["frames"] >= 1 for e in found)
    assert events[-1]["event"] == "summary" and events[-1]["identifications"] >= len(found)
