"""GaitPart specifics: the temporal feature aggregator against a naive loop, peer layout and size."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gaitforge.models import create_model
from gaitforge.models.gaitpart import GaitPart, TemporalFeatureAggregator


def _naive_tfa(tfa: TemporalFeatureAggregator, x: torch.Tensor) -> torch.Tensor:
    """Per sequence, per part, per frame, written out."""
    n, c, s, p = x.shape
    out = torch.empty(n, c, p)
    for i in range(n):
        for j in range(p):
            seq = x[i, :, :, j]  # [c, s]
            score1 = torch.sigmoid(tfa.conv1d3x1[j](seq[None]))[0]
            score3 = torch.sigmoid(tfa.conv1d3x3[j](seq[None]))[0]
            padded = F.pad(seq, (2, 2))  # zeros: averages count them; maxima ignore them below
            frames = []
            for t in range(s):
                w3 = padded[:, t + 1 : t + 4]
                w5 = padded[:, t : t + 5]
                valid3 = seq[:, max(0, t - 1) : t + 2]
                valid5 = seq[:, max(0, t - 2) : t + 3]
                t3 = w3.sum(1) / 3 + valid3.max(1).values
                t5 = w5.sum(1) / 5 + valid5.max(1).values
                frames.append(t3 * score1[:, t] + t5 * score3[:, t])
            out[i, :, j] = torch.stack(frames, 1).max(1).values
    return out


def test_tfa_matches_naive_loop() -> None:
    torch.manual_seed(0)
    tfa = TemporalFeatureAggregator(in_channels=8, parts=3, squeeze=4).eval()
    x = torch.randn(2, 8, 6, 3)
    with torch.no_grad():
        torch.testing.assert_close(tfa(x), _naive_tfa(tfa, x), rtol=1e-5, atol=1e-5)


def test_full_width_size_keys_and_order_sensitivity() -> None:
    model = GaitPart()
    assert sum(p.numel() for p in model.parameters()) == 1_204_000  # the peer's CASIA-B GaitPart
    keys = list(model.state_dict())
    assert keys[0] == "Backbone.forward_block.feature.0.conv.weight"
    assert "TFA.pooling_func.conv1d3x3.15.2.conv.weight" in keys
    torch.manual_seed(0)
    small = create_model(
        "gaitpart", layers_cfg=("BC-8", "M", "FC-8-1", "M", "FC-16-2"), embed_dim=8, bins=(8,)
    ).eval()
    sil = (torch.rand(1, 6, 32, 22) > 0.5).float()
    emb = small.embed(sil)
    assert emb.shape == (1, 8, 8)
    assert not torch.allclose(small.embed(sil.flip(1)), emb)  # micro-motion: frame order matters
