"""GLN specifics: both phases, peer sizes, the compact block, several packed sequences."""

from __future__ import annotations

import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model
from gaitforge.models.gln import GLN

SMALL = dict(channels=(4, 8, 8), lateral_dim=8, embed_dim=8, hidden_dim=6, bins=(8, 4, 2, 1), num_classes=5)


def test_peer_sizes_of_both_phases() -> None:
    assert sum(p.numel() for p in GLN(pretrain=False).parameters()) == 14_703_904  # gln_phase2.yaml
    phase1 = GLN(pretrain=True)
    assert sum(p.numel() for p in phase1.parameters()) == 8_541_984  # gln_phase1.yaml
    assert not any(k.startswith(("encoder_bn", "reduce_")) for k in phase1.state_dict())


def test_compact_block_outputs_and_frozen_shifts() -> None:
    torch.manual_seed(0)
    model = create_model("gln", **SMALL).eval()
    sil = (torch.rand(2, 5, 32, 22) > 0.5).float()
    out = model(Batch(inputs={"sil": sil}, labels=torch.zeros(2, dtype=torch.long)))
    assert out.embeddings.shape == (2, 8, 45) and out.logits is None
    assert out.extras["compact_logits"].shape == (2, 5, 1)
    assert out.extras["compact_embeddings"].shape == (2, 6, 1)
    torch.testing.assert_close(out.extras["opengait_logits"], out.extras["compact_logits"].transpose(1, 2))
    assert not model.encoder_bn.bias.requires_grad and not model.reduce_bn.bias.requires_grad
    phase1 = create_model("gln", pretrain=True, **SMALL).eval()
    assert phase1(Batch(inputs={"sil": sil}, labels=torch.zeros(2, dtype=torch.long))).extras == {}


def test_several_packed_sequences_in_phase_two() -> None:
    # The peer's phase 2 fails on more than one packed sequence; here each is pooled on its own.
    torch.manual_seed(0)
    model = create_model("gln", **SMALL).eval()
    x = (torch.rand(1, 11, 32, 22) > 0.5).float()
    lengths = torch.tensor([4, 7])
    out = model(Batch(inputs={"sil": x}, labels=torch.zeros(2, dtype=torch.long), seq_lens=lengths))
    first = model(Batch(inputs={"sil": x[:, :4]}, labels=torch.zeros(1, dtype=torch.long)))
    torch.testing.assert_close(out.embeddings[:1], first.embeddings, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        out.extras["compact_logits"][:1], first.extras["compact_logits"], rtol=1e-5, atol=1e-5
    )
