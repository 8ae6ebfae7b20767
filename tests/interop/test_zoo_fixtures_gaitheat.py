"""FastPoseGait's GaitHeat (the released code with the four fixes its fixture records) against the reference
outputs, through ``build_model(cfg, peer="fastposegait")`` → ``gaitheat_released`` with the release's input
contract (checks in zoo_parity.py). The output cases run three full-resolution ResNet9 streams plus the fusion
stream over 36 / 26 frames (15-22 s each on the loaded 2-core machine) and are marked slow; the release's
transforms (``RotationMat``, ``Sequence_level``) are checked against the stored raw inputs quickly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.interop.opengait import build_model
from gaitforge.models.gaitheat_released import rotation_mats

from .zoo_parity import check

_CASES = [
    pytest.param("GaitHeat", what, marks=[pytest.mark.slow] if what != "layout" else [])
    for what in ("layout", "fixed", "var")
]


@pytest.mark.parametrize(("name", "what"), _CASES)
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


@pytest.fixture(scope="module")
def arrays(fixtures_dir: Path) -> dict[str, np.ndarray]:
    with np.load(fixtures_dir / "models" / "GaitHeat.npz") as z:
        return dict(z)


@pytest.mark.parametrize("case", ["fixed", "var"])
def test_rotation_mats_reproduce_the_release(arrays: dict[str, np.ndarray], case: str) -> None:
    kp, expected = arrays[f"raw_{case}__keypoints"], arrays[f"input_{case}__mats"]
    got = np.stack([rotation_mats(seq) for seq in kp])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_sequence_level_is_the_models_min_max(arrays: dict[str, np.ndarray]) -> None:
    """The release normalises float16 heatmaps over the whole (packed) sequence; the model's own min-max
    (``normalize=True``) does the same per sequence, to float16 rounding."""
    from gaitforge.models.gaitheat_released import sequence_min_max

    raw = torch.from_numpy(arrays["raw_fixed__heatmaps"][0].astype(np.float32))  # [12, 17, 64, 48]
    got = sequence_min_max(raw, [12]).numpy()
    np.testing.assert_allclose(got, arrays["input_fixed__heatmaps"][0], rtol=0, atol=2e-3)


def test_peer_choice_and_bad_matrices(fixtures_dir: Path) -> None:
    import json

    cfg = json.loads((fixtures_dir / "models" / "GaitHeat.json").read_text())["model_cfg"]
    with pytest.raises(KeyError, match=r"unsupported OpenGait model 'GaitHeat'"):
        build_model(cfg)
    small = {
        **cfg,
        "backbone_cfg": {**cfg["backbone_cfg"], "channels": [4, 4, 8, 8]},
        "SeparateFCs": {**cfg["SeparateFCs"], "in_channels": 8, "out_channels": 8},
        "SeparateBNNecks": {**cfg["SeparateBNNecks"], "in_channels": 8},
    }
    model = build_model(small, peer="fastposegait").eval()
    assert model.input_modalities == ("heatmap", "align_mats")
    heat = torch.rand(1, 3, 17, 32, 24)
    with pytest.raises(ValueError, match=r"inputs\['align_mats'\]: expected \[B, T, 2, 3, 2\]"):
        model.embed({"heatmap": heat, "align_mats": torch.zeros(1, 3, 2, 3)})
    eye = torch.tensor([[1.0, 0, 0], [0, 1, 0]])[None, None, :, :, None].expand(1, 3, 2, 3, 2)
    assert model.embed({"heatmap": heat, "align_mats": eye}).shape == (1, 8, 16)
