"""Many videos into a store: summary, contact sheets, an unreadable video, resuming, worker processes."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.preprocess.video import VideoOptions, load_summary, process_videos
from gaitforge.preprocess.video import runner as runner_module
from gaitforge.synth.video import VideoGroundTruth


def test_store_summary_sheets_errors_and_resume(
    tmp_path: Path, scene_video: tuple[Path, VideoGroundTruth], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = scene_video[0]
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    out, sheets = tmp_path / "store", tmp_path / "sheets"
    opts = VideoOptions(filter=VideoOptions().filter.__class__(min_frames=15))
    summary = process_videos([video, bad], out, opts, sheets_dir=sheets, progress=False)
    entry = summary["videos"][str(video.resolve())]
    assert entry["status"] == "done" and entry["tracks_kept"] == 3
    assert all(k["frames"] >= 15 for k in entry["kept"])
    assert summary["videos"][str(bad.resolve())]["status"] == "error"
    assert "broken.mp4" in summary["videos"][str(bad.resolve())]["error"]
    assert summary["totals"] == {
        "videos": 2,
        "done": 1,
        "errors": 1,
        "tracks_confirmed": entry["tracks_confirmed"],
        "sequences": 3,
    }
    assert json.loads((out / "video_summary.json").read_text()) == summary == load_summary(out)
    store = SequenceStore(out)
    assert len(store) == 3 and store.modalities == ["sil"]
    image = cv2.imread(str(sheets / "street.png"))
    assert image is not None and image.shape[1] == 960 and entry["contact_sheet"] == str(sheets / "street.png")

    # a rerun skips the finished video (it would fail if processed) and retries the broken one
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished video was processed again")

    monkeypatch.setattr(runner_module, "extract_tracks", refuse)
    again = process_videos([video, bad], out, opts, progress=False)
    assert again["videos"][str(video.resolve())]["status"] == "done"
    assert again["videos"][str(bad.resolve())]["status"] == "error"
    assert len(SequenceStore(out)) == 3


def test_worker_processes(tmp_path: Path, scene_video: tuple[Path, VideoGroundTruth], counter_video: Path) -> None:
    summary = process_videos(
        [scene_video[0], counter_video], tmp_path / "store", VideoOptions(end_s=3.0), workers=2, progress=False
    )
    assert summary["totals"]["done"] == 2
    assert summary["videos"][str(counter_video.resolve())]["tracks_kept"] == 0  # a grey ramp has nobody in it
    assert summary["videos"][str(scene_video[0].resolve())]["frames_processed"] == 30
    assert len(SequenceStore(tmp_path / "store")) == summary["totals"]["sequences"]


def test_same_file_names_get_distinct_ids(tmp_path: Path, counter_video: Path) -> None:
    other = tmp_path / "b" / counter_video.name
    other.parent.mkdir()
    other.write_bytes(counter_video.read_bytes())
    summary = process_videos([counter_video, other], tmp_path / "store", progress=False)
    assert summary["totals"]["done"] == 2
    ids = [v["video_id"] for v in summary["videos"].values()]
    assert ids[0] == "counter" and ids[1].startswith("counter-") and len(set(ids)) == 2
