"""GaitTR against the peer's fixture (state dict, outputs), and as a gaitforge model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.fixture_weights import fill_with_recipe, recipe_state_dict
from gaitforge.models import create_model
from gaitforge.models.gaittr import GaitTR

SMALL = dict(in_channels=(10, 16, 16, 32), embed_dim=16, heads=4)


def test_matches_the_peer_fixture(fixtures_dir: Path) -> None:
    meta = json.loads((fixtures_dir / "models" / "GaitTR.json").read_text())
    z = np.load(fixtures_dir / "models" / "GaitTR.npz")
    cfg = meta["model_cfg"]
    model = GaitTR(embed_dim=cfg["num_class"], in_channels=cfg["in_channels"])
    assert [(k, list(v.shape)) for k, v in model.state_dict().items()] == [(k, s) for k, s, _ in meta["state_dict"]]
    assert sum(p.numel() for p in model.parameters()) == meta["param_count"]
    model.load_state_dict(recipe_state_dict(meta), strict=True)
    model.eval()
    for case in meta["cases"].values():
        x = torch.from_numpy(z[case["ipts"][0]["npz_key"]])
        with torch.no_grad():
            got = model.forward_features(x).numpy()
        expected = z[case["outputs"][0]["npz_key"]]
        assert np.abs(got - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))


def test_as_a_gaitforge_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("gaittr", num_classes=3, **SMALL)
    x = torch.rand(3, 7, 17, 3) * 50
    model.train()
    out = model(Batch(inputs={"pose": x}, labels=torch.tensor([0, 1, 2])))
    assert out.embeddings.shape == (3, 16, 1)
    out.embeddings.pow(2).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    y = torch.rand(1, 21, 17, 3) * 50
    packed = model.embed(y, seq_lens=torch.tensor([6, 7, 8]))
    torch.testing.assert_close(packed, torch.cat([model.embed(c) for c in torch.split(y, [6, 7, 8], dim=1)]))
    fill_with_recipe(model, "rt")
    torch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = create_model("gaittr", **SMALL).eval()
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    torch.testing.assert_close(fresh.embed(x), model.embed(x), rtol=0, atol=0)
