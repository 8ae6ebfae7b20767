"""The fixture weight recipe."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch

from gaitforge.interop.fixture_weights import fill_with_recipe, recipe_seed, recipe_state_dict, recipe_value
from gaitforge.models.blocks import SeparateBNNecks


def test_seed_and_value_follow_the_recipe() -> None:
    key = "FCs.fc_bin"
    seed = recipe_seed("salt", key)
    assert seed == int(hashlib.sha256(b"salt:FCs.fc_bin").hexdigest()[:8], 16)
    expected = np.random.default_rng(seed).standard_normal((2, 9, 3)) / 3.0  # / sqrt(shape[1])
    assert torch.equal(recipe_value("salt", key, (2, 9, 3)), torch.from_numpy(expected.astype(np.float32)))
    conv = np.random.default_rng(recipe_seed("s", "c.weight")).standard_normal((4, 2, 3, 3)) / math.sqrt(18)
    assert torch.equal(recipe_value("s", "c.weight", (4, 2, 3, 3)), torch.from_numpy(conv.astype(np.float32)))


@pytest.mark.parametrize(
    "key,low,high",
    [
        ("bn.running_var", 0.5, 1.5),
        ("bn.weight", 0.4, 1.6),
        ("bn.bias", -0.6, 0.6),
        ("bn.running_mean", -0.6, 0.6),
    ],
)
def test_one_dim_ranges(key: str, low: float, high: float) -> None:
    v = recipe_value("s", key, (1000,))
    assert v.dtype == torch.float32 and low <= float(v.min()) and float(v.max()) < high
    assert v.std() > 0.05


def test_state_dict_from_meta_and_fill() -> None:
    meta = {
        "salt": "s",
        "state_dict": [
            ["a.weight", [3, 2], "float32"],
            ["bn.num_batches_tracked", [], "int64"],
            ["idx", [2, 2], "int64"],
        ],
        "state_dict_entries_kept_as_constructed": ["idx"],
    }
    sd = recipe_state_dict(meta)
    assert list(sd) == ["a.weight", "bn.num_batches_tracked"]
    assert sd["bn.num_batches_tracked"].dtype == torch.int64 and sd["bn.num_batches_tracked"].shape == ()
    with pytest.raises(ValueError, match="idx"):
        recipe_state_dict({**meta, "state_dict_entries_kept_as_constructed": []})
    with pytest.raises(KeyError, match="salt"):
        recipe_state_dict({"state_dict": []})
    neck = fill_with_recipe(SeparateBNNecks(2, 3, 4), "s")
    assert torch.equal(neck.fc_bin.data, recipe_value("s", "fc_bin", (2, 3, 4)))
