"""The realistic world: determinism by seed, covariates, cameras and frame rates, identity kept in body and walk."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from gaitforge.data.validation import validate_sequence
from gaitforge.synth import RealismConfig, WorldConfig, generate_sequence, get_preset, render_raw
from gaitforge.synth.realistic import realistic_identity

CFG = get_preset("realistic-tiny", seed=0)


def _height_px(frames: np.ndarray) -> np.ndarray:
    rows = (frames > 0).any(2)
    return np.array([np.ptp(np.nonzero(r)[0]) + 1 if r.any() else 0 for r in rows], float)


def test_sequences_are_valid_and_deterministic_by_seed() -> None:
    a = generate_sequence(CFG, 2, "nm-01", "090")
    realistic_identity.cache_clear()
    b = generate_sequence(CFG, 2, "nm-01", "090")
    validate_sequence(a)
    for k in ("sil", "pose", "joints3d"):
        np.testing.assert_array_equal(a.modalities[k], b.modalities[k])
    assert a.meta == b.meta and a.modalities["sil"].shape[1:] == (64, 64)
    json.dumps(a.meta)
    other = generate_sequence(dataclasses.replace(CFG, seed=1), 2, "nm-01", "090")
    assert not np.array_equal(other.modalities["sil"], a.modalities["sil"])


def test_frame_rates_cameras_and_resolution_vary_per_sequence() -> None:
    metas = [render_raw(CFG, i % CFG.n_subjects, "nm-02", v).meta for i, v in enumerate(CFG.views)]
    fps = {m["fps"] for m in metas}
    assert len(fps) >= 3 and fps <= set(CFG.realism.fps)
    elev = [m["elevation_deg"] for m in metas]
    assert min(elev) >= 0 and max(elev) <= 25 and np.std(elev) > 2
    px = [m["person_px"] for m in metas]
    assert min(px) >= 20 and max(px) <= 110 and np.std(px) > 5


def test_walking_towards_and_away_changes_the_distance() -> None:
    toward = render_raw(CFG, 1, "nm-01", "000")
    away = render_raw(CFG, 1, "nm-01", "180")
    side = render_raw(CFG, 1, "nm-01", "090")
    d0, d1 = toward.meta["distance_m"]
    assert d1 < d0  # comes closer
    a0, a1 = away.meta["distance_m"]
    assert a1 > a0
    s0, s1 = side.meta["distance_m"]
    assert abs(s1 - s0) < 0.35 * abs(d1 - d0)
    # In pixels: the approaching walker grows, the one walking away shrinks.
    h_t, h_a = _height_px(toward.labels), _height_px(away.labels)
    assert h_t[-3:].mean() > h_t[:3].mean() and h_a[-3:].mean() < h_a[:3].mean()


def test_covariates_coat_bag_and_carried_objects() -> None:
    nm = render_raw(CFG, 3, "nm-01", "090")
    cl = render_raw(CFG, 3, "cl-01", "090")
    bg = render_raw(CFG, 3, "bg-01", "090")
    assert "coat" in cl.part_names and cl.meta["coat_kind"] is not None
    assert "bag" in bg.part_names and bg.meta["bag_kind"] is not None
    assert "coat" not in nm.part_names and nm.meta["coat_kind"] is None
    # nm walks carry something only at carry_prob: never at 0, always at 1.
    never = dataclasses.replace(CFG, realism=dataclasses.replace(CFG.realism, carry_prob=0.0))
    always = dataclasses.replace(CFG, realism=dataclasses.replace(CFG.realism, carry_prob=1.0))
    assert all(render_raw(never, i, "nm-03", "090").meta["bag_kind"] is None for i in range(4))
    assert all(render_raw(always, i, "nm-03", "090").meta["bag_kind"] is not None for i in range(4))


def test_identity_lives_in_body_and_walk_clothes_change_per_walk() -> None:
    body, style, coat, wardrobe = realistic_identity(CFG.seed, 4, CFG.identity_spread, CFG.realism.wardrobe)
    outfits = set()
    for cond in CFG.conditions:
        m = render_raw(CFG, 4, cond, "090").meta
        assert m["height_m"] == round(body.height, 4) and m["build"] == round(body.build, 4)
        assert m["outfit"] in [dataclasses.asdict(o) for o in wardrobe]
        outfits.add(json.dumps(m["outfit"], sort_keys=True))
    assert len(outfits) >= 2  # several outfits of the wardrobe are worn
    assert len({o.hair for o in wardrobe}) == 1  # hair belongs to the person
    # Walks of one person keep their body, other people differ.
    other = realistic_identity(CFG.seed, 5, CFG.identity_spread, CFG.realism.wardrobe)[0]
    assert other.height != body.height
    # The same walk seen from two views shares the outfit and the bag (one walk, several cameras).
    a, b = render_raw(CFG, 4, "bg-02", "036"), render_raw(CFG, 4, "bg-02", "144")
    assert a.meta["outfit"] == b.meta["outfit"] and a.meta["bag_kind"] == b.meta["bag_kind"]


def test_segmenter_noise_is_a_nuisance_not_an_identity() -> None:
    clean_cfg = dataclasses.replace(CFG, realism=dataclasses.replace(CFG.realism, seg_noise=0.0, neighbour_prob=0.0))
    clean = render_raw(clean_cfg, 2, "nm-01", "072")
    noisy = render_raw(CFG, 2, "nm-01", "072")
    np.testing.assert_array_equal(clean.labels, noisy.labels)  # same person, same render
    inter = ((clean.frames > 0) & (noisy.frames > 0)).sum()
    union = ((clean.frames > 0) | (noisy.frames > 0)).sum()
    assert 0.5 < inter / union < 1.0


def test_config_round_trip_and_validation() -> None:
    d = CFG.to_dict()
    assert d["realism"]["fps"] == list(CFG.realism.fps)
    again = WorldConfig(**d)
    assert again == CFG
    assert "realism" not in get_preset("tiny").to_dict()  # mannequin worlds keep their world.json
    with pytest.raises(ValueError, match="realism.fps"):
        RealismConfig(fps=())
    with pytest.raises(ValueError, match="realism.distance_m"):
        RealismConfig(distance_m=(8.0, 3.0))
    with pytest.raises(ValueError, match="realism.carry_prob"):
        RealismConfig(carry_prob=1.5)


def test_a_coat_widens_the_body_and_a_bag_adds_an_object() -> None:
    from gaitforge.evaluation.silhouette_stats import silhouette_stats

    plain = dataclasses.replace(
        CFG, realism=dataclasses.replace(CFG.realism, wardrobe=1, carry_prob=0.0, seg_noise=0.0, neighbour_prob=0.0)
    )

    def width(cond: str, band: str) -> float:
        return float(
            np.mean(
                [
                    silhouette_stats(generate_sequence(plain, 6, cond, v).modalities["sil"])[band].mean()
                    for v in ("072", "090", "108")
                ]
            )
        )

    assert width("cl-01", "width/hips") > 1.04 * width("nm-01", "width/hips")
    nm, bg = render_raw(plain, 6, "nm-01", "090"), render_raw(plain, 6, "bg-01", "090")
    assert "bag" in bg.part_names and "bag" not in nm.part_names
    assert (bg.labels == bg.part_names.index("bag") + 1).any()  # the bag is visible
