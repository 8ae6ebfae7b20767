"""Every registered model exports to ONNX and ONNX Runtime reproduces PyTorch over its dynamic axes; the tables of
export limits and unexportable models are each still needed; failed exports write nothing.

"Reproduces" means ``max |ONNX - PyTorch| <= 1e-4 * max(1, max |PyTorch|)``: 1e-4 absolute for embeddings of
magnitude up to 1 (every silhouette model here), relative beyond (float32 rounding grows with the magnitude:
GaitTR on neck-centred 225-px poses gives embeddings of several hundred)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.batch import Batch
from gaitforge.export import (
    EXPORT_LIMITS,
    UNEXPORTABLE_MODELS,
    ExportError,
    OnnxEmbedder,
    export_onnx,
    read_metadata,
)
from gaitforge.export.spec import BATCH_AXIS, FIXED_FRAMES_DEFAULT, FRAMES_AXIS, limits_for
from gaitforge.models import GaitModel, ModelOutput, list_models
from tests.export.helpers import inputs_for, small_model, torch_embed

ATOL = 1e-4


@pytest.mark.parametrize("name", list_models())
def test_onnx_runtime_matches_pytorch(name: str, tmp_path: Path) -> None:
    model, shapes = small_model(name)
    path = tmp_path / f"{name}.onnx"
    if name in UNEXPORTABLE_MODELS:  # listed as impossible: it must really fail (the entry is not stale)
        with pytest.raises(ValueError, match="cannot be exported"):
            export_onnx(model, path, inputs=shapes)
        return
    report = export_onnx(model, path, inputs=shapes)  # with the exporter's own check, as users run it
    assert report.checks and report.max_abs_diff is not None
    limits = limits_for(name)
    axes = [(BATCH_AXIS, limits.dynamic_batch), (FRAMES_AXIS, limits.dynamic_frames)]
    assert report.dynamic_axes == tuple(a for a, dynamic in axes if dynamic)
    embedder = OnnxEmbedder(path, threads=1)
    assert embedder.one_at_a_time == (not limits.dynamic_batch)  # a fixed batch of 1 still takes any batch
    assert [s.name for s in embedder.inputs] == list(model.input_modalities)

    if limits.dynamic_frames:
        cases = [(1, 9), (3, 16)]
        if limits.tile_short_sequences:
            cases += [(2, t) for t in range(1, limits.tile_short_sequences)]  # the tiled short sequences
    else:
        cases = [(1, FIXED_FRAMES_DEFAULT), (3, FIXED_FRAMES_DEFAULT)]
    for seed, (b, t) in enumerate(cases):
        arrays = inputs_for(embedder.inputs, b, t, seed)
        expected = torch_embed(model, arrays)
        got = embedder(arrays)
        assert got.shape == expected.shape and got.dtype == np.float32
        scale = float(np.abs(expected).max())
        assert scale > 1e-3, "degenerate check: the embeddings are all ~0"
        diff = float(np.abs(got - expected).max())
        assert diff <= ATOL * max(1.0, scale), f"{name} [{b}, {t}]: max |ONNX - PyTorch| = {diff:.3g} ({scale=:.3g})"
    # Empty frames (no silhouette, flat heatmaps, zero keypoints): guards and degenerate geometry must agree too.
    zeros = {k: np.zeros_like(v) for k, v in arrays.items()}
    expected, got = torch_embed(model, zeros), embedder(zeros)
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL * max(1.0, float(np.nanmax(np.abs(expected)))))

    meta = read_metadata(path)
    assert meta["model"] == name and meta["format_version"] == 1
    assert meta["embedding_shape"] == list(report.embedding_shape)
    assert report.embedding_shape == (BATCH_AXIS if limits.dynamic_batch else 1, *expected.shape[1:])
    assert meta["inputs"] == [s.to_dict() for s in report.inputs]
    assert meta["dynamic_axes"] == list(report.dynamic_axes)


def test_limit_and_skip_tables_name_registered_models() -> None:
    registered = set(list_models())
    assert set(EXPORT_LIMITS) <= registered, sorted(set(EXPORT_LIMITS) - registered)
    assert set(UNEXPORTABLE_MODELS) <= registered, sorted(set(UNEXPORTABLE_MODELS) - registered)
    assert all(v.reason for v in EXPORT_LIMITS.values()) and all(UNEXPORTABLE_MODELS.values())


@pytest.mark.parametrize(
    "name", sorted(n for n, v in EXPORT_LIMITS.items() if not (v.dynamic_frames and v.dynamic_batch))
)
def test_fixed_axis_limit_is_still_needed(name: str, tmp_path: Path) -> None:
    # Exported under another name (no limits apply), dynamic axes must fail the check: the entry is real.
    model, shapes = small_model(name)
    opset = EXPORT_LIMITS[name].min_opset or None
    with pytest.raises(ExportError, match="does not reproduce PyTorch"):
        export_onnx(model, tmp_path / "m.onnx", inputs=shapes, opset=opset, model_name=f"{name}-without-limits")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("name", sorted(n for n, v in EXPORT_LIMITS.items() if v.min_opset))
def test_minimum_opset_is_still_needed(name: str, tmp_path: Path) -> None:
    model, shapes = small_model(name)
    opset = EXPORT_LIMITS[name].min_opset
    with pytest.raises(ExportError, match="torch.onnx.export .* failed"):
        export_onnx(model, tmp_path / "m.onnx", inputs=shapes, opset=opset - 1, model_name=f"{name}-unlimited")
    with pytest.raises(ValueError, match=f"needs ONNX opset >= {opset}"):
        export_onnx(model, tmp_path / "m.onnx", inputs=shapes, opset=opset - 1)


@pytest.mark.parametrize("name", sorted(n for n, v in EXPORT_LIMITS.items() if v.tile_short_sequences))
def test_short_sequence_tiling_is_still_needed(name: str, tmp_path: Path) -> None:
    model, shapes = small_model(name)
    export_onnx(model, tmp_path / "m.onnx", inputs=shapes, model_name=f"{name}-without-limits")
    embedder = OnnxEmbedder(tmp_path / "m.onnx", threads=1)
    arrays = inputs_for(embedder.inputs, 2, EXPORT_LIMITS[name].tile_short_sequences - 1, seed=5)
    try:
        got = embedder(arrays)
    except Exception:  # ONNX Runtime rejects the too-short sequence: the tiling is needed
        return
    assert got.shape != torch_embed(model, arrays).shape or not np.allclose(got, torch_embed(model, arrays), atol=ATOL)


class _LengthDependent(GaitModel):
    """Scales by the frame count in Python: traced, the count becomes a constant."""

    def forward(self, batch: Batch) -> ModelOutput:
        x = batch.inputs["sil"]
        return ModelOutput(embeddings=x.mean(dim=(1, 3)).unsqueeze(-1) * float(x.shape[1]))


def test_failed_check_raises_and_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(ExportError, match=r"\[3, 19, \.\.\.\].*frames=N"):
        export_onnx(_LengthDependent(), path, inputs={"sil": (8, 6)})
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left behind
    report = export_onnx(_LengthDependent(), path, inputs={"sil": (8, 6)}, frames=5)  # a fixed length works
    assert report.dynamic_axes == (BATCH_AXIS,) and report.max_abs_diff < 1e-6
    assert report.inputs[0].shape == (BATCH_AXIS, 5, 8, 6)


def test_export_restores_training_mode_and_validates_arguments(tmp_path: Path) -> None:
    model, shapes = small_model("gaitbase")
    model.train()
    report = export_onnx(model, tmp_path / "m.onnx", inputs=shapes)
    assert model.training and all(m.training for m in model.modules())
    assert len(report.checks) == 2 and report.max_abs_diff < ATOL
    assert "gaitbase" in report.summary() and "dynamic axes: batch, frames" in report.summary()
    with pytest.raises(ValueError, match="exporter"):
        export_onnx(model, tmp_path / "x.onnx", inputs=shapes, exporter="tflite")
    with pytest.raises(ValueError, match="frame shapes given for \\['rgb'\\]"):
        export_onnx(model, tmp_path / "x.onnx", inputs={"rgb": (3, 4)})
    with pytest.raises(ValueError, match="frames"):
        export_onnx(model, tmp_path / "x.onnx", inputs=shapes, frames=0)


def test_dynamo_exporter_also_works(tmp_path: Path) -> None:
    model, shapes = small_model("gei")
    report = export_onnx(model, tmp_path / "gei.onnx", inputs=shapes, exporter="dynamo")
    assert report.exporter == "dynamo" and report.max_abs_diff < ATOL
    arrays = {"sil": (np.random.default_rng(0).random((2, 7, 64, 44)) > 0.5).astype(np.float32)}
    np.testing.assert_allclose(OnnxEmbedder(report.path)(arrays), torch_embed(model, arrays), atol=ATOL)
