"""ParsingGait against the OpenGait reference outputs (checks in zoo_parity.py; the stored logits are classes
[0, 512) of 3000), its part graphs, and label maps with unknown labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.interop.opengait import build_model
from gaitforge.models.parsinggait import coarse_adjacency, fine_adjacency

from .zoo_parity import check, load, params


@pytest.mark.parametrize(("name", "what"), params(["ParsingGait"]))
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_adjacencies_are_symmetric_normalised() -> None:
    for adj, n in ((fine_adjacency(), 11), (coarse_adjacency(), 5)):
        assert adj.shape == (n, n) and torch.equal(adj, adj.T)
        a = (adj > 0).double()
        d = torch.diag(a.sum(1) ** -0.5)
        torch.testing.assert_close(adj.double(), d @ a @ d, rtol=0, atol=1e-7)
    assert int((coarse_adjacency()[0] > 0).sum()) == 5  # the trunk node touches every limb


def test_peer_graph_options_build_the_node_count() -> None:
    cfg = {
        "model": "ParsingGait",
        "backbone_cfg": {"type": "ResNet9", "channels": [4, 8, 8, 8], "layers": [1, 1, 1, 1],
                         "strides": [1, 2, 2, 1], "maxpool": False},
        "SeparateFCs": {"in_channels": 8, "out_channels": 8, "parts_num": 20},
        "SeparateBNNecks": {"class_num": 5, "in_channels": 8, "parts_num": 20},
        "bin_num": [4],
        "gcn_cfg": {"fine_parts": 11, "coarse_parts": 5, "only_fine_graph": False, "only_coarse_graph": False,
                    "combine_fine_coarse_graph": True},
    }
    model = build_model(cfg)
    names = [k for k, _ in model.state_dict().items()]
    assert names[:2] == ["gammas_fine", "gammas_coarse"] and "gcn_fine.gc1.bn.weight" in names
    assert model.embed(torch.randint(0, 12, (2, 3, 32, 22)).float()).shape == (2, 8, 20)
    with pytest.raises(ValueError, match=r"model_cfg\.SeparateFCs\.parts_num: expected 9"):
        build_model({**cfg, "gcn_cfg": {**cfg["gcn_cfg"], "only_coarse_graph": True}})


def test_unknown_labels_are_named(fixtures_dir: Path) -> None:
    _, arrays, model = load(str(fixtures_dir / "models"), "ParsingGait")
    pars = torch.from_numpy(np.ascontiguousarray(arrays["input_fixed"][:1, :3]))
    for bad in (12.0, -1.0, 2.5):
        x = pars.clone()
        x[0, 1, 30, 20] = bad
        pattern = rf"inputs\['parsing'\]: unknown parsing label {bad:g}; expected .*0\.\.11"
        with pytest.raises(ValueError, match=pattern):
            model.embed(x)
