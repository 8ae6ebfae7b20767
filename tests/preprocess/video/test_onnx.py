"""ONNX detector and segmenter interfaces, exercised with tiny models built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from gaitforge.preprocess.video import OnnxDetector, OnnxSegmenter
from gaitforge.preprocess.video.onnx_detector import letterbox


def _save(path: Path, nodes: list, inputs: list, outputs: list, initializers: list | None = None) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=initializers or [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _constant_detector(path: Path, outputs: dict[str, np.ndarray]) -> Path:
    """A detector whose outputs are fixed arrays (tied to the input by ``+ 0 * mean(input)``)."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    ]
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    outs = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_c"))
        nodes.append(helper.make_node("Add", [f"{name}_c", "nothing"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    return _save(path, nodes, [image], outs, inits)


# One person in network pixels: centre (32, 32), 20 wide, 40 tall; a weaker duplicate; low-score boxes (enough
# rows for the automatic layout detection, which expects more boxes than values per box, as real models have).
_ROWS = np.array([[32, 32, 20, 40, 0.9], [33, 32, 20, 40, 0.8]] + [[10, 10, 5, 5, 0.1]] * 18, np.float32)
# The 128×64 frame is letterboxed into 64×64 at scale 0.5 with 16 rows of padding on top, so the person is at
# x 22..42 → 44..84 and y 12..52 → -8..72, clipped to the frame: 0..64.
_EXPECTED = [[44.0, 0.0, 84.0, 64.0]]


@pytest.mark.parametrize("layout", ["yolov8", "yolov5", "boxes_scores"])
@pytest.mark.parametrize("explicit", [False, True])
def test_detector_layouts(tmp_path: Path, layout: str, explicit: bool) -> None:
    cx, cy, w, h, s = _ROWS.T
    if layout == "yolov8":
        outputs = {"out": np.stack([cx, cy, w, h, s])[None]}  # [1, 4+1, N]
    elif layout == "yolov5":
        outputs = {"out": np.stack([cx, cy, w, h, np.ones_like(s), s, 1 - s], 1)[None]}  # [1, N, 5+2]
    else:
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
        outputs = {"boxes": xyxy[None], "scores": s[None]}
    det = OnnxDetector(_constant_detector(tmp_path / f"{layout}.onnx", outputs), layout=layout if explicit else "auto")
    assert det.input_size == (64, 64) and det.name == f"onnx:{layout}.onnx"
    found = det(np.zeros((64, 128, 3), np.uint8))
    assert np.allclose(found.boxes, _EXPECTED) and np.allclose(found.scores, [0.9])


def test_letterbox() -> None:
    img, scale, (px, py) = letterbox(np.full((64, 128, 3), 255, np.uint8), (64, 64))
    assert (scale, px, py) == (0.5, 0.0, 16.0)
    assert (img[16:48] == 255).all() and (img[:16] == 114).all()


def _segmenter(path: Path, kind: str) -> Path:
    """Person probability = the red channel (as probability, logits, or two-class scores); dynamic batch."""
    x = helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["N", 3, 32, 16])
    inits = [
        numpy_helper.from_array(np.array([0], np.int64), "start"),
        numpy_helper.from_array(np.array([1], np.int64), "end"),
        numpy_helper.from_array(np.array([1], np.int64), "axis"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        numpy_helper.from_array(np.array(20.0, np.float32), "gain"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    nodes = [helper.make_node("Slice", ["crops", "start", "end", "axis"], ["red"])]
    channels = 1
    if kind == "probability":
        nodes.append(helper.make_node("Identity", ["red"], ["mask"]))
    elif kind == "logits":
        nodes += [helper.make_node("Sub", ["red", "half"], ["c"]), helper.make_node("Mul", ["c", "gain"], ["mask"])]
    else:
        nodes += [
            helper.make_node("Sub", ["one", "red"], ["bg"]),
            helper.make_node("Concat", ["bg", "red"], ["mask"], axis=1),
        ]
        channels = 2
    out = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", channels, 32, 16])
    return _save(path, nodes, [x], [out], inits)


@pytest.mark.parametrize("kind", ["probability", "logits", "two_class"])
def test_segmenter_outputs(tmp_path: Path, kind: str) -> None:
    seg = OnnxSegmenter(_segmenter(tmp_path / f"{kind}.onnx", kind), margin=0.0)
    assert seg.input_size == (32, 16)
    frame = np.zeros((100, 120, 3), np.uint8)
    frame[20:80, 30:50, 0] = 255  # a red person
    frame[10:90, 70:110, 0] = 255  # another, filling its box
    crops = seg(frame, np.array([[20, 10, 60, 90], [70, 10, 110, 90]], np.float32))
    assert [c.origin for c in crops] == [(20, 10), (70, 10)]
    first = crops[0].mask > 0
    assert first.shape == (80, 40)
    truth = np.zeros((80, 40), bool)
    truth[10:70, 10:30] = True
    assert (first == truth).mean() > 0.95
    assert (crops[1].mask > 0).all()
    assert seg(frame, np.zeros((0, 4), np.float32)) == []


def test_model_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        OnnxDetector(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not onnx")
    with pytest.raises(ValueError, match="junk.onnx"):
        OnnxSegmenter(junk)
    with pytest.raises(ValueError, match="layout"):
        OnnxDetector(junk, layout="detr")
