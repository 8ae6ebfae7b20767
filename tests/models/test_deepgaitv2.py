"""DeepGaitV2 / SkeletonGait specifics: sizes per mode, frame mixing, skeleton maps, BNNeck inference."""

from __future__ import annotations

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.models import create_model
from gaitforge.models.deepgaitv2 import DeepGaitV2

SMALL = dict(channels=(4, 8, 8, 16), num_classes=5)


@pytest.mark.parametrize(
    ("mode", "classes", "expected"),
    [
        ("p3d", 74, 8_036_288 + 4096 * 74),  # REFERENCE.md: 8,036,288 + 4096·classes for layers 1/1/1/1
        ("p3d", 100, 8_036_288 + 4096 * 100),
        ("2d", 74, 7_305_408),
        ("3d", 74, 16_595_136),
    ],
)
def test_peer_sizes(mode: str, classes: int, expected: int) -> None:
    model = DeepGaitV2(num_classes=classes, mode=mode)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_gait3d_layout_and_bad_mode() -> None:
    keys = list(DeepGaitV2(num_classes=3, layers=(1, 4, 4, 1), channels=(4, 8, 8, 16)).state_dict())
    assert "layer2.3.shortcut3d.weight" in keys and "layer2.4.conv1.forward_block.0.weight" not in keys
    assert "layer2.1.downsample.0.weight" not in keys  # only the first block of a stage projects
    with pytest.raises(ValueError, match="mode: expected"):
        DeepGaitV2(mode="4d")


@pytest.mark.parametrize(("mode", "mixes"), [("2d", False), ("p3d", True), ("3d", True)])
def test_packed_frames_mix_only_with_temporal_layers(mode: str, mixes: bool) -> None:
    torch.manual_seed(0)
    model = create_model("deepgaitv2", mode=mode, **SMALL).eval()
    assert model.mixes_packed_frames is mixes
    x = (torch.rand(1, 10, 32, 22) > 0.5).float()
    packed = model.embed(x, seq_lens=torch.tensor([4, 6]))
    alone = model.embed(x[:, :4])
    assert torch.allclose(packed[:1], alone, atol=1e-5) is not mixes


def test_skeletongait_reads_skeleton_maps_and_infers_with_bnneck() -> None:
    torch.manual_seed(0)
    model = create_model("skeletongait", **SMALL).eval()
    assert model.input_modalities == ("skeleton_map",) and model.layer0.forward_block[0].in_channels == 2
    maps = torch.rand(2, 6, 2, 32, 22)
    out = model(Batch(inputs={"skeleton_map": maps}, labels=torch.zeros(2, dtype=torch.long)))
    torch.testing.assert_close(out.embeddings, out.extras["bnneck_embeddings"])
    torch.testing.assert_close(out.embeddings.norm(dim=1), torch.ones(2, 16))
    assert out.extras["pre_bnneck_embeddings"].shape == (2, 8, 16)
    with pytest.raises(ValueError, match=r"inputs\['skeleton_map'\]"):
        model(Batch(inputs={"skeleton_map": maps[:, :, :1]}, labels=torch.zeros(2, dtype=torch.long)))


def test_isolated_packed_sequences_equal_separate_runs() -> None:
    torch.manual_seed(0)
    model = create_model("deepgaitv2", mode="3d", isolate_packed_sequences=True, **SMALL).eval()
    assert not model.mixes_packed_frames
    x = (torch.rand(1, 10, 32, 22) > 0.5).float()
    packed = model.embed(x, seq_lens=torch.tensor([4, 6]))
    singles = torch.cat([model.embed(x[:, :4]), model.embed(x[:, 4:])])
    torch.testing.assert_close(packed, singles, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"does not match seq_lens \[4, 5\]"):
        model.embed(x, seq_lens=torch.tensor([4, 5]))
