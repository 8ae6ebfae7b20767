"""GaitBase against the OpenGait reference outputs (../shared/fixtures/opengait/models/GaitBase.*)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.interop.fixture_weights import recipe_state_dict
from gaitforge.interop.opengait import build_model, run_opengait_style


@pytest.fixture(scope="module")
def gaitbase(fixtures_dir: Path):
    meta = json.loads((fixtures_dir / "models" / "GaitBase.json").read_text())
    arrays = np.load(fixtures_dir / "models" / "GaitBase.npz")
    model = build_model(meta["model_cfg"])
    model.load_state_dict(recipe_state_dict(meta), strict=True)
    model.eval()
    return meta, arrays, model


def test_state_dict_layout_and_parameter_count(gaitbase) -> None:
    meta, _, model = gaitbase
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
    assert ours == meta["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == meta["param_count"] == 7_305_408


@pytest.mark.parametrize("case", ["fixed", "var"])
def test_outputs_match_reference(gaitbase, case: str) -> None:
    meta, arrays, model = gaitbase
    spec = meta["cases"][case]
    ipts = [torch.from_numpy(arrays[i["npz_key"]]) for i in spec["ipts"]]
    seq_l = None if spec["seqL"] is None else torch.tensor(spec["seqL"], dtype=torch.int32)
    labs = torch.tensor(spec["labs"], dtype=torch.int64)
    with torch.no_grad():
        out = run_opengait_style(model, ipts, seq_l, labs)
    assert len(spec["outputs"]) == 5
    for o in spec["outputs"]:
        path = "/".join(o["path"])
        expected = arrays[o["npz_key"]]
        got = out[path].numpy()
        assert list(got.shape) == o["shape"], path
        if o["dtype"] == "int64":
            assert got.dtype == np.int64 and np.array_equal(got, expected), path
        else:
            err = float(np.abs(got - expected).max())
            assert err <= 1e-4 * max(1.0, float(np.abs(expected).max())), f"{path}: max |a - e| = {err}"
