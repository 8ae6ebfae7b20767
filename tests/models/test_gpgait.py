"""GPGait (no peer fixture): parts, shapes, part masks, gradients, packed sequences, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.models import create_model
from gaitforge.models.gpgait import COCO_PARTITIONS, PAGCN, GPGait, _part_mask

SMALL = dict(channels=(8, 8, 16, 16), embed_dim=16, num_classes=5)


def _pose(n: int, t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, t, 17, 3), generator=g) * 100


def test_parts_and_outputs() -> None:
    torch.manual_seed(0)
    model = create_model("gpgait", **SMALL)
    assert isinstance(model, GPGait)
    assert model.joint_branch.num_parts == 8 and model.angle_branch.num_parts == 3  # 19 parts in all
    model.train()
    out = model(Batch(inputs={"pose": _pose(4, 6)}, labels=torch.tensor([0, 1, 2, 3])))
    assert out.embeddings.shape == (4, 16, 19) and out.logits.shape == (4, 5, 19)
    assert out.extras["pre_bnneck_embeddings"].shape == (4, 16, 19)
    loss = out.extras["pre_bnneck_embeddings"].pow(2).mean() + out.logits.pow(2).mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_part_mask_keeps_information_inside_parts() -> None:
    """The part mask keeps the arms out of the legs' aggregation. (The attention is normalised over all joints
    before masking, as the authors do, so it is switched off here to isolate the mask.)"""
    torch.manual_seed(0)
    adj = torch.ones(3, 17, 17) / 17
    layer = PAGCN(2, 4, adj, _part_mask(COCO_PARTITIONS["arms_legs_head"], 17)).eval()
    for conv in [*layer.theta, *layer.phi]:
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    x = torch.rand(1, 2, 5, 17)
    y = x.clone()
    y[..., 9] += 5.0  # left wrist
    legs = list(COCO_PARTITIONS["arms_legs_head"][1])
    torch.testing.assert_close(layer(x)[..., legs], layer(y)[..., legs])
    assert not torch.allclose(layer(x)[..., 7], layer(y)[..., 7])


def test_packed_sequences_and_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("gpgait", **SMALL).eval()
    x = _pose(1, 18, 2)
    packed = model.embed(x, seq_lens=torch.tensor([5, 6, 7]))
    torch.testing.assert_close(packed, torch.cat([model.embed(c) for c in torch.split(x, [5, 6, 7], dim=1)]))
    fill_with_recipe(model, "rt")
    torch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = create_model("gpgait", **SMALL).eval()
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    torch.testing.assert_close(fresh.embed(_pose(2, 5)), model.embed(_pose(2, 5)), rtol=0, atol=0)


def test_share_num_is_checked() -> None:
    with pytest.raises(ValueError, match="share_num"):
        GPGait(channels=(8, 8), share_num=2)
