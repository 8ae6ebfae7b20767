"""SkeletonGait++: size, the contract of every model (forward, backward, embed, round trip) on both input layouts,
attention fusion, packed sequences and input errors."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.models import create_model
from gaitforge.models.skeletongait_pp import AttentionFusion, SkeletonGaitPP

SMALL = dict(channels=(16, 8, 8, 16), num_classes=5)  # fusion hidden width 16 / 16 = 1


def _inputs(n: int, t: int, seed: int = 0, h: int = 32, w: int = 22) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    maps = torch.rand((n, t, 2, h, w), generator=g)
    sil = (torch.rand((n, t, h, w), generator=g) > 0.5).float()
    return {"skeleton_map": maps, "sil": sil}


def _model(**kw) -> SkeletonGaitPP:
    torch.manual_seed(0)
    return create_model("skeletongait_pp", **{**SMALL, **kw})


def test_peer_size() -> None:
    # the fixture's SkeletonGaitPP (C = 2, blocks 1/1/1/1, 100 classes) has 8,522,336 parameters
    assert sum(p.numel() for p in SkeletonGaitPP(num_classes=100).parameters()) == 8_522_336
    keys = list(SkeletonGaitPP(num_classes=3, layers=(1, 4, 4, 1), channels=(16, 8, 8, 16)).state_dict())
    assert keys[0].startswith("sil_layer0.") and "layer3.3.shortcut3d.weight" in keys
    assert keys.index("map_layer0.forward_block.0.weight") < keys.index("sil_layer1.forward_block.0.conv1.weight")


def test_forward_backward_and_outputs() -> None:
    model = _model().train()
    out = model(Batch(inputs=_inputs(3, 5), labels=torch.tensor([0, 1, 2])))
    assert out.embeddings.shape == (3, 8, 16) and out.logits.shape == (3, 5, 16)
    assert out.extras["bnneck_embeddings"].shape == (3, 8, 16)
    (out.embeddings.pow(2).mean() + out.logits.pow(2).mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing
    assert float(model.map_layer0.forward_block[0].weight.grad.abs().sum()) > 0  # the maps reach the loss
    assert float(model.sil_layer0.forward_block[0].weight.grad.abs().sum()) > 0  # and so do the silhouettes


def test_both_layouts_agree_and_each_modality_matters() -> None:
    model = _model().eval()
    x = _inputs(2, 6, seed=1)
    separate = model.embed(x)
    stacked = model.embed(torch.cat([x["skeleton_map"], x["sil"].unsqueeze(2)], dim=2))
    torch.testing.assert_close(separate, stacked, rtol=0, atol=0)
    assert not torch.allclose(model.embed({**x, "sil": torch.zeros_like(x["sil"])}), separate, atol=1e-4)
    maps = torch.zeros_like(x["skeleton_map"])
    assert not torch.allclose(model.embed({**x, "skeleton_map": maps}), separate, atol=1e-4)


def test_attention_fusion_is_a_convex_combination() -> None:
    torch.manual_seed(0)
    fusion = AttentionFusion(16).eval()
    a, b = torch.rand(2, 16, 3, 4, 5), torch.rand(2, 16, 3, 4, 5)
    out = fusion(a, b)
    assert out.shape == a.shape
    assert torch.all(out >= torch.minimum(a, b) - 1e-6) and torch.all(out <= torch.maximum(a, b) + 1e-6)
    torch.testing.assert_close(fusion(a, a), a)
    with pytest.raises(ValueError, match="leaves no width"):
        AttentionFusion(8, squeeze_ratio=16)


def test_packed_sequences() -> None:
    model = _model().eval()
    assert model.mixes_packed_frames
    x = _inputs(1, 9, seed=2)
    torch.testing.assert_close(model.embed(x, seq_lens=torch.tensor([9])), model.embed(x), rtol=1e-5, atol=1e-5)
    isolated = _model(isolate_packed_sequences=True).eval()
    packed = isolated.embed(x, seq_lens=torch.tensor([4, 5]))
    first = isolated.embed({k: v[:, :4] for k, v in x.items()})
    torch.testing.assert_close(packed[:1], first, rtol=1e-5, atol=1e-5)


def test_state_dict_round_trip(tmp_path) -> None:
    model = fill_with_recipe(_model(), salt="pp").eval()
    torch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = _model().eval()
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True), strict=True)
    x = _inputs(2, 4, seed=3)
    torch.testing.assert_close(fresh.embed(x), model.embed(x), rtol=0, atol=0)


def test_bnneck_inference_and_input_errors() -> None:
    model = _model(inference_bnneck=True).eval()
    out = model(Batch(inputs=_inputs(2, 3), labels=torch.tensor([0, 1])))
    torch.testing.assert_close(out.embeddings, out.extras["bnneck_embeddings"])
    assert model.opengait_outputs["training_feat/triplet/embeddings"] == "pre_bnneck_embeddings"
    x = _inputs(2, 3)
    with pytest.raises(KeyError, match=r"needs inputs\['sil'\]"):
        model(Batch(inputs={"skeleton_map": x["skeleton_map"]}, labels=torch.tensor([0, 1])))
    with pytest.raises(KeyError, match="reads inputs 'skeleton_map' and 'sil'"):
        model(Batch(inputs={"sil": x["sil"]}, labels=torch.tensor([0, 1])))
    with pytest.raises(ValueError, match="must agree"):
        model(Batch(inputs={**x, "sil": x["sil"][:, :2]}, labels=torch.tensor([0, 1])))
    with pytest.raises(ValueError, match="takes one stream"):
        SkeletonGaitPP.from_opengait_inputs([x["sil"]])


def test_square_maps_are_cropped_to_narrower_silhouettes() -> None:
    model = _model().eval()
    x = _inputs(1, 3, seed=4, h=32, w=32)
    narrow = {"skeleton_map": x["skeleton_map"], "sil": x["sil"][..., 5:27]}  # 32x32 maps, 32x22 silhouettes
    cropped = {"skeleton_map": x["skeleton_map"][..., 5:27], "sil": narrow["sil"]}
    torch.testing.assert_close(model.embed(narrow), model.embed(cropped), rtol=0, atol=0)
