"""GaitSSB pre-training and fine-tuning against the OpenGait reference outputs (checks in zoo_parity.py), the
pre-training model's two-view branch (the fixture's ``extra_cases.pair``), and a training step without identities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.losses import LossCollection
from gaitforge.models import create_model

from .zoo_parity import check, load, params


@pytest.mark.parametrize(("name", "what"), params(["GaitSSB_Pretrain"]))
def test_pretrain_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_two_view_branch_matches_reference(fixtures_dir: Path) -> None:
    meta, arrays, model = load(str(fixtures_dir / "models"), "GaitSSB_Pretrain")
    pair = meta["extra_cases"]["pair"]
    q, k = (torch.from_numpy(arrays[i["npz_key"]]) for i in pair["ipts"])
    model.training = True  # the top-level flag only: every submodule (BatchNorm included) stays in eval mode
    try:
        with torch.no_grad():
            out = model(Batch(inputs={"sil": q, "sil_view2": k}, labels=torch.tensor(pair["labs"])))
    finally:
        model.training = False
    got = {
        "training_feat/softmax1/logits": out.logits,
        "training_feat/softmax2/logits": out.extras["logits_swapped"],
        "training_feat/softmax1/labels": out.extras["pair_labels"],
        "training_feat/softmax2/labels": out.extras["pair_labels"],
    }
    for o in pair["outputs"]:
        value, expected = got["/".join(o["path"])].numpy(), arrays[o["npz_key"]]
        assert list(value.shape) == o["shape"]
        if o["dtype"] == "int64":
            assert np.array_equal(value, expected)
        else:
            assert float(np.abs(value - expected).max()) <= 1e-4 * max(1.0, float(np.abs(expected).max()))


@pytest.mark.parametrize(("name", "what"), params(["GaitSSB_Finetune"]))
def test_finetune_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_pretraining_step_uses_no_identity_labels() -> None:
    """The SimSiam cross-entropy reads ``pair_labels`` from the output; the batch labels are all -1."""
    torch.manual_seed(0)
    model = create_model("gaitssb_pretrain", channels=(4, 8, 8, 8), bins=(4, 2, 1)).train()
    losses = LossCollection.from_config(
        [
            {"name": "ce", "input": "logits", "labels": "pair_labels"},
            {"name": "ce", "input": "logits_swapped", "labels": "pair_labels"},
        ]
    )
    views = (torch.rand(4, 5, 32, 22) > 0.5).float()
    batch = Batch(inputs={"sil": views, "sil_view2": views.flip(-1)}, labels=torch.full((4,), -1))
    out = model(batch)
    assert out.logits.shape == (4, 4, 7) and out.extras["pair_labels"].tolist() == [0, 1, 2, 3]
    total, stats = losses(out, batch.labels)
    total.backward()
    assert torch.isfinite(total) and "ce2/loss" in stats
    assert model.Backbone.forward_block.conv1.conv.weight.grad is not None


def test_finetune_freezes_the_stem_and_zero_rate_stages(fixtures_dir: Path) -> None:
    meta, _, model = load(str(fixtures_dir / "models"), "GaitSSB_Finetune")
    assert model.frozen == ("stem", "layer1")  # backbone_lr [0.0, 0.001, 0.001, 0.001]
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert "Backbone.forward_block.conv1.conv.weight" in frozen
    assert "Backbone.forward_block.layer1.0.conv1.weight" in frozen
    assert "Backbone.forward_block.layer2.0.conv1.weight" not in frozen
