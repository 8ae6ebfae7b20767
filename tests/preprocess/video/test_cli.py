"""``gaitforge preprocess video``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.data import SequenceStore
from gaitforge.synth.video import VideoGroundTruth


def _pose_model(path: Path) -> Path:
    """A one-node top-down "estimator": a 4-strided 1×1 convolution, ``[N,3,256,192]`` → ``[N,17,64,48]``."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = np.full((17, 3, 1, 1), 1 / 3, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["heatmaps"], strides=[4, 4])],
        "one_conv_pose",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 256, 192])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, ["N", 17, 64, 48])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_pose_option_stores_keypoints_and_heatmaps(
    tmp_path: Path, scene_video: tuple[Path, VideoGroundTruth], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnxruntime")
    model = _pose_model(tmp_path / "pose.onnx")
    out = tmp_path / "store"
    argv = ["-q", "preprocess", "video", str(scene_video[0]), "--out", str(out), "--min-frames", "15", "--end", "3"]
    assert main([*argv, "--pose", "onnx", str(model)]) == 0
    store = SequenceStore(out)
    assert len(store) > 0
    for i in range(len(store)):
        rec = store.record(i)
        assert rec.arrays["pose"].shape == (rec.length, 17, 3) and rec.arrays["heatmap"].shape[1:] == (17, 64, 48)
        assert rec.meta["pose_estimator"]
    capsys.readouterr()
    assert main([*argv, "--pose", "openpose", "x"]) == 2
    assert "expected 'onnx PATH', 'blazepose' or 'mediapipe'" in capsys.readouterr().err


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
