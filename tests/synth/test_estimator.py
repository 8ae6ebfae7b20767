"""The simulated top-down estimator and the world's heatmap modality."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gaitforge.data.validation import validate_sequence
from gaitforge.preprocess.heatmaps import apply_affine, compose_affines, heatmap_to_crop_affine, invert_affine
from gaitforge.synth import generate_sequence, get_preset, render_raw
from gaitforge.synth.estimator import LEFT_RIGHT_PAIRS, joint_radii, pretreat_heatmaps
from gaitforge.synth.world import identity

CFG = get_preset("heat-tiny", seed=0)
# The same walks seen by a perfect estimator: projected joints, no noise.
TRUTH = dataclasses.replace(CFG, modalities=("sil", "pose", "joints3d"), pose_estimator="simple", pose_noise=0.0)


def _spread(channel: np.ndarray) -> float:
    """RMS radius (grid pixels) of a heatmap's main blob (values above 40 % of its peak)."""
    ys, xs = np.mgrid[0 : channel.shape[0], 0 : channel.shape[1]]
    w = np.where(channel > 0.4 * channel.max(), channel, 0.0)
    cx, cy = (w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()
    return float(np.sqrt((w * ((xs - cx) ** 2 + (ys - cy) ** 2)).sum() / w.sum()))


def test_heatmap_world_sequences_and_their_size() -> None:
    seq = generate_sequence(CFG, 1, "bg-01", "090")
    hm = seq.modalities["heatmap"]
    assert list(seq.modalities) == ["sil", "pose", "joints3d", "heatmap"]
    assert hm.dtype == np.uint8 and hm.shape == (CFG.frames, 17, 64, 48)
    assert hm.nbytes == CFG.frames * 52_224 and hm.max() > 200
    assert seq.meta["pose_estimator"] == "topdown" and seq.meta["heatmap_space"] == "rgb"
    validate_sequence(seq)
    half = generate_sequence(dataclasses.replace(CFG, heatmap_dtype="float16"), 1, "bg-01", "090")
    assert half.modalities["heatmap"].dtype == np.float16 and half.modalities["heatmap"].nbytes == CFG.frames * 104_448
    np.testing.assert_allclose(half.modalities["heatmap"].astype(np.float32) * 255, hm, atol=0.6)
    identity.cache_clear()
    again = generate_sequence(CFG, 1, "bg-01", "090")
    for k in seq.modalities:
        assert seq.modalities[k].tobytes() == again.modalities[k].tobytes()
    only = generate_sequence(dataclasses.replace(CFG, modalities=("heatmap",)), 1, "bg-01", "090")
    assert list(only.modalities) == ["heatmap"]
    # The default world is untouched: no heatmaps, the simple estimator, the same silhouettes.
    plain = generate_sequence(get_preset("tiny", seed=0), 1, "bg-01", "090")
    assert "heatmap" not in plain.modalities and "pose_estimator" not in plain.meta
    np.testing.assert_array_equal(plain.modalities["sil"], seq.modalities["sil"])


def test_world_config_checks_the_heatmap_options() -> None:
    with pytest.raises(ValueError, match="needs pose_estimator='topdown'"):
        dataclasses.replace(get_preset("tiny"), modalities=("sil", "heatmap"))
    with pytest.raises(ValueError, match="modalities"):
        dataclasses.replace(CFG, modalities=("sil", "rgb"))
    with pytest.raises(ValueError, match="heatmap_space"):
        dataclasses.replace(CFG, heatmap_space="image")
    with pytest.raises(ValueError, match="heatmap_dtype"):
        dataclasses.replace(CFG, heatmap_dtype="float32")
    assert get_preset("heat").n_subjects == 40 and get_preset("heat-hmspace").heatmap_space == "heatmap"


def test_keypoints_are_decoded_from_the_heatmaps_and_near_the_joints() -> None:
    errors_sure, errors_unsure = [], []
    for i in range(4):
        raw, truth = render_raw(CFG, i, "nm-01", "054"), render_raw(TRUTH, i, "nm-01", "054")
        est = raw.estimator
        # pose = argmax of the crop heatmaps mapped back to the image; confidence = peak value
        to_hm = compose_affines(invert_affine(heatmap_to_crop_affine()), est.crop_affines)
        cell = apply_affine(to_hm, raw.pose[..., :2].astype(np.float64))
        flat = est.heatmaps.reshape(*est.heatmaps.shape[:2], -1)
        iy, ix = np.divmod(flat.argmax(-1), 48)
        assert np.abs(cell[..., 0] - ix).max() <= 0.5 + 1e-4 and np.abs(cell[..., 1] - iy).max() <= 0.5 + 1e-4
        np.testing.assert_allclose(raw.pose[..., 2], flat.max(-1), atol=1e-6)
        height = np.ptp(np.nonzero(raw.frames.any(axis=(0, 2)))[0])
        err = np.linalg.norm(raw.pose[..., :2] - truth.pose[..., :2], axis=-1) / height
        sure = raw.pose[..., 2] > 0.7
        errors_sure.append(err[sure])
        errors_unsure.append(err[~sure])
    assert np.median(np.concatenate(errors_sure)) < 0.015
    assert np.median(np.concatenate(errors_unsure)) > np.median(np.concatenate(errors_sure))


def test_occlusion_and_clothing_lower_the_peaks() -> None:
    left = [5, 7, 9, 11, 13, 15]
    right = [6, 8, 10, 12, 14, 16]
    far, near, hips_nm, hips_cl = [], [], [], []
    for i in range(4):
        side = render_raw(CFG, i, "nm-01", "090")  # the camera sees the walker's right side
        far.append(side.pose[:, left, 2].mean())
        near.append(side.pose[:, right, 2].mean())
        hips_nm.append(render_raw(CFG, i, "nm-01", "000").pose[:, 11:15, 2].mean())
        coat = render_raw(CFG, i, "cl-01", "000")
        hips_cl.append(coat.pose[:, 11:15, 2].mean())
    assert np.mean(far) < np.mean(near) - 0.15
    assert np.mean(hips_cl) < np.mean(hips_nm) - 0.05


def test_blobs_widen_with_limb_width_and_coats() -> None:
    raw = render_raw(CFG, 0, "nm-01", "000")
    hips = np.mean([_spread(raw.estimator.heatmaps[t, 11]) for t in range(CFG.frames)])
    wrists = np.mean([_spread(raw.estimator.heatmaps[t, 9]) for t in range(CFG.frames)])
    assert hips > 1.15 * wrists
    body, _, coat = identity(CFG.seed, 0, CFG.identity_spread)
    assert (joint_radii(body, coat)[5:13] > joint_radii(body)[5:13]).all()
    coated = render_raw(CFG, 0, "cl-01", "000")
    assert np.mean([_spread(coated.estimator.heatmaps[t, 11]) for t in range(CFG.frames)]) > 1.05 * hips
    # Build shows in the heatmaps: across identities, the hip blob grows with the thigh radius.
    radii, spreads = [], []
    for i in range(CFG.n_subjects):
        b, _, _ = identity(CFG.seed, i, CFG.identity_spread)
        r = render_raw(CFG, i, "nm-02", "000")
        radii.append(b.thigh_r / b.height)
        spreads.append(np.mean([_spread(r.estimator.heatmaps[t, 12]) for t in range(CFG.frames)]))
    assert np.corrcoef(radii, spreads)[0, 1] > 0.5


def test_swaps_and_second_modes_follow_the_view() -> None:
    rates = {}
    for view in ("000", "090", "180"):
        rates[view] = np.mean(
            [render_raw(CFG, i, c, view).estimator.swapped.mean() for i in range(4) for c in ("nm-01", "nm-02")]
        )
    assert rates["000"] < rates["090"] and rates["000"] < rates["180"]
    # Seen from behind every left/right channel also answers at its counterpart (a second mode).
    raw = render_raw(CFG, 2, "nm-01", "180")
    est = raw.estimator
    to_hm = compose_affines(invert_affine(heatmap_to_crop_affine()), est.crop_affines)
    cells = np.rint(apply_affine(to_hm, raw.pose[..., :2].astype(np.float64))).astype(int)
    for a, b in LEFT_RIGHT_PAIRS[2:]:
        t = np.arange(CFG.frames)
        far_apart = np.linalg.norm(cells[:, a] - cells[:, b], axis=-1) > 4
        at_other = est.heatmaps[t, a, np.clip(cells[:, b, 1], 0, 63), np.clip(cells[:, b, 0], 0, 47)]
        assert np.median(at_other[far_apart] / est.heatmaps[t, a].max((-1, -2))[far_apart]) > 0.15
    # A swapped pair puts each channel's maximum at the counterpart's joint.
    checked = 0
    for i in range(4):
        side, truth = render_raw(CFG, i, "nm-03", "180"), render_raw(TRUTH, i, "nm-03", "180")
        for t, p in zip(*np.nonzero(side.estimator.swapped)):
            a, b = LEFT_RIGHT_PAIRS[p]
            d_own = np.linalg.norm(side.pose[t, a, :2] - truth.pose[t, a, :2])
            d_other = np.linalg.norm(side.pose[t, a, :2] - truth.pose[t, b, :2])
            if np.linalg.norm(truth.pose[t, a, :2] - truth.pose[t, b, :2]) > 6:  # distinguishable joints
                assert d_other < d_own
                checked += 1
    assert checked >= 5


@pytest.mark.parametrize("space", ["rgb", "heatmap", "crop"])
def test_pretreat_heatmaps_spaces(space: str) -> None:
    raw = render_raw(CFG, 0, "nm-01", "036")
    est = raw.estimator
    out = pretreat_heatmaps(est.heatmaps, est.crop_affines, raw.frames, space, "uint8")
    assert out.shape == (CFG.frames, 17, 64, 48) and out.dtype == np.uint8
    rows = np.nonzero(out.max(axis=(0, 1, 3)) > 25)[0]
    assert 2 <= rows[0] and rows[-1] <= 61  # the body keeps a margin: nothing is cut at the top or bottom
    if space == "crop":
        np.testing.assert_array_equal(out, np.rint(est.heatmaps * 255))
    with pytest.raises(ValueError, match="heatmap_space"):
        pretreat_heatmaps(est.heatmaps, est.crop_affines, raw.frames, "nope")
