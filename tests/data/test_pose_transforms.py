"""Pose transforms: registry names, determinism, geometry, missing joints; feature builders against the peer's
eval-transform fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.data import pose_transforms as pt
from gaitforge.data.transforms import TRANSFORMS, build_transform

NAMES = ["pose_mirror", "pose_swap_sides", "pose_time_flip", "pose_joint_noise", "pose_point_noise",
         "pose_random_move", "pose_fill_empty", "pose_rescale_center", "pose_spine_vertical",
         "pose_to_skeleton_map", "gaitgraph2_input", "gaittr_input", "gaitgraph1_input"]  # fmt: skip
RANDOM = [{"name": "pose_mirror", "p": 0.5}, {"name": "pose_swap_sides", "p": 0.5}, {"name": "pose_time_flip"},
          {"name": "pose_joint_noise", "std": 1.0}, {"name": "pose_point_noise", "std": 1.0},
          {"name": "pose_random_move"}]  # fmt: skip


def _walker(t: int = 8, seed: int = 0) -> np.ndarray:
    """A standing COCO-17 figure (y down) with some jitter, confidences in [0.5, 1]."""
    rng = np.random.default_rng(seed)
    base = np.array(
        [[0, 0], [-3, -3], [3, -3], [-6, -1], [6, -1], [-12, 15], [12, 15], [-15, 35], [15, 35],
         [-16, 55], [16, 55], [-8, 60], [8, 60], [-9, 95], [9, 95], [-10, 130], [10, 130]],
        float,
    )  # fmt: skip
    xy = base[None] + [100, 50] + rng.normal(0, 1, (t, 17, 2))
    return np.concatenate([xy, rng.uniform(0.5, 1, (t, 17, 1))], -1).astype(np.float32)


def test_every_pose_transform_is_registered_and_builds() -> None:
    for name in NAMES:
        assert name in TRANSFORMS, name
    tf = build_transform([{"name": "pose_fill_empty"}, {"name": "pose_time_flip", "p": 1.0}])
    x = _walker()
    np.testing.assert_array_equal(tf(x, np.random.default_rng(0)), x[::-1])


@pytest.mark.parametrize("cfg", RANDOM, ids=lambda c: c["name"])
def test_random_transforms_are_deterministic_given_the_rng(cfg: dict) -> None:
    tf = build_transform(cfg)
    x = _walker()
    a = tf(x, np.random.default_rng(5))
    b = tf(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == x.shape
    outs = [tf(x, np.random.default_rng(s)) for s in range(8)]
    assert any(not np.array_equal(o, outs[0]) for o in outs)  # the rng matters
    with pytest.raises(ValueError, match="needs an rng"):
        tf(x, None)


def test_mirror_swaps_sides_and_reflects_x() -> None:
    x = _walker()
    x[2, 9] = 0  # a missing joint stays missing (it moves to the mirrored index 10)
    y = pt.PoseMirror(p=1.0)(x, np.random.default_rng(0))
    present = ~((x[..., 0] == 0) & (x[..., 1] == 0))
    centre = np.array([x[f, present[f], 0].mean() for f in range(len(x))])
    flip = list(pt.COCO_FLIP)
    np.testing.assert_allclose(y[..., 0], np.where(present, 2 * centre[:, None] - x[..., 0], 0)[:, flip], atol=1e-4)
    np.testing.assert_array_equal(y[..., 1], x[:, flip, 1])
    assert (y[2, 10, :2] == 0).all()
    # left shoulder is left of the right shoulder before; after mirroring (and swapping) still so
    assert (x[:, 5, 0] < x[:, 6, 0]).all() and (y[:, 5, 0] < y[:, 6, 0]).all()


def test_swap_sides_time_flip_and_noise() -> None:
    x = _walker()
    np.testing.assert_array_equal(pt.SwapSides(1.0)(x, np.random.default_rng(0)), x[:, list(pt.COCO_FLIP)])
    np.testing.assert_array_equal(pt.SwapSides(0.0)(x, np.random.default_rng(0)), x)
    jn = pt.JointNoise(2.0)(x, np.random.default_rng(1)) - x
    np.testing.assert_allclose(jn[0], jn[-1], atol=1e-4)  # the same offset in every frame
    assert (jn[..., 2] == 0).all() and np.abs(jn[..., :2]).max() > 0
    pn = pt.PointNoise(2.0)(x, np.random.default_rng(1)) - x
    assert (pn[..., 2] == 0).all() and not np.allclose(pn[0], pn[1])
    mv = pt.RandomMove((4, 1))(x, np.random.default_rng(2)) - x
    assert np.allclose(mv[..., 0], mv[0, 0, 0], atol=1e-4) and abs(mv[0, 0, 0]) <= 4 and abs(mv[0, 0, 1]) <= 1


def test_fill_empty_puts_joints_at_the_running_centre_of_gravity() -> None:
    x = _walker(2)
    x[0, [3, 7]] = 0
    y = pt.FillEmptyJoints()(x)
    first = x[0].copy()
    cog = first.mean(0)
    first[3] = (cog[0], cog[1], 0)
    cog2 = first.mean(0)  # joint 7 sees joint 3 already filled, as the reference does
    np.testing.assert_allclose(y[0, 3], [cog[0], cog[1], 0], rtol=1e-6)
    np.testing.assert_allclose(y[0, 7], [cog2[0], cog2[1], 0], rtol=1e-6)
    np.testing.assert_array_equal(y[1], x[1])


def test_rescale_center_and_spine_vertical() -> None:
    x = _walker()
    y = pt.RescaleCenter("neck", 225.0)(x)
    np.testing.assert_allclose(y[..., 1].max(1) - y[..., 1].min(1), 225.0, rtol=1e-5)
    np.testing.assert_allclose((y[:, 5, :2] + y[:, 6, :2]) / 2, 0.0, atol=1e-4)
    # tilt the walker by 30° about its neck, then straighten it
    th = np.deg2rad(30)
    neck = (x[:, 5, :2] + x[:, 6, :2]) / 2
    rel = x[..., :2] - neck[:, None]
    tilted = x.copy()
    tilted[..., 0] = neck[:, None, 0] + np.cos(th) * rel[..., 0] - np.sin(th) * rel[..., 1]
    tilted[..., 1] = neck[:, None, 1] + np.sin(th) * rel[..., 0] + np.cos(th) * rel[..., 1]
    z = pt.SpineVertical()(tilted)
    spine = (z[:, 11, :2] + z[:, 12, :2]) / 2 - (z[:, 5, :2] + z[:, 6, :2]) / 2
    np.testing.assert_allclose(spine[:, 0], 0.0, atol=1e-3)
    assert (spine[:, 1] > 0).all()
    lengths = np.linalg.norm(z[:, 15, :2] - z[:, 13, :2], axis=-1)
    np.testing.assert_allclose(lengths, np.linalg.norm(x[:, 15, :2] - x[:, 13, :2], axis=-1), rtol=1e-4)
    with pytest.raises(ValueError, match="center is 'knee'"):
        pt.RescaleCenter("knee")


def test_pose_to_skeleton_map() -> None:
    from gaitforge.preprocess.skeleton_maps import render

    x = _walker(4)
    maps = pt.PoseToSkeletonMap(scale=None)(x)
    np.testing.assert_array_equal(maps, render(x))
    cut = pt.PoseToSkeletonMap(cut=10)(x)
    assert cut.shape == (4, 2, 64, 44) and cut.dtype == np.float32 and cut.max() <= 1.0
    with pytest.raises(ValueError, match="expected \\[T, V, 3\\]"):
        pt.TimeFlip(1.0)(np.zeros((3, 17)), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("fixture", "steps"),
    [
        ("GaitGraph2", ["pose_fill_empty", "gaitgraph2_input"]),
        ("GaitTR", ["gaittr_input"]),
        ("GaitGraph1", ["gaitgraph1_input"]),
    ],  # fmt: skip
)
def test_feature_builders_equal_the_peer_eval_transform(fixtures_dir: Path, fixture: str, steps: list[str]) -> None:
    z = np.load(fixtures_dir / "models" / f"{fixture}.npz")
    meta = json.loads((fixtures_dir / "models" / f"{fixture}.json").read_text())
    tf = build_transform([{"name": s} for s in steps])
    for case in meta["cases"].values():
        raw = z[case["raw"][0]["npz_key"]]
        expected = z[case["ipts"][0]["npz_key"]]
        got = np.stack([tf(seq, None) for seq in raw])
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


def test_torch_builders_batch_and_layouts() -> None:
    x = torch.from_numpy(np.stack([_walker(6, 0), _walker(6, 1)]))
    g = pt.gaitgraph_features(x)
    assert g.shape == (2, 6, 17, 3, 5)
    torch.testing.assert_close(g[1], pt.gaitgraph_features(x[1]))
    torch.testing.assert_close(g[0, :4, :, 1, :2], x[0, 1:5, :, :2] - x[0, :4, :, :2])  # one-step velocity
    assert (g[0, 4:, :, 1, :3] == 0).all()  # none for the last two frames
    torch.testing.assert_close(g[..., 2, 3], x[..., 2])  # confidence slot
    tr = pt.gaittr_features(x)
    assert tr.shape == (2, 6, 10, 17, 1)
    torch.testing.assert_close(
        tr[0, :, 8:10, :, 0], (x[0, :, :, :2] - x[0, :, list(pt.COCO_CONNECT), :2]).transpose(1, 2)
    )
    assert pt.gaitgraph1_features(x).shape == (2, 3, 6, 17, 1)
    hod = pt.hod_features(x)
    assert hod.shape == (2, 6, 17, 5) and torch.isfinite(hod).all()
    assert (hod[..., 4] >= 0).all() and (hod[..., 4] <= np.pi + 1e-6).all()
