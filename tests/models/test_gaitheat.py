"""GaitHeat (paper) and GaitHeat (released): shapes, ablation switches, alignment geometry, engine integration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.config import config_from_dict, load_config
from gaitforge.data.batch import Batch
from gaitforge.losses import build_losses
from gaitforge.models import create_model
from gaitforge.models.gaitheat import PoseGuidedAlignment, decode_keypoints, warp_frames
from gaitforge.models.gaitheat_released import sequence_min_max
from gaitforge.preprocess.heatmaps import decode_heatmaps

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs" / "gaitheat").glob("*.yaml"))
SMALL = dict(channels=(8, 16, 16), local_channels=(8, 8, 8), embed_dim=16, num_classes=5, stem_blocks=0)


def _heatmaps(b: int, t: int, h: int = 32, w: int = 24, seed: int = 0, tilt: float = 0.0) -> torch.Tensor:
    """Person-like heatmaps ``[b, t, 17, h, w]``: a Gaussian per joint on a (possibly tilted) stick figure."""
    g = torch.Generator().manual_seed(seed)
    base = torch.tensor(
        [[0.5, 0.12]] * 5 + [[0.42, 0.25], [0.58, 0.25], [0.4, 0.4], [0.6, 0.4], [0.4, 0.52], [0.6, 0.52]]
        + [[0.45, 0.5], [0.55, 0.5], [0.45, 0.7], [0.55, 0.7], [0.45, 0.88], [0.55, 0.88]]
    )  # fmt: skip
    pts = base[None, None] * torch.tensor([w, h]) + torch.randn(b, t, 17, 2, generator=g) * 0.6
    if tilt:
        c = torch.tensor([w / 2, h / 2])
        rot = torch.tensor([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]], dtype=torch.float32)
        pts = (pts - c) @ rot.T + c
    ys, xs = torch.arange(h).float()[:, None], torch.arange(w).float()[None]
    d2 = (xs - pts[..., 0, None, None]) ** 2 + (ys - pts[..., 1, None, None]) ** 2
    return torch.exp(-0.5 * d2 / 1.2**2)


def _batch(x: torch.Tensor, seq_lens: torch.Tensor | None = None, **extra: torch.Tensor) -> Batch:
    n = len(seq_lens) if seq_lens is not None else x.shape[0]
    return Batch(inputs={"heatmap": x, **extra}, labels=torch.arange(n) % 5, seq_lens=seq_lens)


@pytest.mark.parametrize("switches", [{}, {"alignment": False}, {"global_local": False}, {"attention": False}])
def test_gaitheat_forward_backward_and_shapes(switches: dict) -> None:
    torch.manual_seed(0)
    model = create_model("gaitheat", **SMALL, **switches)
    x = _heatmaps(3, 5)
    out = model(_batch(x))
    assert out.embeddings.shape == (3, 16, 16) and out.logits.shape == (3, 5, 16)
    (out.embeddings.pow(2).mean() + out.logits.pow(2).mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing
    model.eval()
    # uint8 heatmaps are read as value / 255
    q = torch.round(x * 255).to(torch.uint8)
    torch.testing.assert_close(model.embed(q), model.embed(q.float() / 255), rtol=1e-5, atol=1e-5)


def test_each_ablation_switch_changes_the_computation() -> None:
    torch.manual_seed(0)
    full = create_model("gaitheat", **SMALL).eval()
    x = _heatmaps(2, 4, tilt=0.3)
    ref = full.embed(x)
    names = {n for n, _ in full.named_parameters()}
    for switch, gone in (
        ({"alignment": False}, "PGHA."),
        ({"attention": False}, "PGHA.attention."),
        ({"global_local": False}, "local_branch."),
    ):
        variant = create_model("gaitheat", **SMALL, **switch).eval()
        missing, unexpected = variant.load_state_dict(full.state_dict(), strict=False)
        assert (
            not missing and unexpected and all(k.startswith(gone) or "fusion" in k or "local" in k for k in unexpected)
        )
        assert not any(n.startswith(gone) for n, _ in variant.named_parameters()) and any(
            n.startswith(gone) for n in names
        )
        assert not torch.allclose(variant.embed(x), ref, atol=1e-4), switch
    no_res = create_model("gaitheat", **SMALL, residual=False).eval()
    no_res.load_state_dict(full.state_dict())
    assert not torch.allclose(no_res.embed(x), ref, atol=1e-4)


def test_alignment_is_exact_identity_for_aligned_input() -> None:
    h, w = 64, 48
    kp = torch.zeros(3, 17, 3)
    kp[..., 2] = 0.9
    kp[:, 5, :2] = torch.tensor([23.5 - 5, 15.5])  # shoulders around the target neck (23.5, 15.5)
    kp[:, 6, :2] = torch.tensor([23.5 + 5, 15.5])
    spine = 0.23 * h
    kp[:, 11, :2] = torch.tensor([23.5 - 3, 15.5 + spine])
    kp[:, 12, :2] = torch.tensor([23.5 + 3, 15.5 + spine])
    pgha = PoseGuidedAlignment(17, attention=False, residual=False)
    m = pgha.affine(kp, h, w)
    assert torch.equal(m, torch.eye(3).expand(3, 3, 3))
    x = torch.rand(3, 17, h, w)
    assert torch.equal(pgha(x, kp), x)
    assert torch.equal(warp_frames(x, torch.eye(3).expand(3, 3, 3)), x)


def test_alignment_uprights_the_spine_and_moves_the_neck() -> None:
    x = _heatmaps(1, 4, h=64, w=48, tilt=0.35)[0]  # [4, 17, 64, 48], body tilted by 20 degrees
    pgha = PoseGuidedAlignment(17, attention=False, residual=False)
    kp = decode_keypoints(x)
    out = pgha(x, kp)
    kp2 = decode_keypoints(out)
    neck = 0.5 * (kp2[:, 5, :2] + kp2[:, 6, :2])
    hip = 0.5 * (kp2[:, 11, :2] + kp2[:, 12, :2])
    torch.testing.assert_close(neck, torch.tensor([[23.5, 15.5]]).expand(4, 2), rtol=0, atol=0.6)
    assert (hip[:, 0] - neck[:, 0]).abs().max() < 0.8  # spine vertical
    torch.testing.assert_close(hip[:, 1] - neck[:, 1], torch.full((4,), 0.23 * 64), rtol=0, atol=0.8)
    # Unsure torso joints: the alignment fades to identity.
    unsure = kp.clone()
    unsure[:, [5, 6, 11, 12], 2] = 0.05
    assert torch.equal(pgha(x, unsure), x)


def test_attention_masks_and_residual() -> None:
    torch.manual_seed(0)
    x = _heatmaps(1, 2, h=32, w=24)[0]
    kp = decode_keypoints(x)
    att = PoseGuidedAlignment(17, align=False, attention=True, residual=True).eval()
    plain = PoseGuidedAlignment(17, align=False, attention=True, residual=False).eval()
    plain.load_state_dict(att.state_dict())
    mask_part = plain(x, kp)
    torch.testing.assert_close(att(x, kp), mask_part + x)
    ratio = mask_part / x.clamp_min(1e-6)
    assert (ratio[x > 1e-3] > 0).all() and (ratio[x > 1e-3] < 1).all()  # per-channel masks in (0, 1)


def test_torch_decoder_matches_the_numpy_decoder() -> None:
    x = _heatmaps(2, 3, h=64, w=48, seed=4).reshape(6, 17, 64, 48)
    xy, score = decode_heatmaps(x.numpy())
    kp = decode_keypoints(x)
    np.testing.assert_allclose(kp[..., :2].numpy(), xy, atol=1e-4)
    np.testing.assert_allclose(kp[..., 2].numpy(), score, atol=1e-6)


def test_keypoint_modality_matches_decoded_keypoints() -> None:
    torch.manual_seed(0)
    model = create_model("gaitheat", **SMALL, input_pool=1, keypoint_modality="heatmap_pose").eval()
    x = _heatmaps(2, 3, seed=2, tilt=0.2)
    kp = decode_keypoints(x.reshape(6, 17, 32, 24)).reshape(2, 3, 17, 3)
    assert model.input_modalities == ("heatmap", "heatmap_pose")
    with torch.no_grad():
        given = model(_batch(x, heatmap_pose=kp)).embeddings
        decoded = model(_batch(x)).embeddings
        shifted = model(_batch(x, heatmap_pose=kp + torch.tensor([3.0, 0.0, 0.0]))).embeddings
    torch.testing.assert_close(given, decoded)
    assert not torch.allclose(given, shifted, atol=1e-4)


@pytest.mark.parametrize("name", ["gaitheat", "gaitheat_released"])
def test_packed_sequences_equal_single_ones(name: str) -> None:
    torch.manual_seed(0)
    kwargs = SMALL if name == "gaitheat" else dict(channels=(8, 8, 16, 16), embed_dim=16, num_classes=5)
    model = create_model(name, **kwargs).eval()
    lengths = [3, 5, 4]
    x = _heatmaps(1, sum(lengths), seed=3)
    packed = model.embed(x, seq_lens=torch.tensor(lengths))
    singles = torch.cat([model.embed(c) for c in torch.split(x, lengths, dim=1)])
    torch.testing.assert_close(packed, singles, rtol=1e-5, atol=1e-5)


def test_released_variant_outputs_and_normalisation() -> None:
    torch.manual_seed(0)
    model = create_model("gaitheat_released", channels=(8, 8, 16, 16), embed_dim=16, num_classes=5)
    x = _heatmaps(2, 4, tilt=0.2) * 0.3 + 0.1
    out = model(_batch(x))
    assert out.embeddings.shape == (2, 16, 16) and out.logits.shape == (2, 5, 16)
    assert set(out.extras) == {
        "fusion_embeddings", "part_embeddings", "part_logits", "global_embeddings", "global_logits", "bnneck_embeddings"
    }  # fmt: skip
    torch.testing.assert_close(out.embeddings, out.extras["bnneck_embeddings"])
    losses = build_losses(load_config(CONFIGS[0].parent / "gaitheat_released_synth_cpu.yaml").losses)
    total, stats = losses(out, torch.tensor([0, 1]))
    total.backward()
    assert torch.isfinite(total) and len([k for k in stats if k.endswith("/loss")]) == 6
    # min–max per sequence: a sequence scaled and shifted gives the same normalised frames.
    frames = x.reshape(8, 17, 32, 24)
    np.testing.assert_allclose(sequence_min_max(frames * 3 + 1, [4, 4]), sequence_min_max(frames, [4, 4]), atol=1e-5)
    norm = sequence_min_max(frames, [4, 4])
    assert norm[:4].min() == 0 and norm[:4].max() == 1 and norm[4:].max() == 1
    model.eval()  # brightness-invariant after the normalisation
    torch.testing.assert_close(model.embed(x * 2.0), model.embed(x), rtol=1e-4, atol=1e-4)


def test_wrong_inputs_and_arguments_raise_clear_errors() -> None:
    model = create_model("gaitheat", **SMALL)
    with pytest.raises(ValueError, match=r"inputs\['heatmap'\]: expected \[B, T, 17, h, w\]"):
        model(_batch(torch.rand(2, 3, 32, 24)))
    with pytest.raises(ValueError, match="parts"):
        create_model("gaitheat", **SMALL, parts={"head": (0, 40)})
    with pytest.raises(ValueError, match="stream_channels"):
        create_model("gaitheat_released", stream_channels=(0, 17))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_configs_build_and_route_their_losses(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.data.modalities == ["heatmap"] and cfg.data.transforms == [] and cfg.data.test_transforms == []
    args = dict(cfg.model.args)
    small = {"channels": [8, 8, 16, 16] if "released" in path.stem else [8, 16, 16], "embed_dim": 16}
    args.update(small)
    args.pop("local_channels", None)
    model = create_model(cfg.model.name, num_classes=4, **args)
    out = model(_batch(torch.rand(2, 3, 17, 64, 48)))
    total, _ = build_losses(cfg.losses)(out, torch.tensor([0, 1]))
    assert torch.isfinite(total)


def test_trains_and_evaluates_through_the_engine(tmp_path: Path) -> None:
    """``gaitforge train`` path: a heatmap world from the synthetic presets, the engine's trainer and evaluation."""
    from gaitforge.engine.data_setup import open_store
    from gaitforge.engine.evaluate import evaluate_model, load_trained_model
    from gaitforge.engine.trainer import train
    from gaitforge.synth import get_preset, make_world

    world = get_preset("heat-tiny", seed=1, n_subjects=5, n_train=3, views=("018", "090"), frames=6)
    store = make_world(world, tmp_path / "world", workers=1)
    data = {
        "name": "gaitheat_micro",
        "data": {"store": str(store), "modalities": ["heatmap"], "p": 3, "k": 2, "num_workers": 0,
                 "train_frames": {"mode": "fixed_unordered", "num": 4}, "transforms": [], "test_transforms": []},
        "model": {"name": "gaitheat", "args": {**SMALL, "num_classes": 3, "input_pool": 2}},
        "scheduler": {"name": "constant"},
        "train": {"iterations": 2, "log_every": 1, "save_every": 100, "tensorboard": False, "threads": 1},
        "eval": {"batch_size": 8},
    }  # fmt: skip
    run = config_from_dict(data)
    result = train(run, tmp_path / "run", progress=False)
    assert result.iterations == 2 and np.isfinite(result.last_stats["loss"])
    model, _, _ = load_trained_model(tmp_path / "run")
    st, part = open_store(run, progress=False)
    res = evaluate_model(model, run, st, part, progress=False)
    for cond in ("NM", "BG", "CL"):
        assert 0.0 <= res.figures[f"scalar/test_accuracy/{cond}@R1"] <= 100.0
