"""GaitEdge, BigGait and DenoisingGait against the OpenGait reference outputs
(../shared/fixtures/opengait/models/{GaitEdge, BigGait__Dinov2_Gaitbase, DenoisingGait}.*), built through
``interop.opengait.build_model`` and filled with the fixtures' weight recipe.

Outputs the generic route of ``run_opengait_style`` does not carry are compared from the model's own output:
GaitEdge's ``training_feat.bce`` (the U-Net's sigmoid output and the silhouettes, ``[n·s, 1, h, w]``) from
``extras["seg_probs"]`` / ``extras["seg_target"]``. BigGait and DenoisingGait run their full networks on the
fixtures' 36 + 26 frames (DINOv2 at 448 × 224, flows at 96 × 48): those cases are marked slow.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.fixture_weights import recipe_state_dict
from gaitforge.interop.opengait import build_model, run_opengait_style


@functools.lru_cache(maxsize=1)
def _load(models_dir: str, name: str):
    meta = json.loads((Path(models_dir) / f"{name}.json").read_text())
    with np.load(Path(models_dir) / f"{name}.npz") as z:
        arrays = dict(z)
    model = build_model(meta["model_cfg"])
    model.load_state_dict(recipe_state_dict(meta), strict=True)
    return meta, arrays, model.eval()


def _model(fixtures_dir: Path, name: str):
    return _load(str(fixtures_dir / "models"), name)


def _inputs(meta: dict, arrays: dict, case: str):
    spec = meta["cases"][case]
    ipts = [torch.from_numpy(arrays[i["npz_key"]]) for i in spec["ipts"]]
    seq_l = None if spec["seqL"] is None else torch.tensor(spec["seqL"], dtype=torch.int32)
    return spec, ipts, seq_l, torch.tensor(spec["labs"], dtype=torch.int64)


def _compare(spec: dict, arrays: dict, got: dict[str, torch.Tensor]) -> dict[str, float]:
    """Every stored output must be in ``got``; returns path → max |a − e| after asserting the tolerance."""
    errors = {}
    for o in spec["outputs"]:
        path = "/".join(o["path"])
        assert path in got, f"no output for {path}"
        value, expected = got[path].numpy(), arrays[o["npz_key"]]
        assert list(value.shape) == o["shape"], path
        if o["dtype"] == "int64":
            assert value.dtype == np.int64 and np.array_equal(value, expected), path
            continue
        err = float(np.abs(value - expected).max())
        allowed = 1e-4 * max(1.0, float(np.abs(expected).max()))
        assert err <= allowed, f"{path}: max |a - e| = {err} > {allowed}"
        errors[path] = err
    return errors


def _run(fixtures_dir: Path, name: str, case: str) -> dict[str, float]:
    meta, arrays, model = _model(fixtures_dir, name)
    spec, ipts, seq_l, labs = _inputs(meta, arrays, case)
    with torch.no_grad():
        got = run_opengait_style(model, ipts, seq_l, labs)
        if name == "GaitEdge":  # the BCE pair, in the peer's [n·s, 1, h, w] layout
            out = model(Batch(inputs=model.from_opengait_inputs(ipts), labels=labs, seq_lens=None))
            h, w = out.extras["seg_probs"].shape[-2:]
            got["training_feat/bce/logits"] = out.extras["seg_probs"].reshape(-1, 1, h, w)
            got["training_feat/bce/labels"] = out.extras["seg_target"].reshape(-1, 1, h, w)
    return _compare(spec, arrays, got)


# Grouped by fixture so that each model is built once; full-size BigGait / DenoisingGait runs are slow.
_SLOW = {"BigGait__Dinov2_Gaitbase", "DenoisingGait"}
CHECKS = [
    pytest.param(name, check, marks=[pytest.mark.slow] if name in _SLOW and check != "layout" else [])
    for name in ("GaitEdge", "BigGait__Dinov2_Gaitbase", "DenoisingGait")
    for check in ("layout", "fixed", "var")
]
_REQUIRED = {
    "GaitEdge": {"training_feat/bce/logits", "training_feat/softmax/logits", "inference_feat/embeddings"},
    "BigGait__Dinov2_Gaitbase": {"inference_feat/embeddings"},
    "DenoisingGait": {"training_feat/softmax/logits", "inference_feat/embeddings"},
}


@pytest.mark.parametrize(("name", "check"), CHECKS)
def test_fixture(fixtures_dir: Path, name: str, check: str) -> None:
    meta, _, model = _model(fixtures_dir, name)
    if check == "layout":
        ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
        assert ours == meta["state_dict"]
        assert sum(p.numel() for p in model.parameters()) == meta["param_count"]
        return
    assert _REQUIRED[name] <= set(_run(fixtures_dir, name, check))


def test_gaitedge_batched_call_equals_per_sequence(fixtures_dir: Path) -> None:
    """The peer's eval forward takes one sequence at a time; a batched call here gives the same embeddings."""
    meta, arrays, model = _model(fixtures_dir, "GaitEdge")
    _, ipts, _, labs = _inputs(meta, arrays, "fixed")
    with torch.no_grad():
        batched = run_opengait_style(model, ipts, None, labs)["inference_feat/embeddings"]
        single = [run_opengait_style(model, [t[i : i + 1] for t in ipts], None, labs[i : i + 1]) for i in range(2)]
    torch.testing.assert_close(batched, torch.cat([s["inference_feat/embeddings"] for s in single]), rtol=0, atol=1e-5)
