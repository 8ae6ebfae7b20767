"""CLI inputs: PNG folders, stores with --select, .npy arrays and videos become sequences with provenance."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.retrieval.inputs import parse_select, resolve_inputs


def test_parse_select() -> None:
    assert parse_select("subject=001|002, condition=nm-01") == {"subjects": {"001", "002"}, "conditions": {"nm-01"}}
    assert parse_select(None) == {}
    with pytest.raises(ValueError, match="KEY one of subject, condition, view"):
        parse_select("type=nm-01")


def test_store_input_with_select(micro_world: Path) -> None:
    items = resolve_inputs([str(micro_world)], "subject=002|003,condition=nm-01,view=090")
    assert [item.subject for item in items] == ["002", "003"] and {item.kind for item in items} == {"store"}
    (entry,) = items[0].load()
    assert isinstance(entry.data, Sequence) and entry.subject == "002"
    assert entry.provenance["store_key"] == "002/nm-01/090" and entry.provenance["frames"] == entry.data.length
    with pytest.raises(ValueError, match="no sequence matches"):
        resolve_inputs([str(micro_world)], "subject=nobody")


def test_png_folder_and_npy(tmp_path: Path) -> None:
    from gaitforge.preprocess.silhouette import pretreat_sequence

    frames = np.zeros((6, 40, 30), np.uint8)
    frames[:, 5:35, 10:20] = 255
    (tmp_path / "walk").mkdir()
    for t, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / "walk" / f"{t:03d}.png"), f)
    np.save(tmp_path / "sil.npy", frames)
    folder, array = resolve_inputs([str(tmp_path / "walk"), str(tmp_path / "sil.npy")])
    (a,) = folder.load()
    (b,) = array.load()
    np.testing.assert_array_equal(a.data, pretreat_sequence(frames))  # checked and pretreated while loading
    np.testing.assert_array_equal(b.data, pretreat_sequence(frames))
    assert a.provenance["frames"] == 6 and a.provenance["first"] == "000.png" and a.subject is None
    assert "time" in a.provenance and b.provenance["source"].endswith("sil.npy")


def test_unknown_or_missing_inputs(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    np.save(tmp_path / "sil.npy", np.zeros((2, 8, 8), np.uint8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="input not found"):
        resolve_inputs([str(tmp_path / "nothing")])
    with pytest.raises(ValueError, match="unknown input"):
        resolve_inputs([str(tmp_path / "notes.txt")])
    with pytest.raises(ValueError, match="no \\*.png frames and is not a sequence store"):
        resolve_inputs([str(tmp_path / "empty")])
    with pytest.raises(ValueError, match="no INPUT is a store folder"):
        resolve_inputs([str(tmp_path / "sil.npy")], "subject=1")


def test_video_without_the_video_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "walk.mp4").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "gaitforge.preprocess.video", None)  # as if the module were absent
    (item,) = resolve_inputs([str(tmp_path / "walk.mp4")])
    with pytest.raises(ValueError, match="needs gaitforge.preprocess.video"):
        item.load()


def test_video_tracks_become_sequences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "walk.mp4").write_bytes(b"")
    sil = np.zeros((4, 64, 64), np.uint8)
    fake = types.ModuleType("gaitforge.preprocess.video")
    info = types.SimpleNamespace(width=64, height=64, frames=4, fps=25.0)
    fake.probe_video = lambda path: info  # type: ignore[attr-defined]
    fake.extract_sequences = lambda path, end_s=None: [  # type: ignore[attr-defined]
        Sequence("v-t0003", "video", "unknown", {"sil": sil}, {"track_id": 3, "boxes": np.ones((4, 4)), "fps": 25.0}),
        Sequence("v-t0008", "video", "unknown", {"sil": sil}, {"track_id": 8, "source": "video"}),
    ]
    monkeypatch.setitem(sys.modules, "gaitforge.preprocess.video", fake)
    (item,) = resolve_inputs([str(tmp_path / "walk.mp4")])
    first, second = item.load()
    assert first.name.endswith("walk.mp4#track3") and second.name.endswith("#track8")
    assert first.provenance["video"].endswith("walk.mp4") and first.provenance["fps"] == 25.0
    assert first.provenance["frames"] == 4 and first.provenance["boxes"].shape == (4, 4)
    assert second.provenance["source"].endswith("walk.mp4") and second.provenance["track"] == 8


def test_the_video_pipeline_offers_what_the_adapter_calls() -> None:
    video = pytest.importorskip("gaitforge.preprocess.video")
    assert callable(video.extract_sequences)
