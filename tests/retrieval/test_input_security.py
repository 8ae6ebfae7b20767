"""Bad input and faults on the command line and the Python API: blank walks, short walks, huge frames, named pipes,
pickled arrays, bad names, a corrupt ``gallery.db`` and a full disk (issue 18)."""

from __future__ import annotations

import errno
import os
import pickle
import sqlite3
import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.io.silhouettes import InputRefused
from gaitforge.retrieval import Gallery
from gaitforge.retrieval.catalog import Catalog
from gaitforge.retrieval.gallery import GalleryError


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["-q", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gaitforge {command}: error: "), err
    return lines[0]


def _walk_frames(n: int) -> np.ndarray:
    x = np.zeros((n, 120, 90), np.uint8)
    for i in range(n):
        x[i, 10:110, 30 + i % 5 : 60 + i % 5] = 255
    return x


def _folder(path: Path, frames: np.ndarray) -> Path:
    path.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(path / f"{i:03d}.png"), frame)
    return path


def _header_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.fixture()
def enrolled(trained_run: Path, micro_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A gallery with one real walk enrolled from the micro world."""
    gallery = tmp_path / "gallery"
    code, _, err = _run(
        capsys, "enroll", "--model", str(trained_run), "--gallery", str(gallery), str(micro_world),
        "--select", "subject=002,condition=nm-01,view=090",
    )  # fmt: skip
    assert code == 0, err
    return gallery


def test_blank_input_is_refused_everywhere(
    trained_run: Path, enrolled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "blank.npy", np.zeros((30, 64, 64), np.uint8))
    blank_png = _folder(tmp_path / "blank_png", np.zeros((10, 64, 64), np.uint8))
    deep = tmp_path / "deep_png"  # 16-bit silhouettes of value 200: OpenCV reads them as black
    deep.mkdir()
    for i, frame in enumerate(_walk_frames(8)):
        cv2.imwrite(str(deep / f"{i:03d}.png"), (frame > 0).astype(np.uint16) * 200)
    model = ["--model", str(trained_run)]
    for bad in (tmp_path / "blank.npy", blank_png, deep):
        new = tmp_path / f"g-{bad.name}"
        code, _, err = _run(capsys, "enroll", *model, "--gallery", str(new), "--subject", "ghost", str(bad))
        line = _one_line_error(err, "enroll")
        assert code == 2 and f"{bad}: none of the" in line and "holds a silhouette" in line
        assert not new.exists()  # refused before the gallery was created
        code, _, err = _run(capsys, "identify", *model, "--gallery", str(enrolled), str(bad))
        assert code == 2 and "holds a silhouette" in _one_line_error(err, "identify")  # never a match at 0.0000
    from gaitforge.retrieval import Recognizer

    rec = Recognizer.from_checkpoint(trained_run)
    with pytest.raises(InputRefused, match="none of the 30 frames holds a silhouette") as info:
        rec.embed(np.zeros((30, 64, 64), np.uint8))
    assert info.value.code == "no_silhouette"
    with pytest.raises(InputRefused, match="blank_png: none of the 10 frames"):
        rec.embed_folder(blank_png)


def test_subject_names_are_checked_on_the_command_line(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    walk = _folder(tmp_path / "walk", _walk_frames(6))
    for name, problem in [("a\nb", "U+000A"), ("../../etc/passwd", "starts with '.'"), ("аlice", "mixes")]:
        gallery = tmp_path / "g"
        code, _, err = _run(
            capsys, "enroll", "--model", str(trained_run), "--gallery", str(gallery), "--subject", name, str(walk)
        )
        line = _one_line_error(err, "enroll")
        assert code == 2 and line.startswith("gaitforge enroll: error: --subject: subject name") and problem in line
        assert not gallery.exists()
    code, out, _ = _run(
        capsys, "enroll", "--model", str(trained_run), "--gallery", str(tmp_path / "g"), "--subject", "ｂｏｂ",
        str(walk), "--json",
    )  # fmt: skip
    assert code == 0 and '"bob"' in out  # full-width letters are the same name, stored in NFKC


def test_command_line_frame_limits_are_checked_before_decoding(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge"
    huge.mkdir()
    for i in range(3):
        (huge / f"{i}.png").write_bytes(_header_png(30_000, 30_000))
    decoded: list[str] = []
    imread = cv2.imread
    monkeypatch.setattr(cv2, "imread", lambda path, *a: decoded.append(path) or imread(path, *a))
    gallery = ["--model", str(trained_run), "--gallery", str(tmp_path / "g"), "--subject", "x"]
    code, _, err = _run(capsys, "enroll", *gallery, str(huge))
    line = _one_line_error(err, "enroll")
    assert code == 2 and "0.png is 30000x30000 px; frames must be 1 to 1024 px on each side (max_frame_side)" in line
    assert decoded == [] and not (tmp_path / "g").exists()
    walk = _folder(tmp_path / "walk", _walk_frames(7))
    code, _, err = _run(capsys, "enroll", *gallery, "--max-frames", "6", str(walk))
    assert code == 2 and "7 frames; the limit is 6 frames per sequence (max_frames)" in _one_line_error(err, "enroll")
    code, _, err = _run(capsys, "enroll", *gallery, "--max-frame-side", "100", str(walk))
    assert code == 2 and "is 90x120 px; frames must be 1 to 100 px" in _one_line_error(err, "enroll")


@pytest.mark.parametrize("frames", [1, 3])
def test_short_walks_are_refused_with_the_minimum_named(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], frames: int
) -> None:
    walk = _folder(tmp_path / "walk", _walk_frames(frames))
    gallery = ["--model", str(trained_run), "--gallery", str(tmp_path / "g"), "--subject", "x"]
    code, _, err = _run(capsys, "enroll", *gallery, str(walk))
    line = _one_line_error(err, "enroll")
    assert code == 2 and f"only {frames} of {frames} frames hold a silhouette; at least 5 are needed" in line
    code, out, err = _run(capsys, "enroll", *gallery, "--min-frames", "1", str(walk), "--json")
    assert code == 0, err  # the minimum is a setting


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_a_named_pipe_in_the_folder_does_not_hang_enroll(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    walk = _folder(tmp_path / "walk", _walk_frames(6))
    os.mkfifo(walk / "002b.png")
    codes: list[int] = []
    argv = ["-q", "enroll", "--model", str(trained_run), "--gallery", str(tmp_path / "g"), "--subject", "x", str(walk)]
    runner = threading.Thread(target=lambda: codes.append(main(argv)), daemon=True)
    runner.start()
    runner.join(timeout=120)
    if runner.is_alive():
        os.close(os.open(walk / "002b.png", os.O_WRONLY | os.O_NONBLOCK))  # release the stuck reader
        pytest.fail("enroll hung on a named pipe")
    assert codes == [0]
    with Gallery.open(tmp_path / "g") as g:
        assert g.sequences("x")[0]["provenance"]["frames"] == 6


def test_a_pickled_npy_gets_what_was_expected_not_numpy_advice(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evil.npy").write_bytes(pickle.dumps({"sil": [1, 2, 3]}))
    np.save(tmp_path / "objects.npy", np.array([None, {}], dtype=object), allow_pickle=True)
    for bad in ("evil.npy", "objects.npy"):
        code, _, err = _run(
            capsys, "enroll", "--model", str(trained_run), "--gallery", str(tmp_path / "g"), "--subject", "x",
            str(tmp_path / bad),
        )  # fmt: skip
        line = _one_line_error(err, "enroll")
        assert code == 2 and bad in line and "expected uint8 silhouettes [T, H, W] written by numpy.save" in line
        assert "allow_pickle" not in line and "unsafely" not in line


def test_a_corrupt_gallery_db_is_one_line_everywhere(
    trained_run: Path, enrolled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = enrolled / "gallery.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"this is not an SQLite database at all " * 200)
    walk = _folder(tmp_path / "walk", _walk_frames(6))
    model = ["--model", str(trained_run), "--gallery", str(enrolled)]
    for argv in (
        ["gallery", "list", str(enrolled)],
        ["gallery", "info", str(enrolled)],
        ["gallery", "remove", str(enrolled), "002"],
        ["identify", *model, str(walk)],
        ["enroll", *model, "--subject", "x", str(walk)],
    ):
        code, _, err = _run(capsys, *argv)
        line = _one_line_error(err, argv[0])
        assert code == 2 and f"{db}: open: not a readable gallery database" in line, line
    with pytest.raises(GalleryError, match="gallery.db: open: not a readable gallery database"):
        Gallery.open(enrolled)


def test_a_full_disk_while_enrolling_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    x = np.ones((2, 8), np.float32)
    with Gallery.create(tmp_path / "g", 8) as g:
        g.enroll("kept", x)
    insert = Catalog.insert

    def disk_full_after_one_row(self: Catalog, gen: int, subjects, vectors, provenance):  # type: ignore[no-untyped-def]
        insert(self, gen, subjects[:1], vectors[:1], provenance[:1])  # part of the transaction is written...
        raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk fills up

    def sqlite_full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")  # what SQLite raises on SQLITE_FULL

    monkeypatch.setattr(Catalog, "insert", disk_full_after_one_row)
    with Gallery.open(tmp_path / "g") as g:
        with pytest.raises(GalleryError, match="no space left on the device; everything committed before is kept"):
            g.enroll("lost", x)
        monkeypatch.setattr(Catalog, "insert", sqlite_full)
        with pytest.raises(GalleryError, match="gallery.db: write: the disk is full"):
            g.enroll_many(["a", "b"], x)
    monkeypatch.setattr(Catalog, "insert", insert)
    with Gallery.open(tmp_path / "g") as g:
        assert [s.subject for s in g.subjects()] == ["kept"] and len(g) == 2  # the half transaction was rolled back
        assert g.identify(x[0]).matches[0].subject == "kept"

    from gaitforge.retrieval import snapshot

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(snapshot, "write_snapshot", no_space)
    monkeypatch.setattr("gaitforge.retrieval.live_index.write_snapshot", no_space)
    with Gallery.open(tmp_path / "g") as g:
        g.enroll("second", x)  # committed; only the saved index (a shortcut) could not be written
    assert "index not saved (no space left on the device)" in caplog.text
    monkeypatch.undo()
    with Gallery.open(tmp_path / "g") as g:
        assert [s.subject for s in g.subjects()] == ["kept", "second"] and len(g) == 4


def test_a_full_disk_is_one_line_on_the_command_line(
    enrolled: Path,
    trained_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Catalog, "insert", no_space)
    walk = _folder(tmp_path / "walk", _walk_frames(6))
    code, _, err = _run(
        capsys, "enroll", "--model", str(trained_run), "--gallery", str(enrolled), "--subject", "x", str(walk)
    )
    assert code == 2 and "no space left on the device" in _one_line_error(err, "enroll")
    monkeypatch.undo()
    with Gallery.open(enrolled) as g:
        assert [s.subject for s in g.subjects()] == ["002"]


def test_damaged_pages_behind_an_intact_header_are_a_gallery_error(tmp_path: Path) -> None:
    names = [f"s{i:03d}" for i in range(300)]
    with Gallery.create(tmp_path / "g", 8) as g:
        g.enroll_many(names, np.ones((300, 8), np.float32), [{"source": "x" * 200}] * 300)
    db = tmp_path / "g" / "gallery.db"
    data = bytearray(db.read_bytes())
    assert len(data) > 3 * 4096 and data.startswith(b"SQLite format 3\0")
    data[4096:] = b"\xa5" * (len(data) - 4096)  # the header page survives, every other page is garbage
    db.write_bytes(bytes(data))
    with pytest.raises(GalleryError, match="gallery.db: .*not a readable gallery database"):
        with Gallery.open(tmp_path / "g", read_only=True) as g:
            g.subjects()
            g.identify(np.ones(8, np.float32))
