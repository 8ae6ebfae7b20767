"""Every registered model: forward, backward, embed shapes, packed == per-sequence, save/load round trip."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.fixture_weights import fill_with_recipe
from gaitforge.models import GaitModel, ModelOutput, create_model, is_trainable, list_models

# Small settings per model so the suite stays fast on CPU: (constructor kwargs, per-frame input shape).
SMALL: dict[str, tuple[dict, tuple[int, ...]]] = {
    "gaitbase": (dict(channels=(8, 16, 16, 32), embed_dim=16, num_classes=7), (64, 44)),
    "gaitedge": (
        dict(channels=(8, 16, 16), bins=(32,), num_classes=7, seg_widths=(4, 8, 8, 8), align_size=(32, 22)),
        (3, 32, 32),
    ),
    "biggait": (
        dict(
            dinov2=dict(embed_dim=32, depth=4, num_heads=2, img_size=56),
            image_size=28,
            sils_size=8,
            channels=(8, 16, 16, 32),
            fusion_squeeze=4,
            embed_dim=16,
            bins=(4,),
            num_classes=7,
        ),
        (3, 32, 16),
    ),
    "denoisinggait": (
        dict(channels=(8, 8, 16, 16), embed_dim=16, bins=(4,), num_classes=7, radius=1),
        (4, 16, 8),
    ),
    "sconet": (dict(channels=(8, 16, 16, 32), embed_dim=16), (64, 44)),
    "lidargait": (dict(channels=(8, 16, 16, 32), embed_dim=16, num_classes=7), (3, 32, 32)),
    "smplgait": (
        dict(
            layers_cfg=("BC-8", "BC-8", "M", "BC-16", "BC-16", "M", "BC-16", "BC-16"),
            embed_dim=16,
            bins=(8, 4, 2, 1),
            num_classes=7,
            smpl_hidden=(16, 32),
            transform_size=8,
        ),
        (32, 22),
    ),
    "parsinggait": (dict(channels=(8, 16, 16, 32), embed_dim=16, bins=(8,), num_classes=7), (32, 22)),
    "multigaitpp": (dict(width=1, num_classes=7, bins=(8,)), (5, 32, 22)),
    "gaitssb_pretrain": (dict(channels=(8, 16, 16, 32), bins=(8, 4, 2, 1)), (32, 22)),
    "gaitssb_finetune": (dict(channels=(8, 16, 16, 32), bins=(8, 4, 2, 1)), (32, 22)),
    "foundationgait": (
        dict(layers=(1, 1, 1, 1), channels=(8, 16, 16, 32), bins=(8, 4, 2, 1), embed_dim=16, num_classes=7,
             crop_list=(2, 1)),
        (32, 22),
    ),
    "lidargait_pp": (
        dict(channel=2, out_channels=16, embed_dim=16, npoints=(32, 16, 8), nsample=8, num_classes=7),
        (64, 4),
    ),
    "gei": (dict(size=(32, 22)), (64, 44)),
    "gaitset": (dict(channels=(8, 16, 16), embed_dim=16, bins=(8, 4, 2, 1)), (32, 22)),
    "gaitpart": (
        dict(
            layers_cfg=("BC-8", "BC-8", "M", "FC-16-2", "FC-16-2", "M", "FC-16-3", "FC-16-3"),
            embed_dim=16,
            bins=(8,),
        ),
        (32, 22),
    ),
    "gaitgl": (dict(channels=(8, 16, 16), bins=(32,), num_classes=7), (32, 22)),
    "gln": (
        dict(
            channels=(8, 16, 16),
            lateral_dim=16,
            embed_dim=16,
            hidden_dim=16,
            bins=(8, 4, 2, 1),
            num_classes=7,
        ),
        (32, 22),
    ),
    "deepgaitv2": (dict(channels=(8, 16, 16, 32), num_classes=7), (32, 22)),
    "skeletongait": (dict(channels=(8, 16, 16, 32), num_classes=7), (2, 32, 22)),
    "skeletongait_pp": (dict(channels=(16, 8, 8, 16), num_classes=7), (3, 32, 22)),
    "gaitheat": (dict(channels=(8, 16, 16), embed_dim=16, num_classes=7), (17, 32, 24)),
    "gaitheat_released": (dict(channels=(8, 8, 16, 16), embed_dim=16, num_classes=7), (17, 32, 24)),
    "gaitgraph1": (dict(input_branch=(3, 8, 8), main_stream=(8, 16, 16), embed_dim=16, reduction=4), (17, 3)),
    "gaitgraph2": (dict(input_branch=(5, 8, 8), main_stream=(8, 16, 32), embed_dim=16, reduction=4), (17, 3)),
    "gaittr": (dict(in_channels=(10, 16, 16, 32), embed_dim=16, heads=4), (17, 3)),
    "gpgait": (dict(channels=(8, 8, 16, 16), embed_dim=16, num_classes=7), (17, 3)),
    "msgg": (dict(in_channels=(3, 8, 16), embed_dim=16, num_classes=7), (17, 3)),
    "swingait": (dict(channels=(8, 16), embed_dim=16, num_heads=(2, 4), out_dim=16, num_classes=7), (32, 22)),
    "plain_baseline": (
        dict(
            layers_cfg=("BC-8", "BC-8", "M", "BC-16", "BC-16", "M", "BC-16", "BC-16"),
            embed_dim=16,
            bins=(8, 4, 2, 1),
            num_classes=7,
        ),
        (32, 22),
    ),
}
LENGTHS = [5, 9, 12]


def _build(name: str) -> tuple[GaitModel, tuple[int, ...]]:
    kwargs, frame_shape = SMALL.get(name, ({}, (64, 44)))
    torch.manual_seed(0)
    return create_model(name, **kwargs), frame_shape


def _frames(n: int, t: int, frame_shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand((n, t, *frame_shape), generator=g) > 0.5).float()


#: Models reading more than one modality get the others derived frame by frame from the first one's frames
#: ``[n, t, ...]`` (so that packed and per-sequence inputs stay consistent): modality → function.
COMPANIONS = {
    "smpl": lambda x: x.flatten(2)[..., :85] * 2 - 1,  # SMPL-style vectors [n, t, 85] (SMPLGait)
}
#: Companions of the RGB-family models (first modality ``rgb`` or ``diffusion_feature``) only: other models read
#: ``sil`` as a stream of their own or stacked into their first input (SkeletonGait++).
RGB_COMPANIONS = {
    "sil": lambda x: x[:, :, 0],  # the first channel of RGB / diffusion features as {0,1} silhouettes
    "ratio": lambda x: 0.35 + 0.3 * x.flatten(2).mean(-1),  # bounding-box width / height [n, t]
}
RGB_FAMILY = ("rgb", "diffusion_feature")


def _inputs(model: GaitModel, x: torch.Tensor) -> dict[str, torch.Tensor]:
    first, *others = model.input_modalities
    companions = {**COMPANIONS, **(RGB_COMPANIONS if first in RGB_FAMILY else {})}
    return {first: x, **{m: companions[m](x) for m in others if m in companions}}


def _embed(model: GaitModel, x: torch.Tensor, seq_lens: torch.Tensor | None = None) -> torch.Tensor:
    return model.embed(_inputs(model, x), seq_lens=seq_lens)


def _batch(model: GaitModel, x: torch.Tensor, seq_lens: torch.Tensor | None = None) -> Batch:
    n = len(seq_lens) if seq_lens is not None else x.shape[0]
    return Batch(inputs=_inputs(model, x), labels=torch.arange(n) % 3, seq_lens=seq_lens)


def test_registry_lists_the_models_and_rejects_unknown_names() -> None:
    names = list_models()
    assert {"gaitbase", "gei"} <= set(names)
    assert names == sorted(names)
    with pytest.raises(KeyError, match="unknown model 'nope'.*gaitbase"):
        create_model("nope")
    with pytest.raises(TypeError, match="gaitbase"):
        create_model("gaitbase", widht=3)


def test_importing_models_imports_no_model_file() -> None:
    code = (
        "import sys, gaitforge.models as m; "
        "bad = [k for k in sys.modules if k.startswith('gaitforge.models.')"
        " and k != 'gaitforge.models.base']; "
        "assert not bad, bad; m.create_model('gei'); assert 'gaitforge.models.gei' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", list_models())
def test_forward_and_backward(name: str) -> None:
    model, frame_shape = _build(name)
    model.train()
    x = _frames(4, 6, frame_shape)
    out = model(_batch(model, x))
    assert isinstance(out, ModelOutput)
    b, c, p = out.embeddings.shape
    assert b == 4 and c > 0 and p > 0
    if out.logits is not None:
        assert out.logits.shape[0] == 4 and out.logits.shape[2] == p
    for t in out.extras.values():
        assert t.shape[0] == 4
    if not is_trainable(model):
        assert not any(p.requires_grad for p in model.parameters())
        return
    loss = out.embeddings.pow(2).mean() + sum(t.pow(2).mean() for t in out.extras.values())
    if out.logits is not None:
        loss = loss + out.logits.pow(2).mean()
    loss.backward()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [n for n, p in params if p.grad is None]
    assert not missing, f"parameters without gradient: {missing}"
    assert all(torch.isfinite(p.grad).all() for _, p in params)
    assert sum(float(p.grad.abs().sum()) for _, p in params) > 0


@pytest.mark.parametrize("name", list_models())
def test_embed_shapes_stacked_and_packed(name: str) -> None:
    model, frame_shape = _build(name)
    model.eval()
    stacked = _embed(model, _frames(3, 7, frame_shape))
    packed = _embed(model, _frames(1, sum(LENGTHS), frame_shape), seq_lens=torch.tensor(LENGTHS))
    assert stacked.dim() == 3 and stacked.shape[0] == 3
    assert packed.shape == stacked.shape
    assert not stacked.requires_grad


@pytest.mark.parametrize("name", list_models())
def test_packed_equals_per_sequence(name: str) -> None:
    model, frame_shape = _build(name)
    model.eval()
    if getattr(model, "mixes_packed_frames", False):
        # Documented exemption (``mixes_packed_frames``): temporal convolutions / windows run over the whole
        # packed frame axis and see the neighbouring sequence, as in the peer (DeepGaitV2 p3d/3d, SwinGait).
        # A single packed sequence must still equal the stacked layout.
        single = _frames(1, 9, frame_shape, seed=1)
        torch.testing.assert_close(
            _embed(model, single, seq_lens=torch.tensor([9])), _embed(model, single), rtol=1e-5, atol=1e-5
        )
        return
    x = _frames(1, sum(LENGTHS), frame_shape, seed=1)
    packed = _embed(model, x, seq_lens=torch.tensor(LENGTHS))
    singles = torch.cat([_embed(model, chunk) for chunk in torch.split(x, LENGTHS, dim=1)])
    torch.testing.assert_close(packed, singles, rtol=1e-5, atol=1e-5)
    # Equal lengths: packed and stacked layouts give the same result.
    y = _frames(3, 6, frame_shape, seed=2)
    torch.testing.assert_close(
        _embed(model, y.reshape(1, 18, *frame_shape), seq_lens=torch.tensor([6, 6, 6])),
        _embed(model, y),
        rtol=1e-5,
        atol=1e-5,
    )
    # The pooling really is per sequence: the packed result differs from pooling all frames together.
    everything = _embed(model, x)
    assert not torch.allclose(packed[0], everything[0], atol=1e-4)


@pytest.mark.parametrize("name", list_models())
def test_state_dict_round_trip(name: str, tmp_path) -> None:
    model, frame_shape = _build(name)
    fill_with_recipe(model, salt="round-trip")
    model.eval()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    fresh, _ = _build(name)
    fresh.eval()
    x = _frames(2, 5, frame_shape, seed=3)
    if is_trainable(model):  # the load below must change something
        assert not torch.allclose(model(_batch(model, x)).embeddings, fresh(_batch(fresh, x)).embeddings)
    fresh.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    a, b = model(_batch(model, x)), fresh(_batch(fresh, x))
    torch.testing.assert_close(a.embeddings, b.embeddings, rtol=0, atol=0)
    if a.logits is not None:
        torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=0)
