"""SwinGait against the OpenGait reference outputs (checks in zoo_parity.py), and its kept
relative-position-index buffers.

The var case packs three sequences; the temporal shortcut and the (3, 3, 5) windows with temporal shift span
their boundaries, as the peer does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .zoo_parity import check, load, params


@pytest.mark.parametrize(("name", "what"), params(["SwinGait"]))
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_relative_position_index_is_the_standard_table(fixtures_dir: Path) -> None:
    meta, _, model = load(str(fixtures_dir / "models"), "SwinGait")
    kept = meta["state_dict_entries_kept_as_constructed"]
    assert len(kept) == 4
    state = model.state_dict()
    for key in kept:
        index = state[key]
        assert index.dtype == torch.int64 and index.shape == (45, 45)
        # (3, 3, 5) window: 5·5·9 = 225 table rows; zero offset in the middle; offsets are antisymmetric.
        assert int(index.min()) == 0 and int(index.max()) == 224
        assert torch.equal(index.diagonal(), torch.full((45,), 112))
        assert torch.equal(index + index.T, torch.full((45, 45), 224))
        # raster order (d, h, w): token 1 is one step right of token 0; token 5 one row down; 15 one frame on.
        assert int(index[1, 0]) == 113 and int(index[5, 0]) == 112 + 9 and int(index[15, 0]) == 112 + 45
