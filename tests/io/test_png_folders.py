"""PNG-folder import: pretreatment per sequence, problems reported not raised, resume, workers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.io.png_folders import import_png_folders
from gaitforge.preprocess.silhouette import pretreat_sequence


def _person(h: int = 120, w: int = 160, x: int = 70, seed: int = 0) -> np.ndarray:
    img = np.zeros((h, w), np.uint8)
    img[20:110, x : x + 22] = 255
    img[10:25, x + 5 : x + 17] = 255  # head
    img[60 + seed % 5 : 110, x - 6 : x] = 255  # a leg that moves
    return img


def _write_seq(folder: Path, frames: list[np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        assert cv2.imwrite(str(folder / f"{i:03d}.png"), f)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "pngs"
    _write_seq(root / "001" / "nm-01" / "090", [_person(seed=i, x=60 + i) for i in range(6)])
    _write_seq(root / "001" / "nm-02" / "090", [_person(seed=3)])  # one frame
    _write_seq(root / "002" / "nm-01" / "090", [np.zeros((120, 160), np.uint8)] * 3)  # nothing valid
    (root / "002" / "nm-01" / "000").mkdir(parents=True)  # empty sequence folder
    (root / "003").mkdir()  # subject with no type folders
    _write_seq(root / "004" / "bg-01" / "180", [_person(seed=i, x=40 + 3 * i) for i in range(4)])
    return root


def test_import_reports_and_stores(dataset: Path, tmp_path: Path) -> None:
    report = import_png_folders(dataset, tmp_path / "store", workers=0, progress=False)
    assert report.imported == ["001/nm-01/090", "001/nm-02/090", "004/bg-01/180"]
    kinds = {(p.where, p.kind) for p in report.problems}
    assert kinds == {
        ("002/nm-01/000", "empty_folder"),
        ("002/nm-01/090", "no_valid_frames"),
        ("003", "empty_folder"),
    }
    assert report.counts == {"imported": 3, "skipped_existing": 0, "empty_folder": 2, "no_valid_frames": 1}
    assert not report.ok
    assert any("001/nm-02/090: only 1 valid frames" in w for w in report.warnings)
    reason = next(p.reason for p in report.problems if p.kind == "no_valid_frames")
    assert "none of 3 frames" in reason and "3 without data" in reason
    json.dumps(report.to_dict())

    store = SequenceStore(tmp_path / "store", verify=True)
    assert [r.key for r in store.records] == report.imported
    rec = store.records[0]
    assert (
        rec.shapes["sil"] == (6, 64, 64)
        and rec.meta["frames_in"] == 6
        and rec.meta["source"] == "png_folders"
    )
    expected = pretreat_sequence(np.stack([_person(seed=i, x=60 + i) for i in range(6)]))
    np.testing.assert_array_equal(store.get(0).modalities["sil"], expected)
    assert store.records[1].length == 1


def test_resume_skips_existing(dataset: Path, tmp_path: Path) -> None:
    store_root = tmp_path / "store"
    import_png_folders(dataset, store_root, workers=0, progress=False)
    _write_seq(dataset / "005" / "cl-01" / "090", [_person(seed=i) for i in range(5)])
    again = import_png_folders(dataset, store_root, workers=0, progress=False)
    assert again.imported == ["005/cl-01/090"]
    assert again.skipped_existing == ["001/nm-01/090", "001/nm-02/090", "004/bg-01/180"]
    assert len(SequenceStore(store_root, verify=True)) == 4


def test_workers_match_in_process(dataset: Path, tmp_path: Path) -> None:
    a = import_png_folders(dataset, tmp_path / "a", workers=0, progress=False)
    b = import_png_folders(dataset, tmp_path / "b", workers=2, progress=False)
    assert a.imported == b.imported and a.counts == b.counts
    sa, sb = SequenceStore(tmp_path / "a"), SequenceStore(tmp_path / "b")
    for i in range(len(sa)):
        np.testing.assert_array_equal(sa.get(i).modalities["sil"], sb.get(i).modalities["sil"])


def test_missing_root_is_reported(tmp_path: Path) -> None:
    report = import_png_folders(tmp_path / "nowhere", tmp_path / "store", progress=False)
    assert report.counts["missing_root"] == 1 and report.imported == []
    assert "does not exist" in report.problems[0].reason
    assert not (tmp_path / "store").exists()


def test_partition(dataset: Path, tmp_path: Path) -> None:
    part = tmp_path / "part.json"
    part.write_text(json.dumps({"TRAIN_SET": ["001"], "TEST_SET": ["004", "999"]}))
    report = import_png_folders(dataset, tmp_path / "store", workers=0, progress=False, partition=part)
    assert report.imported == ["001/nm-01/090", "001/nm-02/090", "004/bg-01/180"]
    assert report.excluded == ["002/nm-01/000", "002/nm-01/090"] and report.counts["not_in_partition"] == 2
    store = SequenceStore(tmp_path / "store")
    assert store.records[0].meta["sets"] == ["TRAIN_SET"] and store.records[2].meta["sets"] == ["TEST_SET"]


def test_fixture_sequence_through_the_importer(fixtures_dir: Path, tmp_path: Path) -> None:
    data = np.load(fixtures_dir / "pretreatment" / "seq08_centring_edges.npz")
    folder = tmp_path / "ds" / "001" / "nm-01" / "090"
    folder.mkdir(parents=True)
    for name, frame in zip(data["frame_names"], data["input_frames"]):
        cv2.imwrite(str(folder / str(name)), frame)
    report = import_png_folders(tmp_path / "ds", tmp_path / "store", workers=0, progress=False)
    assert report.imported == ["001/nm-01/090"]
    store = SequenceStore(tmp_path / "store")
    np.testing.assert_array_equal(store.get(0).modalities["sil"], data["expected_output"])
    assert store.records[0].meta["dropped_no_center"] == ["seq08_centring_edges-000.png"]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes need a POSIX system")
def test_a_named_pipe_among_the_frames_does_not_hang_the_import(tmp_path: Path) -> None:
    import os
    import threading

    root = tmp_path / "pngs"
    _write_seq(root / "001" / "nm-01" / "090", [_person(seed=i, x=60 + i) for i in range(6)])
    fifo = root / "001" / "nm-01" / "090" / "002b.png"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    reports: list = []
    worker = threading.Thread(
        target=lambda: reports.append(import_png_folders(root, tmp_path / "store", workers=0, progress=False)),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=120)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # release the stuck reader
        pytest.fail("the import hung on a named pipe")
    (report,) = reports
    assert report.imported == ["001/nm-01/090"] and report.ok
    assert SequenceStore(tmp_path / "store").get(0).length == 6  # the six regular frames, the pipe skipped
