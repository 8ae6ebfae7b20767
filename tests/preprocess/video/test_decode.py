"""Decoding: stride, time range, chosen frames, probing, and errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.preprocess.video import VideoDecodeError, iter_frames, probe_video, write_video
from gaitforge.preprocess.video.decode import ended_early


def _indices(path: Path, **kw: object) -> list[int]:
    out = []
    for i, frame in iter_frames(path, **kw):  # type: ignore[arg-type]
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)
        assert abs(float(frame.mean()) - 8 * i) < 2.0  # the frame really is frame i
        out.append(i)
    return out


def test_probe(counter_video: Path) -> None:
    info = probe_video(counter_video)
    assert (info.width, info.height, info.fps) == (64, 48, 10.0)
    assert info.frames in (0, 30)


def test_all_frames_stride_and_time_range(counter_video: Path) -> None:
    assert _indices(counter_video) == list(range(30))
    assert _indices(counter_video, stride=4) == list(range(0, 30, 4))
    # [1.0 s, 2.0 s) at 10 fps is frames 10..19; the stride counts from the range's first frame
    assert _indices(counter_video, start_s=1.0, end_s=2.0) == list(range(10, 20))
    assert _indices(counter_video, stride=3, start_s=1.05) == list(range(11, 30, 3))
    assert _indices(counter_video, frames={3, 7, 25}) == [3, 7, 25]


def test_bad_arguments(counter_video: Path) -> None:
    with pytest.raises(ValueError, match="stride"):
        list(iter_frames(counter_video, stride=0))
    with pytest.raises(ValueError, match="empty time range"):
        list(iter_frames(counter_video, start_s=2.0, end_s=1.0))


def test_missing_and_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        probe_video(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(VideoDecodeError, match="junk.mp4"):
        list(iter_frames(junk))
    with pytest.raises(VideoDecodeError, match="not a file"):
        probe_video(tmp_path)


def test_write_video_checks_and_is_atomic(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", [np.zeros((33, 32, 3), np.uint8)], fps=10)
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "f.mp4", [np.zeros((32, 32, 3), np.float32)], fps=10)
    with pytest.raises(ValueError, match="suffix"):
        write_video(tmp_path / "f.webmx", [np.zeros((32, 32, 3), np.uint8)], fps=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # failed writes leave nothing behind
    n = write_video(tmp_path / "ok.mp4", [np.full((32, 32, 3), 100, np.uint8)] * 5, fps=5)
    assert n == 5 and [i for i, _ in iter_frames(tmp_path / "ok.mp4")] == list(range(5))


@pytest.mark.parametrize("suffix,codec", [(".avi", "mpeg4"), (".mkv", "libx264"), (".mp4", "libx264")])
def test_a_truncated_file_is_read_to_where_it_ends_and_says_so(
    tmp_path: Path, suffix: str, codec: str, caplog: pytest.LogCaptureFixture
) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(40)]
    full = tmp_path / f"full{suffix}"
    write_video(full, frames, 10.0, codec=codec)
    with caplog.at_level("WARNING", logger="gaitforge.preprocess.video.decode"):
        assert len(list(iter_frames(full))) == 40
    assert not [r for r in caplog.records if "ended early" in r.getMessage()]
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.5)])
    caplog.clear()
    try:
        with caplog.at_level("WARNING", logger="gaitforge.preprocess.video.decode"):
            got = len(list(iter_frames(cut)))
    except VideoDecodeError as exc:  # an MP4 whose index sits at its end cannot be opened at all: named, one line
        assert "cut.mp4" in str(exc) and "\n" not in str(exc)
        return
    notes = [r.getMessage() for r in caplog.records if "ended early" in r.getMessage()]
    assert 0 < got < 40 and len(notes) == 1 and f"decoded {got}" in notes[0] and str(cut) in notes[0]


def test_ended_early_tolerates_rounding_and_reads_the_duration_without_a_count() -> None:
    assert ended_early("v.avi", 99, 100, 0.0, 10.0) is None
    assert "decoded 50 of 100" in ended_early("v.avi", 50, 100, 0.0, 10.0)
    assert ended_early("v.mkv", 100, 0, 10.0, 10.0) is None
    assert "of a declared 10.00 s" in ended_early("v.mkv", 50, 0, 10.0, 10.0)
    assert ended_early("v.mkv", 5, 0, 0.0, 10.0) is None  # nothing declared: nothing to compare
