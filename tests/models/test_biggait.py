"""BigGait: pad-resize, the foreground decision, training extras, input checks."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models.biggait import BigGait, crop_columns, padding_resize

SMALL = dict(
    dinov2=dict(embed_dim=32, depth=4, num_heads=2, img_size=56),
    image_size=28,
    sils_size=8,
    channels=(8, 16, 16, 32),
    fusion_squeeze=4,
    embed_dim=16,
    bins=(4,),
    num_classes=5,
)


def test_padding_resize_centres_narrow_frames_and_crops_wide_ones() -> None:
    ones = torch.ones(2, 1, 16, 8)
    out = padding_resize(ones, torch.tensor([0.25, 1.0]), 16, 8)
    assert out.shape == (2, 1, 16, 8)
    assert out[0, 0, 0].tolist() == [0, 0, 1, 1, 1, 1, 0, 0]  # int(16 · 0.25) = 4 columns, centred
    assert bool((out[1] == 1).all())  # 16 columns cropped to the middle 8
    with pytest.raises(ValueError, match="empty frame"):
        padding_resize(ones, torch.tensor([0.01, 0.5]), 16, 8)


def test_closing_fills_the_interior_and_keeps_soft_edges() -> None:
    probs = torch.full((1, 1, 12, 10), 0.2)
    probs[..., 2:10, 3:7] = 0.9
    probs[..., 5, 4] = 0.4  # a hole inside the body
    closed = BigGait._close(probs)
    assert float(closed[0, 0, 5, 4]) == 1.0  # the hole is closed
    assert float(closed[0, 0, 0, 0]) == 0.0  # far background
    assert 0 < float(closed[0, 0, 1, 4]) < 1  # the band next to the body keeps its probability


def test_training_returns_the_auxiliary_losses_and_frozen_backbone_stays_in_eval() -> None:
    torch.manual_seed(0)
    model = BigGait(**SMALL).train()
    assert not model.backbone.training
    g = torch.Generator().manual_seed(0)
    rgb = torch.randn(5, 3, 3, 32, 16, generator=g)
    out = model(Batch(inputs={"rgb": rgb, "ratio": torch.full((5, 3), 0.5)}, labels=torch.arange(5)))
    for key in ("shape_connect", "shape_mse", "part_connect", "part_diversity", "aux_loss"):
        assert out.extras[key].shape == (5,), key
    parts = ("shape_connect", "shape_mse", "part_connect", "part_diversity")
    torch.testing.assert_close(out.extras["aux_loss"][0], sum(out.extras[k][0] for k in parts))
    model.eval()
    with torch.no_grad():
        assert model(Batch(inputs={"rgb": rgb, "ratio": torch.full((5, 3), 0.5)}, labels=torch.arange(5))).extras == {}


def test_frames_that_are_not_two_by_one_are_pad_resized_from_their_ratio() -> None:
    model = BigGait(**SMALL, input_size=(32, 16)).eval()
    rgb = torch.randn(1, 2, 3, 20, 20)
    with torch.no_grad():
        out = model(Batch(inputs={"rgb": rgb, "ratio": torch.tensor([[0.5, 0.3]])}, labels=torch.zeros(1).long()))
    assert out.embeddings.shape == (1, 16, 4)
    with pytest.raises(ValueError, match=r"inputs\['ratio'\]: expected \[B, T\] = \[1, 2\]"):
        model(Batch(inputs={"rgb": rgb, "ratio": torch.ones(2)}, labels=torch.zeros(1).long()))


@pytest.mark.parametrize("ratio", [0.2, 0.37, 0.5, 0.51, 0.9])
def test_crop_columns_equal_the_padded_ones_mask(ratio: float) -> None:
    ratios = torch.tensor([ratio, 0.3])
    expected = padding_resize(torch.ones(2, 1, 16, 8), ratios, 16, 8).reshape(-1) != 0
    assert torch.equal(crop_columns(ratios, 16, 8), expected)
