"""``gaitforge enroll / identify / gallery`` end to end on the micro world with a tiny trained model."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore
from gaitforge.retrieval import Gallery


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["-q", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_enroll_identify_and_maintain(
    trained_run: Path, micro_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gallery = str(tmp_path / "gallery")
    model = ["--model", str(trained_run), "--gallery", gallery]

    code, out, _ = _run(capsys, "enroll", *model, str(micro_world), "--select", "condition=nm-01|nm-02")
    assert code == 0 and "enrolled 36 sequence(s) of 6 subject(s)" in out

    walk = tmp_path / "alice"  # a PNG folder enrolled under a given name
    walk.mkdir()
    for t, frame in enumerate(np.asarray(SequenceStore(micro_world).array(0, "sil"))):
        cv2.imwrite(str(walk / f"{t:03d}.png"), frame)
    code, out, _ = _run(capsys, "enroll", *model, "--subject", "alice", str(walk), "--json")
    assert code == 0 and json.loads(out)["subjects"] == ["alice"] and json.loads(out)["gallery_sequences"] == 37

    code, out, _ = _run(capsys, "gallery", "list", gallery, "--json")
    listed = {row["subject"]: row["n_sequences"] for row in json.loads(out)}
    assert listed == {"alice": 1, "001": 6, "002": 6, "003": 6, "004": 6, "005": 6, "006": 6}

    # an enrolled sequence as probe: itself first (distance ~0), ranked table or JSON
    probe = [str(micro_world), "--select", "subject=004,condition=nm-02,view=090"]
    code, out, _ = _run(capsys, "identify", *model, *probe, "-k", "3", "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["known"] is None and len(row["matches"]) == 3
    assert row["matches"][0]["subject"] == "004" and row["matches"][0]["distance"] < 1e-3
    assert row["matches"][0]["provenance"]["store_key"] == "004/nm-02/090"
    code, out, _ = _run(capsys, "identify", *model, *probe, "-k", "2")
    assert "no threshold set" in out and "004/nm-02/090" in out and len(out.splitlines()) == 4

    code, out, _ = _run(capsys, "gallery", "calibrate", gallery, "--far", "0.2", "--json")
    cal = json.loads(out)
    assert code == 0 and cal["far"] <= 0.2 and cal["n_impostor"] == 37
    held_out = ["--model", str(trained_run), "--store", str(micro_world), "--select", "condition=bg-01|cl-01"]
    code, out, _ = _run(capsys, "gallery", "calibrate", gallery, *held_out, "--far", "0.1", "--json")
    assert code == 0 and json.loads(out)["n_impostor"] == 36
    code, out, _ = _run(capsys, "identify", *model, *probe, "--json")
    assert json.loads(out)[0]["known"] is True  # distance ~0 is below any calibrated threshold

    code, out, _ = _run(capsys, "gallery", "remove", gallery, "004")
    assert code == 0 and "removed 004 (6 sequence(s))" in out
    code, out, _ = _run(capsys, "gallery", "reindex", gallery, "--index", "hnsw", "--index-option", "M=8")
    assert code == 0 and "hnsw index of 31 sequences" in out
    code, out, _ = _run(capsys, "gallery", "info", gallery, "--verify", "--json")
    info = json.loads(out)
    assert info["index"] == "hnsw" and info["subjects"] == 6 and info["verified"]["sequences"] == 31
    assert info["model"]["checkpoint"].startswith(str(trained_run))
    with Gallery.open(gallery) as g:
        assert "004" not in {s.subject for s in g.subjects()} and g.threshold == json.loads(out)["threshold"]


def test_user_errors_are_one_line(trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    walk = tmp_path / "walk"
    walk.mkdir()
    cv2.imwrite(str(walk / "0.png"), np.zeros((8, 8), np.uint8))
    gallery = str(tmp_path / "g")
    code, _, err = _run(capsys, "enroll", "--model", str(trained_run), "--gallery", gallery, str(walk))
    assert code == 2 and "--subject is required" in err
    code, _, err = _run(capsys, "gallery", "remove", gallery, "x")
    assert code == 2 and "no gallery there" in err
    Gallery.create(gallery, 8).close()
    code, _, err = _run(capsys, "gallery", "remove", gallery, "bob")
    assert code == 2 and "'bob' is not enrolled" in err
    code, _, err = _run(capsys, "identify", "--model", str(trained_run), "--gallery", gallery, str(walk))
    assert code == 2 and "gallery holds dim 8" in err


def test_video_tracks_need_a_choice(
    trained_run: Path,
    micro_world: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = SequenceStore(micro_world)
    fake = types.ModuleType("gaitforge.preprocess.video")
    info = types.SimpleNamespace(width=64, height=64, frames=10, fps=25.0)
    fake.probe_video = lambda path: info  # type: ignore[attr-defined]
    fake.extract_sequences = lambda path, end_s=None: [  # type: ignore[attr-defined]
        Sequence("v-t0003", "video", "unknown", {"sil": np.asarray(store.array(0, "sil"))}, {"track_id": 3}),
        Sequence("v-t0008", "video", "unknown", {"sil": np.asarray(store.array(9, "sil"))}, {"track_id": 8}),
    ]
    monkeypatch.setitem(sys.modules, "gaitforge.preprocess.video", fake)
    (tmp_path / "street.mp4").write_bytes(b"")
    enroll = ["enroll", "--model", str(trained_run), "--gallery", str(tmp_path / "g"), "--subject", "bob"]
    code, _, err = _run(capsys, *enroll, str(tmp_path / "street.mp4"))
    assert code == 2 and "2 people were tracked (tracks 3, 8)" in err
    code, out, _ = _run(capsys, *enroll, "--track", "8", str(tmp_path / "street.mp4"), "--json")
    assert code == 0 and json.loads(out)["enrolled"] == 1
    with Gallery.open(tmp_path / "g") as g:
        (seq,) = g.sequences("bob")
        assert seq["provenance"]["track"] == 8 and seq["provenance"]["video"].endswith("street.mp4")
