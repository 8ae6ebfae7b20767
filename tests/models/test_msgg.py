"""MSGG against the peer's fixture (state dict, every output), its graphs, and as a gaitforge model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.fixture_weights import fill_with_recipe, recipe_state_dict
from gaitforge.models import create_model
from gaitforge.models.msgg import MSGG, MSGG_JOINTS, gait_temporal_adjacency

SMALL = dict(in_channels=(3, 8, 16), embed_dim=16, num_classes=5)
OUTPUTS = {
    "inference_feat/embeddings": "embeddings",
    "training_feat/triplet_joints/embeddings": "joint_embeddings",
    "training_feat/triplet_limbs/embeddings": "limb_embeddings",
    "training_feat/triplet_bodyparts/embeddings": "embeddings",
    "training_feat/softmax/logits": "logits",
}


def test_matches_the_peer_fixture(fixtures_dir: Path) -> None:
    meta = json.loads((fixtures_dir / "models" / "MSGG.json").read_text())
    z = np.load(fixtures_dir / "models" / "MSGG.npz")
    cfg = meta["model_cfg"]
    model = MSGG(num_classes=cfg["num_id"], in_channels=cfg["in_channels"], embed_dim=cfg["out_channels"])
    assert [(k, list(v.shape)) for k, v in model.state_dict().items()] == [(k, s) for k, s, _ in meta["state_dict"]]
    assert sum(p.numel() for p in model.parameters()) == meta["param_count"]
    model.load_state_dict(recipe_state_dict(meta), strict=True)
    model.eval()
    checked = 0
    for case in meta["cases"].values():
        with torch.no_grad():
            got = model.forward_features(torch.from_numpy(z[case["ipts"][0]["npz_key"]]))
        for out in case["outputs"]:
            path = "/".join(out["path"])
            if path not in OUTPUTS:
                assert path.endswith("labels")
                continue
            expected = z[out["npz_key"]]
            diff = np.abs(got[OUTPUTS[path]].numpy() - expected).max()
            assert diff <= 1e-4 * max(1.0, float(np.abs(expected).max())), path
            checked += 1
    assert checked == 10


def test_graph_partitions() -> None:
    a = gait_temporal_adjacency(0)
    assert a.shape == (3, 12, 12)
    np.testing.assert_allclose(a.sum(axis=(0, 1)), 1.0)  # each column normalised by its degree
    assert (np.diag(a[0]) > 0).all() and (np.diag(a[1]) == 0).all() and (np.diag(a[2]) == 0).all()
    assert a[2][1, 0] > 0 and a[1][0, 1] > 0  # node 1 is "positive", node 0 "negative"
    assert gait_temporal_adjacency(2).shape == (3, 3, 3)
    assert len(set(MSGG_JOINTS)) == 12 and not set(MSGG_JOINTS) & {0, 1, 2, 3, 4}


def test_as_a_gaitforge_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("msgg", **SMALL)
    x = torch.rand(4, 9, 17, 3) * 100
    model.train()
    out = model(Batch(inputs={"pose": x}, labels=torch.tensor([0, 1, 2, 3])))
    assert out.embeddings.shape == (4, 16, 1) and out.logits.shape == (4, 5, 1)
    assert out.extras["joint_embeddings"].shape == out.extras["limb_embeddings"].shape == (4, 16, 1)
    (out.embeddings.sum() + out.logits.pow(2).sum() + sum(v.sum() for v in out.extras.values())).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    y = torch.rand(1, 18, 17, 3) * 100
    torch.testing.assert_close(
        model.embed(y, seq_lens=torch.tensor([5, 6, 7])),
        torch.cat([model.embed(c) for c in torch.split(y, [5, 6, 7], dim=1)]),
    )
    fill_with_recipe(model, "rt")
    torch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = create_model("msgg", **SMALL).eval()
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    torch.testing.assert_close(fresh.embed(x), model.embed(x), rtol=0, atol=0)
