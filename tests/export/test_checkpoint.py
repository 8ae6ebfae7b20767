"""export_checkpoint: a run folder or checkpoint file → ONNX with its provenance; input shapes from the config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.config import config_to_dict
from gaitforge.engine.checkpoint import checkpoint_name, save_checkpoint
from gaitforge.engine.evaluate import load_trained_model
from gaitforge.engine.model_setup import build_model_for
from gaitforge.export import OnnxEmbedder, export_checkpoint, frame_shapes_from_config, read_metadata
from gaitforge.export.onnx import config_hash
from gaitforge.interop.fixture_weights import fill_with_recipe
from tests.conftest import micro_config
from tests.export.helpers import inputs_for, torch_embed


def make_run(root: Path, iteration: int = 4) -> Path:
    """A run folder holding one checkpoint of the micro GaitBase (32x22 inputs), without training it."""
    cfg = micro_config(root / "no-store-here")
    model = build_model_for(cfg, 3)
    fill_with_recipe(model, salt="export-checkpoint")
    state = {"model": model.state_dict(), "config": config_to_dict(cfg), "num_classes": 3, "iteration": iteration}
    save_checkpoint(root / "run" / "checkpoints" / checkpoint_name(iteration), state)
    return root / "run"


def test_run_folder_exports_with_provenance(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    report = export_checkpoint(run, tmp_path / "out" / "model.onnx")
    assert report.inputs[0].shape == ("batch", "frames", 32, 22)  # sil_cut + resize [32, 22] from the config
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    meta = read_metadata(report.path)
    model, cfg, ckpt = load_trained_model(run)
    assert meta["model"] == "gaitbase" and meta["metric"] == cfg.eval.metric == "euc"
    assert meta["config_hash"] == config_hash(config_to_dict(cfg)) and meta["config_hash"].startswith("sha256:")
    assert meta["checkpoint"] == ckpt.name and meta["run"] == "micro" and meta["dataset"] == "CASIA-B"
    assert meta["model_args"] == {"channels": [4, 8, 8, 16], "embed_dim": 16, "bins": [4]}
    assert meta["inputs"] == [{"name": "sil", "shape": ["batch", "frames", 32, 22], "dtype": "float32"}]
    assert meta["embedding_shape"] == ["batch", 16, 4]
    embedder = OnnxEmbedder(report.path, threads=1)
    x = inputs_for(embedder.inputs, 2, 11, seed=4)
    np.testing.assert_allclose(embedder(x), torch_embed(model.eval(), x), atol=1e-4)


def test_checkpoint_file_fixed_frames_and_shape_override(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    ckpt = next((run / "checkpoints").iterdir())
    report = export_checkpoint(ckpt, tmp_path / "m.onnx", frames=8, inputs={"sil": (64, 44)}, check=False)
    assert report.inputs[0].shape == ("batch", 8, 64, 44) and report.dynamic_axes == ("batch",)
    assert report.checks == () and report.max_abs_diff is None


def test_frame_shapes_follow_the_test_transforms(tmp_path: Path) -> None:
    cfg = micro_config(tmp_path / "none")
    assert frame_shapes_from_config(cfg, ("sil",)) == {"sil": (32, 22)}
    cfg.data.test_transforms = [{"name": "sil_cut"}]
    assert frame_shapes_from_config(cfg, ("sil",)) == {"sil": (64, 44)}
    with pytest.raises(ValueError, match="input 'rgb': cannot tell its per-frame shape"):
        frame_shapes_from_config(cfg, ("rgb",))


def test_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing"):
        export_checkpoint(tmp_path / "nothing", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
