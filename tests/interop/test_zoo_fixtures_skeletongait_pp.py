"""SkeletonGait++ against the OpenGait reference outputs (checks in zoo_parity.py): the peer's stacked
``[n, s, 3, 64, 44]`` input (skeleton maps + silhouette), fixed batch and three packed sequences whose
pseudo-3D stages mix frames across their boundaries, as the peer does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gaitforge.interop.opengait import build_model

from .zoo_parity import check, load, params


@pytest.mark.parametrize(("name", "what"), params(["SkeletonGaitPP"]))
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_separate_modalities_equal_the_stacked_layout(fixtures_dir: Path) -> None:
    """gaitforge's own layout (``skeleton_map`` + ``sil``) gives the same embeddings as the peer's stacked one."""
    import numpy as np

    _, arrays, model = load(str(fixtures_dir / "models"), "SkeletonGaitPP")
    x = torch.from_numpy(np.ascontiguousarray(arrays["input_fixed"][:2, :6]))  # [2, 6, 3, 64, 44]
    stacked = model.embed(x)
    separate = model.embed({"skeleton_map": x[:, :, :2], "sil": x[:, :, 2]})
    torch.testing.assert_close(separate, stacked, rtol=0, atol=0)


def test_peer_config_variants() -> None:
    cfg = {
        "model": "SkeletonGaitPP",
        "Backbone": {"in_channels": 3, "blocks": [1, 4, 4, 1], "C": 1},
        "SeparateBNNecks": {"class_num": 7},
        "use_emb2": True,
    }
    model = build_model(cfg)
    assert len(model.layer2) == 4 and len(model.layer4) == 1 and model.inference_bnneck
    assert model.FCs.fc_bin.shape == (16, 256, 128) and model.BNNecks.fc_bin.shape == (16, 128, 7)
    assert model.fusion.conv.forward_block[0].weight.shape == (2, 64, 1, 1)  # hidden = 32 / 16
    with pytest.raises(ValueError, match=r"model_cfg\.Backbone\.in_channels: expected 3"):
        build_model({**cfg, "Backbone": {"in_channels": 2, "blocks": [1, 1, 1, 1], "C": 2}})
    with pytest.raises(KeyError, match=r"model_cfg\.Backbone\.mode: unknown key"):
        build_model({**cfg, "Backbone": {**cfg["Backbone"], "mode": "p3d"}})
