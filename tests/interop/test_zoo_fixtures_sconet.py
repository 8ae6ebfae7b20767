"""ScoNet against the OpenGait reference outputs (checks in zoo_parity.py): the 3-class logits are the peer's
inference embedding, and its softmax labels come from the Scoliosis1K status strings (``typs``), not ``labs``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.opengait import build_model, run_opengait_style

from .zoo_parity import check, load, params


@pytest.mark.parametrize(("name", "what"), params(["ScoNet"]))
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_softmax_labels_follow_the_status_not_the_subject(fixtures_dir: Path) -> None:
    import numpy as np

    meta, arrays, model = load(str(fixtures_dir / "models"), "ScoNet")
    x = torch.from_numpy(np.ascontiguousarray(arrays["input_fixed"][:, :4]))
    labs = torch.tensor([5, 6, 7])
    with torch.no_grad():
        out = run_opengait_style(model, [x], None, labs, typs=["positive", "negative", "Neutral"])
    assert out["training_feat/softmax/labels"].tolist() == [2, 0, 1]
    assert out["training_feat/triplet/labels"].tolist() == [5, 6, 7]
    assert out["inference_feat/embeddings"].shape == (3, 3, 16)


def test_unknown_status_is_an_error_in_training_only() -> None:
    model = build_model(
        {
            "model": "ScoNet",
            "backbone_cfg": {"type": "ResNet9", "channels": [4, 8, 8, 8], "layers": [1, 1, 1, 1],
                             "strides": [1, 2, 2, 1], "maxpool": False},
            "SeparateFCs": {"in_channels": 8, "out_channels": 8, "parts_num": 4},
            "SeparateBNNecks": {"class_num": 3, "in_channels": 8, "parts_num": 4},
            "bin_num": [4],
        }
    )
    sils = torch.rand(2, 3, 32, 22)
    batch = Batch(inputs={"sil": sils}, labels=torch.tensor([0, 1]), conditions=["nm-01", "positive"])
    model.train()
    with pytest.raises(ValueError, match=r"conditions\[0\]: expected a Scoliosis1K status"):
        model(batch)
    model.eval()
    with torch.no_grad():
        out = model(batch)
    assert "diagnosis_labels" not in out.extras and out.logits.shape == (2, 3, 4)
