"""Shared checks of the zoo fixture tests (``test_zoo_fixtures*.py``) against
../shared/fixtures/opengait/models.

For a fixture: ``build_model(meta["model_cfg"])`` has the peer's state-dict keys, shapes, dtypes, order and
parameter count; loaded with the recipe weights it reproduces every stored output of the fixed and the var
case within ``1e-4 · max(1, max|expected|)`` (labels exactly), under the peer's output paths.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import torch

from gaitforge.interop.fixture_weights import recipe_state_dict
from gaitforge.interop.opengait import build_model, run_opengait_style

CHECKS = ("layout", "fixed", "var")


def params(names: list[str]) -> list[tuple[str, str]]:
    """``(fixture, check)`` pairs, grouped by fixture so that each model is built once."""
    return [(name, check) for name in names for check in CHECKS]


@functools.lru_cache(maxsize=1)
def load(models_dir: str, name: str):
    """(meta, arrays, model with recipe weights in eval mode); one model is kept at a time."""
    meta = json.loads((Path(models_dir) / f"{name}.json").read_text())
    with np.load(Path(models_dir) / f"{name}.npz") as z:
        arrays = dict(z)
    peer = "fastposegait" if meta.get("peer_repo") == "BNU-IVC/FastPoseGait" else "opengait"
    model = build_model(meta["model_cfg"], peer=peer)
    state = model.state_dict()
    state.update(recipe_state_dict(meta))  # entries kept as constructed keep the model's own values
    model.load_state_dict(state, strict=True)
    return meta, arrays, model.eval()


def check_layout(meta: dict, model: torch.nn.Module) -> None:
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
    assert ours == meta["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == meta["param_count"]


def max_deviation(
    meta: dict, arrays: dict, model: torch.nn.Module, case: str
) -> dict[str, tuple[float, float]]:
    """Run one case the way the peer's test loop does (in one batched call, also where the peer needs batch
    1) and return ``path → (max |a − e|, allowed)``; labels must match exactly and shapes and paths agree."""
    spec = meta["cases"][case]
    ipts = [torch.from_numpy(arrays[i["npz_key"]]) for i in spec["ipts"]]
    seq_l = None if spec["seqL"] is None else torch.tensor(spec["seqL"], dtype=torch.int32)
    labs = torch.tensor(spec["labs"], dtype=torch.int64)
    with torch.no_grad():
        torch.manual_seed(0)  # as the reference run: LidarGait++ draws its FPS start points from the global generator
        out = run_opengait_style(model, ipts, seq_l, labs, typs=spec.get("typs"))
    assert set(out) == {"/".join(o["path"]) for o in spec["outputs"]}
    result = {}
    for o in spec["outputs"]:
        path = "/".join(o["path"])
        got = out[path]
        assert list(got.shape) == o["shape"], path
        if "stored_slice" in o:
            sl = o["stored_slice"]
            got = got.narrow(sl["dim"], sl["start"], sl["stop"] - sl["start"])
        got, expected = got.numpy(), arrays[o["npz_key"]]
        if o["dtype"] == "int64":
            assert got.dtype == np.int64 and np.array_equal(got, expected), path
            continue
        err = float(np.abs(got - expected).max())
        result[path] = (err, 1e-4 * max(1.0, float(np.abs(expected).max())))
    return result


def check(models_dir: str, name: str, what: str) -> None:
    """One check of a fixture: ``layout``, ``fixed`` or ``var``."""
    meta, arrays, model = load(models_dir, name)
    if what == "layout":
        check_layout(meta, model)
        return
    for path, (err, allowed) in max_deviation(meta, arrays, model, what).items():
        assert err <= allowed, f"{name} {what} {path}: max |a - e| = {err} > {allowed}"
