"""The DINOv2 transformer and the loader of DINOv2's released checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from gaitforge.models.biggait import BigGait
from gaitforge.models.dinov2 import DinoVisionTransformer, dinov2_vit, load_dinov2_checkpoint

# Names and shapes as they are in the released dinov2_vits14_pretrain.pth (12 blocks, width 384, 37 × 37 + 1
# positions, LayerScale gammas, a mask token).
RELEASED_VITS14 = {
    "cls_token": [1, 1, 384],
    "pos_embed": [1, 1370, 384],
    "mask_token": [1, 384],
    "patch_embed.proj.weight": [384, 3, 14, 14],
    "patch_embed.proj.bias": [384],
    "blocks.0.norm1.weight": [384],
    "blocks.0.attn.qkv.weight": [1152, 384],
    "blocks.0.attn.proj.bias": [384],
    "blocks.0.ls1.gamma": [384],
    "blocks.5.mlp.fc1.weight": [1536, 384],
    "blocks.11.mlp.fc2.weight": [384, 1536],
    "blocks.11.ls2.gamma": [384],
    "norm.bias": [384],
}


@pytest.fixture(scope="module")
def vits14() -> DinoVisionTransformer:
    torch.manual_seed(0)
    model = dinov2_vit("small").eval()
    with torch.no_grad():  # LayerScale gammas and norms away from their constant initial values
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.fixture(scope="module")
def released_file(vits14: DinoVisionTransformer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint written as the released files are: a flat name → tensor dict saved with torch.save."""
    path = tmp_path_factory.mktemp("dinov2") / "dinov2_vits14_pretrain.pth"
    torch.save({k: v.clone() for k, v in vits14.state_dict().items()}, path)
    return path


def test_state_dict_has_the_released_names_and_shapes(vits14: DinoVisionTransformer) -> None:
    state = vits14.state_dict()
    assert len(state) == 5 + 12 * 14 + 2  # 5 top-level tensors, 14 per block, the final norm
    for key, shape in RELEASED_VITS14.items():
        assert list(state[key].shape) == shape, key
    assert sum(p.numel() for p in vits14.parameters()) == 22_056_576


def test_released_checkpoint_loads_and_gives_the_same_features(vits14, released_file: Path) -> None:
    loaded = load_dinov2_checkpoint(released_file, "small").eval()
    images = torch.randn(2, 3, 56, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = vits14.forward_features(images), loaded.forward_features(images)
    for key in ("x_norm_clstoken", "x_norm_patchtokens", "x_norm_patchtokens_mid4"):
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)
    assert got["x_norm_patchtokens"].shape == (2, 8, 384)
    assert got["x_norm_patchtokens_mid4"].shape == (2, 8, 4 * 384)
    # BigGait takes the same file as its frozen backbone
    model = BigGait(pretrained_dinov2=released_file)
    for key, value in vits14.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert not any(p.requires_grad for p in model.backbone.parameters())


def test_checkpoint_of_another_size_names_the_key_and_shapes(tmp_path: Path) -> None:
    # a ViT-B/14 layout (width 768), written with zero-stride tensors to keep the file small
    with torch.device("meta"):  # shapes only
        base = dinov2_vit("base").state_dict()
    path = tmp_path / "dinov2_vitb14_pretrain.pth"
    torch.save({k: torch.zeros(1).expand(v.shape) for k, v in base.items()}, path)
    expected = r"cls_token: shape \[1, 1, 768\] in the file, \[1, 1, 384\] expected.*'base'"
    with pytest.raises(ValueError, match=expected):
        load_dinov2_checkpoint(path, "small")
    reg = dinov2_vit("small").state_dict()
    reg["register_tokens"] = torch.zeros(1, 4, 384)
    torch.save(reg, tmp_path / "reg4.pth")
    with pytest.raises(ValueError, match="unexpected keys.*register_tokens"):
        load_dinov2_checkpoint(tmp_path / "reg4.pth", "small")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_with_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    with path.open("wb") as f:
        pickle.dump({"cls_token": _Payload(marker)}, f, protocol=2)
    with pytest.raises(ValueError, match="refused: not a plain tensor checkpoint"):
        load_dinov2_checkpoint(path, "small")
    assert not marker.exists()
    with pytest.raises(FileNotFoundError, match="not found"):
        load_dinov2_checkpoint(tmp_path / "missing.pth")


def test_position_table_is_resized_to_the_input_grid() -> None:
    model = DinoVisionTransformer(embed_dim=16, depth=4, num_heads=2, img_size=56).eval()
    with torch.no_grad():
        square = model.forward_features(torch.randn(1, 3, 56, 56))["x_norm_patchtokens"]
        tall = model.forward_features(torch.randn(1, 3, 84, 42))["x_norm_patchtokens"]
    assert square.shape == (1, 16, 16) and tall.shape == (1, 18, 16)
    with pytest.raises(ValueError, match="multiple of the patch size"):
        model.forward_features(torch.randn(1, 3, 50, 28))
