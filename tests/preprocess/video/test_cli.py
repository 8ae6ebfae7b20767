"""``gaitforge preprocess video``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaitforge.cli import main
from gaitforge.synth.video import VideoGroundTruth


def test_preprocess_video_command(
    tmp_path: Path, scene_video: tuple[Path, VideoGroundTruth], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "store"
    rc = main(
        [
            "-q",
            "preprocess",
            "video",
            str(scene_video[0]),
            "--out",
            str(out),
            "--min-frames",
            "15",
            "--end",
            "4",
            "--sheets",
            str(tmp_path / "s"),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "street.mp4: 40 frames" in text and "kept" in text and "contact sheet" in text
    assert (tmp_path / "s" / "street.png").exists()
    rc = main(["-q", "preprocess", "video", str(scene_video[0]), "--out", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert rc == 0 and summary["totals"]["done"] == 1  # resumed: nothing new


def test_user_errors(
    tmp_path: Path, scene_video: tuple[Path, VideoGroundTruth], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["preprocess", "video", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "o")])
    assert rc == 2 and "none.mp4" in capsys.readouterr().err
    rc = main(
        ["preprocess", "video", str(scene_video[0]), "--out", str(tmp_path / "o"), "--detector", "yolo", "x.onnx"]
    )
    assert rc == 2 and "expected 'onnx PATH'" in capsys.readouterr().err
    rc = main(
        [
            "preprocess",
            "video",
            str(scene_video[0]),
            "--out",
            str(tmp_path / "o"),
            "--segmenter",
            "onnx",
            "missing.onnx",
        ]
    )
    assert rc == 2 and "missing.onnx" in capsys.readouterr().err
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"junk")
    rc = main(["-q", "preprocess", "video", str(bad), "--out", str(tmp_path / "o")])
    assert rc == 1 and "ERROR" in capsys.readouterr().out
