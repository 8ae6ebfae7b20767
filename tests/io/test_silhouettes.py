"""The shared input checks: headers bounded before decoding, blank and short walks refused, regular files only."""

from __future__ import annotations

import os
import pickle
import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.io.silhouettes import (
    InputLimits,
    InputRefused,
    prepare_silhouettes,
    read_npy_frames,
    read_png_frames,
)
from gaitforge.preprocess.silhouette import pretreat_sequence

LIMITS = InputLimits()


def walk(n: int, h: int = 120, w: int = 90) -> np.ndarray:
    """``n`` frames with a walker-sized white block that moves a little."""
    x = np.zeros((n, h, w), np.uint8)
    for i in range(n):
        x[i, 10:110, 30 + i % 5 : 60 + i % 5] = 255
    return x


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and an IHDR chunk declaring ``width x height`` (8-bit grey), then an empty IDAT and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_blank_frames_are_refused_naming_the_source(tmp_path: Path) -> None:
    np.save(tmp_path / "blank.npy", np.zeros((30, 64, 64), np.uint8))
    blank = read_npy_frames(tmp_path / "blank.npy", LIMITS)
    with pytest.raises(InputRefused, match="blank.npy: none of the 30 frames holds a silhouette") as info:
        prepare_silhouettes(blank, str(tmp_path / "blank.npy"), LIMITS)
    assert info.value.code == "no_silhouette" and not info.value.too_large
    with pytest.raises(InputRefused, match="none of the 20 frames"):
        prepare_silhouettes(np.zeros((20, 240, 320), np.uint8), "raw", LIMITS)  # raw frames: pretreated first


def test_a_16_bit_png_read_as_black_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "walk16"
    folder.mkdir()
    for i, frame in enumerate(walk(8)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), (frame > 0).astype(np.uint16) * 200)  # 16-bit, values < 256
    frames, _ = read_png_frames(folder, LIMITS)
    assert max(int(f.max()) for f in frames) == 0  # OpenCV keeps the high byte: black
    with pytest.raises(InputRefused, match="16-bit PNG") as info:
        prepare_silhouettes(frames, str(folder), LIMITS)
    assert info.value.code == "no_silhouette" and str(folder) in info.value.message


@pytest.mark.parametrize("n", [1, 3])
def test_short_walks_are_refused_with_the_minimum(n: int) -> None:
    with pytest.raises(InputRefused, match=f"only {n} of {n} frames hold a silhouette; at least 5") as info:
        prepare_silhouettes(walk(n), "short", LIMITS)
    assert info.value.code == "too_few_frames" and info.value.limit == 5
    assert prepare_silhouettes(walk(n), "short", InputLimits(min_frames=1)).shape == (n, 64, 64)


def test_five_frames_pass_and_come_out_pretreated() -> None:
    x = walk(5)
    np.testing.assert_array_equal(prepare_silhouettes(x, "ok", LIMITS), pretreat_sequence(x))
    pretreated = pretreat_sequence(x)
    assert prepare_silhouettes(pretreated, "ok", LIMITS) is not None  # square 64 px: kept as it is
    np.testing.assert_array_equal(prepare_silhouettes(pretreated, "ok", LIMITS), pretreated)


def test_huge_pngs_are_refused_from_their_header_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "huge"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(png_header_only(30_000, 30_000))

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a frame over the limit was decoded")

    monkeypatch.setattr(cv2, "imread", no_decoding)
    with pytest.raises(InputRefused, match=r"0\.png is 30000x30000 px; frames must be 1 to 1024 px") as info:
        read_png_frames(folder, LIMITS)
    assert info.value.code == "frame_too_large" and info.value.too_large and info.value.limit == 1024
    with pytest.raises(InputRefused, match="3 frames; the limit is 2 frames per sequence"):
        read_png_frames(folder, InputLimits(max_frames=2, min_frames=1))


def test_npy_limits_come_from_the_header(tmp_path: Path) -> None:
    np.save(tmp_path / "wide.npy", np.zeros((2, 8, 1500), np.uint8))
    with pytest.raises(InputRefused, match="wide.npy's frame is 1500x8 px"):
        read_npy_frames(tmp_path / "wide.npy", LIMITS)
    np.save(tmp_path / "long.npy", np.zeros((11, 8, 8), np.uint8))
    with pytest.raises(InputRefused, match="11 frames; the limit is 10"):
        read_npy_frames(tmp_path / "long.npy", InputLimits(max_frames=10))


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (lambda: pickle.dumps({"sil": 1}), "a pickle"),
        (lambda: b"PK\x03\x04 an npz renamed", "a ZIP archive"),
        (lambda: b"hello world, not an array", "not .npy"),
    ],
)
def test_not_npy_says_what_was_expected_not_how_to_load_unsafely(tmp_path: Path, content, what: str) -> None:
    (tmp_path / "x.npy").write_bytes(content())
    with pytest.raises(InputRefused) as info:
        read_npy_frames(tmp_path / "x.npy", LIMITS)
    message = str(info.value)
    assert what in message and "expected uint8 silhouettes [T, H, W] written by numpy.save" in message
    assert "allow_pickle" not in message and "unsafe" not in message and "pickle.load" not in message


def test_object_npy_is_refused_without_numpy_advice(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(InputRefused, match="holds Python objects") as info:
        read_npy_frames(tmp_path / "obj.npy", LIMITS)
    assert "allow_pickle" not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_a_named_pipe_among_the_frames_is_skipped_not_opened(tmp_path: Path) -> None:
    folder = tmp_path / "walk"
    folder.mkdir()
    for i, frame in enumerate(walk(6)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    os.mkfifo(folder / "003b.png")  # opening it for reading would wait for a writer forever
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(read_png_frames(folder, LIMITS)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():  # unblock the stuck reader before failing
        fd = os.open(folder / "003b.png", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("reading the folder hung on a named pipe")
    frames, names = result[0]  # type: ignore[misc]
    assert names == [f"{i:03d}.png" for i in range(6)] and len(frames) == 6


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="InputLimits.max_frames is 0"):
        InputLimits(max_frames=0)
    with pytest.raises(ValueError, match="min_frames is 9, above max_frames 8"):
        InputLimits(max_frames=8, min_frames=9)
