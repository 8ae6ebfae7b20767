"""OnnxEmbedder: PyTorch's input conventions, metadata, and input errors that name the input and the shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.export import OnnxEmbedder, export_onnx, read_metadata
from gaitforge.export.runtime import make_session
from gaitforge.models import list_models
from tests.export.helpers import inputs_for, small_model, torch_embed


@pytest.fixture(scope="module")
def gaitbase_onnx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    model, shapes = small_model("gaitbase")
    path = tmp_path_factory.mktemp("onnx") / "gaitbase.onnx"
    export_onnx(model, path, inputs=shapes, metric="cos", metadata={"config_hash": "sha256:abc"})
    return path, model


def test_array_or_mapping_in_embeddings_out(gaitbase_onnx: tuple[Path, object]) -> None:
    path, model = gaitbase_onnx
    embedder = OnnxEmbedder(path, threads=1)
    assert embedder.model_name == "gaitbase" and embedder.metric == "cos"
    assert embedder.inputs[0].shape == ("batch", "frames", 64, 44)
    x = inputs_for(embedder.inputs, 2, 5, seed=3)
    out = embedder(x["sil"])  # one array, as GaitModel.embed takes one tensor
    np.testing.assert_allclose(out, torch_embed(model, x), atol=1e-4)
    np.testing.assert_array_equal(embedder.embed(x), out)
    np.testing.assert_array_equal(embedder(x["sil"].astype(np.float64)), out)  # floats are cast
    np.testing.assert_array_equal(embedder(x["sil"].astype(bool)), out)  # binary masks too
    meta = read_metadata(path)
    assert meta["config_hash"] == "sha256:abc" and meta["version"] and meta["exporter"] == "torchscript"
    assert "OnnxEmbedder" in repr(embedder) and "sil [batch, frames, 64, 44]" in repr(embedder)


def test_input_errors_name_the_input_and_shapes(gaitbase_onnx: tuple[Path, object]) -> None:
    path, _ = gaitbase_onnx
    embedder = OnnxEmbedder(path, threads=1)
    good = np.zeros((2, 5, 64, 44), np.float32)
    with pytest.raises(
        ValueError, match=r"input 'sil' expected shape \[batch, frames, 64, 44\] float32, given \[2, 5, 64, 64\]"
    ):
        embedder(np.zeros((2, 5, 64, 64), np.float32))
    with pytest.raises(ValueError, match=r"input 'sil' expected shape .* given \[5, 64, 44\]"):
        embedder(good[0])
    with pytest.raises(TypeError, match=r"input 'sil' expected .* given \[2, 5, 64, 44\] uint8.*scaled to \[0, 1\]"):
        embedder(good.astype(np.uint8))
    with pytest.raises(ValueError, match=r"expected inputs \['sil'\]; missing \['sil'\], unexpected \['pose'\]"):
        embedder({"pose": good})
    with pytest.raises(ValueError, match="empty axis 'frames'"):
        embedder(np.zeros((2, 0, 64, 44), np.float32))


def test_fixed_length_export_rejects_other_lengths(tmp_path: Path) -> None:
    model, shapes = small_model("gei")
    export_onnx(model, tmp_path / "gei.onnx", inputs=shapes, frames=6)
    embedder = OnnxEmbedder(tmp_path / "gei.onnx")
    assert embedder.inputs[0].shape == ("batch", 6, 64, 44)
    x = inputs_for(embedder.inputs, 3, 6, seed=0)
    np.testing.assert_allclose(embedder(x), torch_embed(model, x), atol=1e-5)
    with pytest.raises(ValueError, match=r"axis 1 must be 6; this export has a fixed sequence length.*--frames"):
        embedder(np.zeros((3, 7, 64, 44), np.float32))


@pytest.mark.skipif("skeletongait_pp" not in list_models(), reason="needs a two-input model")
def test_inputs_must_agree_on_batch_and_frames(tmp_path: Path) -> None:
    model, shapes = small_model("skeletongait_pp")
    export_onnx(model, tmp_path / "pp.onnx", inputs=shapes, check=False)
    embedder = OnnxEmbedder(tmp_path / "pp.onnx", threads=1)
    x = inputs_for(embedder.inputs, 2, 4, seed=0)
    np.testing.assert_allclose(embedder(x), torch_embed(model, x), atol=1e-4)
    with pytest.raises(ValueError, match="input 'sil' has frames = 3, but input 'skeleton_map' has frames = 4"):
        embedder({**x, "sil": x["sil"][:, :3]})
    with pytest.raises(ValueError, match="input 'sil' has batch = 1"):
        embedder({**x, "sil": x["sil"][:1]})


def test_files_without_gaitforge_metadata_are_validated_from_the_graph(tmp_path: Path) -> None:
    import onnx

    model, shapes = small_model("gei")
    export_onnx(model, tmp_path / "gei.onnx", inputs=shapes)
    proto = onnx.load(str(tmp_path / "gei.onnx"))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "plain.onnx"))
    embedder = OnnxEmbedder(tmp_path / "plain.onnx")
    assert embedder.model_name is None and embedder.inputs[0].shape == ("batch", "frames", 64, 44)
    with pytest.raises(ValueError, match="input 'sil' expected shape"):
        embedder(np.zeros((1, 2, 3, 4), np.float32))


def test_missing_file_and_bad_options(tmp_path: Path, gaitbase_onnx: tuple[Path, object]) -> None:
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        OnnxEmbedder(tmp_path / "nope.onnx")
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        read_metadata(tmp_path / "nope.onnx")
    with pytest.raises(ValueError, match="providers.*NoSuchExecutionProvider"):
        make_session(gaitbase_onnx[0], providers=["NoSuchExecutionProvider"])
    with pytest.raises(ValueError, match="threads"):
        make_session(gaitbase_onnx[0], threads=0)
