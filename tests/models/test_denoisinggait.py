"""DenoisingGait: the matching flow finds a known shift; frame pairing; input checks."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models.denoisinggait import DenoisingGait, local_matching_flow


def test_matching_flow_recovers_an_integer_shift() -> None:
    g = torch.Generator().manual_seed(0)
    a = 8.0 * torch.randn(1, 16, 2, 12, 10, generator=g)  # distinctive features: a sharp correlation peak
    b = torch.roll(a, shifts=(1, -2), dims=(3, 4))  # feature at (y, x) moves to (y + 1, x - 2)
    flow = local_matching_flow(a, b, radius=3, chunk=1)
    assert flow.shape == (1, 2, 2, 12, 10)
    interior = flow[..., 3:-3, 3:-3]
    torch.testing.assert_close(interior[:, 0], torch.full_like(interior[:, 0], -2.0), atol=1e-3, rtol=0)
    torch.testing.assert_close(interior[:, 1], torch.full_like(interior[:, 1], 1.0), atol=1e-3, rtol=0)
    # chunking does not change the result
    torch.testing.assert_close(local_matching_flow(a, b, 3, chunk=2), flow, rtol=0, atol=0)


def test_inputs_are_checked_and_named() -> None:
    model = DenoisingGait(channels=(8, 8, 16, 16), embed_dim=16, bins=(4,), num_classes=5, radius=1).eval()
    feats = torch.randn(1, 3, 4, 16, 8)
    with pytest.raises(ValueError, match=r"inputs\['sil'\]: expected \[B, T, h, w\] = \[1, 3, 16, 8\]"):
        model(Batch(inputs={"diffusion_feature": feats, "sil": torch.zeros(1, 3, 16, 6)}, labels=torch.zeros(1).long()))
    with pytest.raises(ValueError, match="p: only 0"):
        DenoisingGait(p=0.2)


def test_next_frame_pairing_uses_the_following_frame() -> None:
    """Changing the last frame changes the inter-frame flow of the frame before it, not of earlier ones."""
    torch.manual_seed(0)
    model = DenoisingGait(channels=(8, 8, 16, 16), embed_dim=16, bins=(4,), num_classes=5, radius=1).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, 4, 16, 8, generator=g).transpose(1, 2)
    mask = torch.ones(1, 1, 4, 16, 8)
    y = x.clone()
    y[:, :, -1] += 1.0
    nxt = lambda t: torch.cat((t[:, :, 1:], t[:, :, -1:]), dim=2)  # noqa: E731
    with torch.no_grad():
        fx = local_matching_flow(*model.AppF(x, nxt(x), mask, mask), radius=1)
        fy = local_matching_flow(*model.AppF(y, nxt(y), mask, mask), radius=1)
    assert torch.equal(fx[:, :, :2], fy[:, :, :2])
    assert not torch.equal(fx[:, :, 2], fy[:, :, 2])
