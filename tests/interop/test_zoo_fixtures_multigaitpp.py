"""MultiGait++ against the OpenGait reference outputs (checks in zoo_parity.py): the peer's stacked
``[n, s, 5, 64, 44]`` input, and gaitforge's separate sil / parsing / flow inputs giving the same embeddings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.interop.opengait import build_model

from .zoo_parity import check, load, params


@pytest.mark.parametrize(("name", "what"), params(["MultiGaitpp"]))
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_separate_modalities_equal_the_stacked_layout(fixtures_dir: Path) -> None:
    _, arrays, model = load(str(fixtures_dir / "models"), "MultiGaitpp")
    x = torch.from_numpy(np.ascontiguousarray(arrays["input_fixed"][:2, :5]))  # [2, 5, 5, 64, 44]
    ids = torch.round(x[:, :, 1] * 255)
    assert float(ids.max()) <= 11 and torch.equal(ids / 255, x[:, :, 1])
    separate = model.embed({"sil": x[:, :, 0], "parsing": ids, "flow": x[:, :, 2:]})
    torch.testing.assert_close(separate, model.embed(x), rtol=0, atol=1e-6)
    with pytest.raises(KeyError, match=r"inputs\['flow'\]: missing"):
        model.embed({"sil": x[:, :, 0], "parsing": ids})


def test_in_channels_override_is_optional_and_checked() -> None:
    cfg = {
        "model": "MultiGaitpp",
        "Backbone": {"blocks": [1, 1, 1, 1], "C": 1, "part1_channel": 2, "part2_channel": 3},
        "SeparateBNNecks": {"class_num": 7},
    }
    assert build_model(cfg).FCs.fc_bin.shape == (16, 256, 128)
    with pytest.raises(ValueError, match=r"model_cfg\.Backbone\.in_channels: expected 5"):
        build_model({**cfg, "Backbone": {**cfg["Backbone"], "in_channels": 4}})
