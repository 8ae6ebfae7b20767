"""GaitEdge: the trainable edge, the frozen encoder half, input checks."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models.gaitedge import GaitEdge, UNet, trainable_edge
from gaitforge.models.morphology import dilate, erode

SMALL = dict(channels=(8, 16, 16), bins=(32,), num_classes=5, seg_widths=(4, 8, 8, 8), align_size=(32, 22))


def _batch(n: int = 2, t: int = 4, size: int = 32) -> Batch:
    g = torch.Generator().manual_seed(0)
    sil = torch.zeros(n, t, size, size)
    sil[:, :, 4:28, 10:20] = 1.0
    return Batch(
        inputs={"rgb": torch.randn(n, t, 3, size, size, generator=g), "sil": sil, "ratio": torch.full((n, t), 0.4)},
        labels=torch.arange(n),
    )


def test_trainable_edge_keeps_the_prediction_only_on_the_band() -> None:
    sils = torch.zeros(1, 1, 12, 12)
    sils[..., 3:9, 4:8] = 1.0
    probs = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    synth, band = trainable_edge(probs, sils, 3)
    inner, outer = erode(sils, 3) > 0.5, dilate(sils, 3) < 0.5
    assert torch.equal(synth[inner], torch.ones(int(inner.sum())))
    assert torch.equal(synth[outer], torch.zeros(int(outer.sum())))
    assert torch.equal(synth[band], probs[band]) and int(band.sum()) > 0


def test_freeze_half_freezes_only_the_encoder() -> None:
    model = GaitEdge(**SMALL)
    model.train()
    out = model(_batch())
    (out.embeddings.sum() + out.extras["seg_probs"].sum()).backward()
    for name, p in model.Backbone.named_parameters():
        frozen = name.split(".")[0] in {"Conv1", "Conv2", "Conv3", "Conv4"}
        assert p.requires_grad is not frozen, name
        assert (p.grad is None) is frozen, name
    unfrozen = UNet(3, freeze_half=False, widths=(4, 8, 8, 8))
    assert all(p.requires_grad for p in unfrozen.parameters())


def test_segmentation_outputs_are_per_sequence() -> None:
    model = GaitEdge(**SMALL).eval()
    with torch.no_grad():
        out = model(_batch(n=3, t=5))
    assert out.extras["seg_probs"].shape == out.extras["seg_target"].shape == (3, 5, 32, 32)
    assert float(out.extras["seg_probs"].min()) >= 0 and float(out.extras["seg_probs"].max()) <= 1


def test_bad_inputs_are_named() -> None:
    model = GaitEdge(**SMALL).eval()
    batch = _batch()
    expected = r"inputs\['sil'\]: expected \[B, T, H, W\] = \[2, 4, 32, 32\].*\[2, 4, 32, 24\]"
    with pytest.raises(ValueError, match=expected):
        model(Batch(inputs={**batch.inputs, "sil": batch.inputs["sil"][..., :24]}, labels=batch.labels))
    with pytest.raises(KeyError, match="lacks \\['ratio'\\]"):
        model(Batch(inputs={k: v for k, v in batch.inputs.items() if k != "ratio"}, labels=batch.labels))
    with pytest.raises(ValueError, match="divisible by 8"):
        rgb = torch.zeros(2, 4, 3, 30, 30)
        inputs = {"rgb": rgb, "sil": torch.zeros(2, 4, 30, 30), "ratio": torch.ones(2, 4)}
        model(Batch(inputs=inputs, labels=batch.labels))
