"""Generating single sequences: shapes, determinism, variation, covariates, views, keypoints, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gaitforge.data.validation import validate_sequence
from gaitforge.synth import ArtefactConfig, RawRender, generate_sequence, get_preset, render_raw
from gaitforge.synth.world import identity

CFG = get_preset("tiny", seed=0)


def _torso_width(raw: RawRender, rows: tuple[float, float] = (0.30, 0.45)) -> float:
    """Mean foreground width (pixels) of the rows between the given fractions of the body's height, from the top."""
    widths = []
    for f in raw.frames:
        ys = np.nonzero(f.any(1))[0]
        top, h = ys.min(), ys.max() - ys.min() + 1
        band = f[top + int(rows[0] * h) : top + int(rows[1] * h)] > 0
        widths.append(band.sum(1).mean())
    return float(np.mean(widths))


def test_modalities_shapes_dtypes_and_meta() -> None:
    seq = generate_sequence(CFG, 5, "cl-01", "090")
    assert (seq.subject, seq.condition, seq.view) == ("006", "cl-01", "090")
    sil, pose, j3 = seq.modalities["sil"], seq.modalities["pose"], seq.modalities["joints3d"]
    assert sil.dtype == np.uint8 and sil.shape == (CFG.frames, 64, 64)
    assert pose.dtype == np.float32 and pose.shape == (CFG.frames, 17, 3)
    assert j3.dtype == np.float32 and j3.shape == (CFG.frames, 17, 3)
    # Pretreated: every frame holds a person spanning the full height, centred horizontally.
    assert (sil.reshape(CFG.frames, -1).max(1) == 255).all()
    assert sil[:, 0].any(1).all() and sil[:, -1].any(1).all()
    cols = sil.astype(float).sum(1)  # [T, 64]
    assert np.abs((cols * np.arange(64)).sum(1) / cols.sum(1) - 32).max() < 3
    assert ((pose[..., 2] >= 0) & (pose[..., 2] <= 1)).all()
    assert pose[..., 0].max() <= CFG.canvas_width - 1 and pose[..., 1].max() <= CFG.canvas_height - 1
    assert pose[..., :2].min() >= 0
    # World coordinates in metres: the walker moves forward along +x and the head is 1.4-2.1 m up.
    assert j3[-1, 11, 0] > j3[0, 11, 0]
    assert 1.3 < j3[:, 0, 2].mean() < 2.1 and j3[..., 2].min() > -0.05
    m = seq.meta
    assert m["split"] == "test" and m["coat_kind"] is not None and m["bag_kind"] is None
    assert 0.8 < m["speed_mps"] < 2.0 and 0 <= m["phase"] < 1
    json.dumps(m)
    validate_sequence(seq)
    assert generate_sequence(CFG, 0, "bg-01", "000").meta["split"] == "train"
    assert generate_sequence(CFG, 0, "bg-01", "000").meta["bag_kind"] is not None


def test_same_seed_same_bytes_and_different_seed_differs() -> None:
    a = generate_sequence(CFG, 2, "nm-03", "054")
    identity.cache_clear()  # the result must not depend on cached identities
    b = generate_sequence(CFG, 2, "nm-03", "054")
    for k in a.modalities:
        assert a.modalities[k].tobytes() == b.modalities[k].tobytes()
    assert a.meta == b.meta
    c = generate_sequence(get_preset("tiny", seed=1), 2, "nm-03", "054")
    assert not np.array_equal(a.modalities["sil"], c.modalities["sil"])
    assert not np.array_equal(a.modalities["joints3d"], c.modalities["joints3d"])


def test_two_sequences_of_one_person_differ_but_resemble_each_other() -> None:
    a, b = (render_raw(CFG, 1, c, "090") for c in ("nm-01", "nm-02"))
    assert a.meta["speed_mps"] != b.meta["speed_mps"] and a.meta["phase"] != b.meta["phase"]
    assert not np.array_equal(a.frames, b.frames)
    assert a.meta["height_m"] == b.meta["height_m"]
    other = render_raw(CFG, 5, "nm-01", "090")
    assert other.meta["height_m"] != a.meta["height_m"]


def test_coat_widens_the_torso_and_bags_add_area() -> None:
    for i in range(4):
        nm, cl = render_raw(CFG, i, "nm-01", "000"), render_raw(CFG, i, "cl-01", "000")
        assert _torso_width(cl) > _torso_width(nm) + 1.0, f"subject {i}: coat {cl.meta['coat_kind']}"
        # The coat hides the thighs: the thigh parts are barely visible in CL.
        thigh = [cl.part_names.index(n) + 1 for n in ("l_thigh", "r_thigh")]
        assert np.isin(cl.labels, thigh).mean() < 0.6 * np.isin(nm.labels, thigh).mean()
    areas = {
        c: np.mean([(render_raw(CFG, i, c, "090").frames > 0).sum() for i in range(4)]) for c in ("nm-01", "bg-01")
    }
    assert areas["bg-01"] > 1.05 * areas["nm-01"]


def test_views_change_the_silhouette() -> None:
    def width(raw: RawRender) -> float:
        return float(np.mean([np.ptp(np.nonzero(f.any(0))[0]) for f in raw.frames]))

    # Seen from the side the stride spreads the silhouette; from the front or back it does not.
    ratios = np.array(
        [
            [width(render_raw(CFG, i, "nm-01", "090")) / width(render_raw(CFG, i, "nm-01", v)) for v in ("000", "180")]
            for i in range(4)
        ]
    )
    assert (ratios > 1.05).all() and ratios.mean() > 1.25
    raws = {v: render_raw(CFG, 0, "nm-01", v) for v in ("000", "090", "180")}
    assert not np.array_equal(raws["000"].frames, raws["180"].frames)
    # Front view: the nose is visible; back view: it is not (lower confidence).
    assert raws["000"].pose[:, 0, 2].mean() > 0.8 > raws["180"].pose[:, 0, 2].mean()
    # Side view from the right: the right side's joints are seen more confidently than the left side's.
    pose = raws["090"].pose
    left, right = pose[:, [5, 7, 9, 11, 13, 15], 2].mean(), pose[:, [6, 8, 10, 12, 14, 16], 2].mean()
    assert right > left + 0.1
    assert pose[:, [5, 11], 2].mean() < 0.6  # the far shoulder and hip are behind the torso


@pytest.mark.parametrize("view", ["000", "054", "090", "144"])
@pytest.mark.parametrize("condition", ["nm-01", "bg-02", "cl-02"])
def test_confident_keypoints_lie_on_the_silhouette(condition: str, view: str) -> None:
    raw = render_raw(CFG, 6, condition, view)
    t, j = np.nonzero(raw.pose[..., 2] > 0.7)
    assert len(t) > 0.4 * raw.pose.shape[0] * 17
    x = np.round(raw.pose[t, j, 0]).astype(int)
    y = np.round(raw.pose[t, j, 1]).astype(int)
    on = raw.frames[t, y, x] > 0
    assert on.mean() > 0.9


def test_artefacts_damage_frames_deterministically() -> None:
    cfg = get_preset("tiny", artefacts=ArtefactConfig(edge_noise=0.2, holes=2, blobs=1))
    clean, a, b = (
        render_raw(CFG, 0, "nm-01", "090"),
        render_raw(cfg, 0, "nm-01", "090"),
        render_raw(cfg, 0, "nm-01", "090"),
    )
    assert np.array_equal(a.frames, b.frames)
    changed = (a.frames != clean.frames).mean()
    assert 0.0 < changed < 0.1
    seq = generate_sequence(cfg, 0, "nm-01", "090")
    assert seq.modalities["sil"].shape[1:] == (64, 64)
    assert seq.length == seq.modalities["pose"].shape[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((8, "nm-01", "090"), r"subject_index 8 out of range; expected an int in \[0, 8\)"),
        ((-1, "nm-01", "090"), "subject_index -1 out of range"),
        ((0, "walk-01", "090"), "condition 'walk-01'"),
        ((0, "nm-01", "90"), "view '90'"),
        ((0, "nm-01", "361"), "view '361'"),
    ],
)
def test_bad_arguments_raise_clear_errors(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_sequence(CFG, *args)
