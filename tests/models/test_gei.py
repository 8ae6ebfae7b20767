"""Gait Energy Image baseline."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model, is_trainable
from gaitforge.models.gei import GaitEnergyImage


def test_gei_is_the_mean_silhouette() -> None:
    sil = (torch.rand(2, 7, 8, 6) > 0.5).to(torch.uint8)
    out = GaitEnergyImage()(Batch(inputs={"sil": sil}, labels=torch.tensor([0, 1])))
    assert out.logits is None
    assert out.embeddings.shape == (2, 48, 1)
    for i in range(2):
        expected = sum(sil[i, t].float() for t in range(7)) / 7
        torch.testing.assert_close(out.embeddings[i, :, 0], expected.flatten())


def test_downsampled_and_no_parameters() -> None:
    model = create_model("gei", size=(32, 22))
    assert not is_trainable(model) and list(model.parameters()) == [] and model.state_dict() == {}
    sil = torch.ones(3, 4, 64, 44)
    emb = model.embed(sil)
    assert emb.shape == (3, 32 * 22, 1)
    torch.testing.assert_close(emb, torch.ones_like(emb))
    with pytest.raises(ValueError, match="size"):
        GaitEnergyImage(size=(32,))


def test_nearest_neighbour_identifies_walkers() -> None:
    # Two "walkers" of different widths; noisy sequences; the nearest gallery GEI is the right walker.
    g = torch.Generator().manual_seed(0)

    def walk(width: int, t: int) -> torch.Tensor:
        x = torch.zeros(t, 32, 22)
        for f in range(t):
            shift = f % 3
            x[f, 4:30, 11 - width // 2 + shift : 11 + width // 2 + shift] = 1
        flip = torch.rand(x.shape, generator=g) < 0.05
        return torch.where(flip, 1 - x, x)

    model = GaitEnergyImage()
    gallery = model.embed(torch.stack([walk(4, 10), walk(10, 10)]))
    probes = model.embed(torch.cat([walk(4, 7), walk(10, 13)]).unsqueeze(0), seq_lens=torch.tensor([7, 13]))
    dist = torch.cdist(probes[:, :, 0], gallery[:, :, 0])
    assert dist.argmin(dim=1).tolist() == [0, 1]
