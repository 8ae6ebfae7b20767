"""GaitGraph and GaitGraph2 against the peer's fixtures (state dict, outputs), and as gaitforge models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.fixture_weights import fill_with_recipe, recipe_state_dict
from gaitforge.models import create_model
from gaitforge.models.gaitgraph import GaitGraph1, GaitGraph2, hop_adjacency

SMALL = dict(input_branch=(3, 8, 8), main_stream=(8, 16, 16), embed_dim=16, reduction=4)
SMALL2 = dict(input_branch=(5, 8, 8), main_stream=(8, 16, 32), embed_dim=16, reduction=4)


def _build(name: str, cfg: dict) -> torch.nn.Module:
    cls = {"GaitGraph1": GaitGraph1, "GaitGraph2": GaitGraph2}[name]
    return cls(
        embed_dim=cfg["num_class"],
        input_branch=cfg["input_branch"],
        main_stream=cfg["main_stream"],
        reduction=cfg["reduction"],
        block=cfg["block"],
        tta=cfg["tta"],
    )


@pytest.mark.parametrize("name", ["GaitGraph1", "GaitGraph2"])
def test_matches_the_peer_fixture(fixtures_dir: Path, name: str) -> None:
    meta = json.loads((fixtures_dir / "models" / f"{name}.json").read_text())
    z = np.load(fixtures_dir / "models" / f"{name}.npz")
    model = _build(name, meta["model_cfg"])
    assert [(k, list(v.shape)) for k, v in model.state_dict().items()] == [(k, s) for k, s, _ in meta["state_dict"]]
    assert sum(p.numel() for p in model.parameters()) == meta["param_count"]
    model.load_state_dict(recipe_state_dict(meta), strict=True)
    model.eval()
    for case in meta["cases"].values():
        x = torch.from_numpy(z[case["ipts"][0]["npz_key"]])
        with torch.no_grad():
            got = model.forward_features(x)
        for out in case["outputs"]:
            expected = z[out["npz_key"]]
            if out["dtype"] == "int64":  # label pass-through
                assert expected.tolist() == case["labs"]
                continue
            tol = 1e-4 * max(1.0, float(np.abs(expected).max()))
            assert np.abs(got.reshape(expected.shape).numpy() - expected).max() <= tol, out["path"]


def test_loaded_adjacency_is_shared_like_the_peer() -> None:
    model = GaitGraph2(**SMALL2)
    state = model.state_dict()
    for i in range(3):
        state[f"ResGCN.head.{i}.A"] = torch.full_like(state[f"ResGCN.head.{i}.A"], float(i + 1))
    model.load_state_dict(state)
    for i in range(3):
        assert (model.ResGCN.head[i].A == 3).all()
    assert (model.ResGCN.graph == 3).all()


def test_hop_adjacency_of_a_chain() -> None:
    a = hop_adjacency(3, [(0, 1), (1, 2)], 2)
    # joint 1 reaches all three within 2 hops, so each column sums to 1 over the hop partitions
    np.testing.assert_allclose(a.sum(axis=(0, 1)), 1.0)
    assert (
        a[0, 1, 1] == pytest.approx(1 / 3) and a[1, 0, 1] == pytest.approx(1 / 3) and a[2, 0, 2] == pytest.approx(1 / 3)
    )


def _pose(n: int, t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, t, 17, 3), generator=g)
    x[..., :2] *= 100
    return x


@pytest.mark.parametrize(("name", "kw"), [("gaitgraph1", SMALL), ("gaitgraph2", SMALL2)])
def test_train_eval_shapes_packed_and_round_trip(name: str, kw: dict, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, **kw)
    x = _pose(4, 8)
    model.train()
    out = model(Batch(inputs={"pose": x}, labels=torch.tensor([0, 0, 1, 1])))
    assert out.embeddings.shape == ((4, 16, 2) if name == "gaitgraph1" else (4, 16, 1)) and out.logits is None
    out.embeddings.pow(2).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    stacked = model.embed(x)
    assert stacked.shape == ((4, 16, 1) if name == "gaitgraph1" else (4, 48, 1))
    packed = model.embed(_pose(1, 5 + 9 + 12, 1), seq_lens=torch.tensor([5, 9, 12]))
    singles = torch.cat([model.embed(c) for c in torch.split(_pose(1, 26, 1), [5, 9, 12], dim=1)])
    torch.testing.assert_close(packed, singles)
    fill_with_recipe(model, "rt")
    torch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = create_model(name, **kw).eval()
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    torch.testing.assert_close(fresh.embed(x), model.embed(x), rtol=0, atol=0)


def test_bad_input_is_named() -> None:
    model = GaitGraph2(**SMALL2)
    with pytest.raises(ValueError, match=r"has shape \(2, 8, 64, 44, 1\); expected a pose \[B, T, 17, 3\]"):
        model(Batch(inputs={"pose": torch.zeros(2, 8, 64, 44, 1)}, labels=torch.zeros(2, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"Batch.inputs\['pose'\] has shape \(2, 8, 64, 44\)"):
        model(Batch(inputs={"pose": torch.zeros(2, 8, 64, 44)}, labels=torch.zeros(2, dtype=torch.long)))
