"""SwinGait specifics: peer size, the dropped extra part, frame mixing, input sizes."""

from __future__ import annotations

import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model
from gaitforge.models.swingait import SwinGait

SMALL = dict(channels=(4, 8), embed_dim=8, num_heads=(2, 2), out_dim=8, num_classes=5)


def test_peer_size_and_keys() -> None:
    model = SwinGait()
    assert sum(p.numel() for p in model.parameters()) == 11_039_520  # swingait3D_B1122C2_CCPG.yaml
    assert model.FCs.fc_bin.shape == (16, 512, 256) and model.BNNecks.fc_bin.shape == (16, 256, 100)
    assert "transformer.layers.1.blocks.1.attn.relative_position_index" in model.state_dict()


def test_outputs_drop_the_extra_part() -> None:
    torch.manual_seed(0)
    model = create_model("swingait", **SMALL).eval()
    out = model(Batch(inputs={"sil": torch.rand(2, 4, 32, 22)}, labels=torch.zeros(2, dtype=torch.long)))
    assert out.embeddings.shape == (2, 8, 15) and out.logits.shape == (2, 5, 15)
    assert out.extras["bnneck_embeddings"].shape == (2, 8, 15)
    # Any input size works: the stem's maps are resized to 30x20 (Gait3D uses uncut 64x64 silhouettes).
    assert model.embed(torch.rand(1, 3, 64, 64)).shape == (1, 8, 15)


def test_packed_sequences_see_their_neighbours() -> None:
    torch.manual_seed(0)
    model = create_model("swingait", **SMALL).eval()
    assert model.mixes_packed_frames
    x = (torch.rand(1, 9, 32, 22) > 0.5).float()
    packed = model.embed(x, seq_lens=torch.tensor([4, 5]))
    assert not torch.allclose(packed[:1], model.embed(x[:, :4]), atol=1e-5)
    torch.testing.assert_close(model.embed(x, seq_lens=torch.tensor([9])), model.embed(x))


def test_isolated_packed_sequences_equal_separate_runs() -> None:
    torch.manual_seed(0)
    model = create_model("swingait", isolate_packed_sequences=True, **SMALL).eval()
    assert not model.mixes_packed_frames
    x = (torch.rand(1, 9, 32, 22) > 0.5).float()
    packed = model.embed(x, seq_lens=torch.tensor([4, 5]))
    torch.testing.assert_close(
        packed, torch.cat([model.embed(x[:, :4]), model.embed(x[:, 4:])]), rtol=1e-5, atol=1e-5
    )
