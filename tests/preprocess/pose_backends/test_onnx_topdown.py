"""The ONNX top-down backend on a small network with known behaviour, built with ``onnx.helper``.

The network averages 4x4 blocks of the normalised crop (a heatmap cell is the mean of its crop pixels), picks
input colour ``k % 3`` for heatmap channel ``k`` with gain ``g`` and takes ``exp``: the log-heatmap is the
average-pooled colour. A paraboloid-shaped colour bump therefore gives a heatmap whose log is a parabola, which
the decoder's log-parabola refinement locates exactly — so the keypoints must come back at the bump centres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from gaitforge.preprocess.pose_backends import OnnxTopDownEstimator, PoseBackend  # noqa: E402

K = 17
GAIN = 0.5


def _model(path: Path, batch: int | str = "N") -> Path:
    weight = np.zeros((K, 3, 1, 1), np.float32)
    weight[np.arange(K), np.arange(K) % 3] = GAIN
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
            helper.make_node("Conv", ["pooled", "w"], ["logits"]),
            helper.make_node("Exp", ["logits"], ["heatmaps"]),
        ],
        "tiny_topdown",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 3, 256, 192])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, [batch, K, 64, 48])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _frame(centres: dict[int, tuple[float, float]], radius: float, size=(240, 320)) -> np.ndarray:
    """Black RGB frame with one paraboloid bump per colour channel."""
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float64)
    frame = np.zeros((*size, 3), np.float64)
    for c, (cx, cy) in centres.items():
        frame[..., c] = 255.0 * np.clip(1.0 - ((xs - cx) ** 2 + (ys - cy) ** 2) / radius**2, 0.0, None)
    return np.rint(frame).astype(np.uint8)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model(tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def test_keypoints_come_back_at_the_bumps(model_path: Path) -> None:
    centres = {0: (150.3, 100.6), 1: (170.8, 130.2), 2: (140.1, 150.9)}
    frame = _frame(centres, radius=22.0)
    boxes = np.array([[120.0, 60.0, 190.0, 190.0], [100.0, 40.0, 210.0, 200.0]], np.float32)  # two crops, two scales
    est = OnnxTopDownEstimator(model_path, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    assert isinstance(est, PoseBackend)
    keypoints, heatmaps = est.estimate(frame, boxes)
    assert keypoints.shape == (2, K, 3) and keypoints.dtype == np.float32
    assert heatmaps.shape == (2, K, 64, 48) and heatmaps.dtype == np.float16
    for k in range(K):
        np.testing.assert_allclose(keypoints[:, k, :2], np.tile(centres[k % 3], (2, 1)), atol=0.15)
    # Confidence is the heatmap maximum: exp(GAIN * pooled value near 1).
    assert np.all(keypoints[..., 2] > np.exp(GAIN * 0.9)) and np.all(keypoints[..., 2] <= np.exp(GAIN) + 1e-3)


def test_normalisation_is_applied_and_configurable(model_path: Path) -> None:
    frame = _frame({0: (160.0, 120.0), 1: (150.0, 110.0), 2: (170.0, 130.0)}, radius=20.0)
    box = np.array([[110.0, 50.0, 210.0, 190.0]], np.float32)
    plain = OnnxTopDownEstimator(model_path, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    imagenet = OnnxTopDownEstimator(model_path)  # ImageNet mean / std by default
    crops_plain, _ = plain.crops(frame, box)
    crops_in, _ = imagenet.crops(frame, box)
    np.testing.assert_allclose(crops_in[0, 0], (crops_plain[0, 0] - 0.485) / 0.229, atol=1e-5)
    # A shifted, scaled log-heatmap has the same peak: the keypoints agree.
    np.testing.assert_allclose(
        imagenet.estimate(frame, box)[0][..., :2], plain.estimate(frame, box)[0][..., :2], atol=0.3
    )


def test_fixed_batch_model_and_edge_cases(tmp_path: Path) -> None:
    est = OnnxTopDownEstimator(_model(tmp_path / "b1.onnx", batch=1), mean=(0, 0, 0), std=(1, 1, 1))
    assert est.batch_size == 1
    frame = _frame({0: (100.0, 100.0)}, radius=20.0)
    kp, hm = est.estimate(frame, np.array([[70, 50, 130, 150], [60, 40, 140, 160], [80, 60, 120, 140]], np.float32))
    assert kp.shape == (3, K, 3) and hm.shape == (3, K, 64, 48)
    np.testing.assert_allclose(kp[:, 0, :2], [[100.0, 100.0]] * 3, atol=0.3)
    kp0, hm0 = est.estimate(frame, np.zeros((0, 4), np.float32))
    assert kp0.shape == (0, 17, 3) and hm0.shape == (0, 17, 64, 48)
    with pytest.raises(ValueError, match=r"uint8 \[H, W, 3\]"):
        est.estimate(frame.astype(np.float32), np.array([[0, 0, 10, 10]], np.float32))
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        est.estimate(frame, np.zeros((2, 3), np.float32))
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        OnnxTopDownEstimator(tmp_path / "nope.onnx")
    with pytest.raises(ValueError, match="input_size"):
        OnnxTopDownEstimator(tmp_path / "b1.onnx", input_size=(128, 96))
