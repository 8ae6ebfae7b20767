"""Half-track identification: the split rules, and the real check on OpenCV's vtest.avi (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.evaluation.halftrack import (
    Track,
    change_split,
    gei_embedder,
    halftrack_identification,
    model_embedder,
    split_track,
)


def _boxes(n: int, turn_at: int, grow: float = 1.0) -> np.ndarray:
    """A walker moving right, then (from ``turn_at``) down the image while its box grows by ``grow``."""
    x = np.where(np.arange(n) < turn_at, np.arange(n) * 5.0, turn_at * 5.0)
    y = np.where(np.arange(n) < turn_at, 300.0, 300.0 + (np.arange(n) - turn_at) * 5.0)
    h = np.where(np.arange(n) < turn_at, 80.0, 80.0 * grow)
    return np.stack([x - 15, y - h, x + 15, y], 1)


def test_change_split_finds_the_turn_and_respects_the_margins() -> None:
    i, score = change_split(_boxes(60, 40))
    assert abs(i - 40) <= 3 and score > 0.4  # a 90° turn: about 0.5
    i, _ = change_split(_boxes(60, 5))  # the turn is too early: the split stays inside the margins
    assert 18 <= i <= 42
    i, score = change_split(_boxes(60, 30, grow=1.6))
    assert abs(i - 30) <= 3 and score > 0.5 + np.log(1.6) - 0.1


def test_identification_on_toy_tracks_and_errors() -> None:
    rng = np.random.default_rng(0)
    tracks = []
    for k in range(4):  # each "person" is a box of its own width, with noise
        sil = np.zeros((30, 64, 64), np.uint8)
        sil[:, 4:60, 32 - 4 * (k + 1) : 32 + 4 * (k + 1)] = 255
        sil[rng.random(sil.shape) < 0.05] = 0
        tracks.append(Track(f"t{k}", sil, _boxes(30, 15)))
    r = halftrack_identification(tracks, {"gei": gei_embedder()}, how="half")
    assert r["models"]["gei"]["rank1"] == 1.0 and r["chance"] == 0.25 and len(r["tracks"]) == 4
    a, b, _ = split_track(tracks[0], "change")
    assert len(a) + len(b) == 30
    with pytest.raises(ValueError, match="split"):
        split_track(tracks[0], "thirds")
    with pytest.raises(ValueError, match="need 2"):
        halftrack_identification(tracks[:1], {"gei": gei_embedder()})
    with pytest.raises(ValueError, match="boxes"):
        Track("bad", np.zeros((3, 64, 64), np.uint8), np.zeros((2, 4)))


def test_real_people_in_vtest(shared_dir: Path) -> None:
    """Tracks from the default pipeline on 30 s of real street video; GEI recognises people across track halves."""
    import torch

    from gaitforge.data.transforms import build_transform
    from gaitforge.models import create_model
    from gaitforge.preprocess.video import extract_tracks

    video = shared_dir / "data" / "vtest.avi"
    if not video.exists():
        pytest.skip(f"{video} is absent")
    result = extract_tracks(video, end_s=30.0)
    tracks = [
        Track(s.subject, s.modalities["sil"], np.asarray(s.meta["boxes"], np.float32)) for s in result.sequences()
    ]
    assert len(tracks) >= 8  # people walking through in 30 s (17 at the time of writing)
    torch.manual_seed(0)
    tiny = create_model("gaitbase", num_classes=4, channels=[8, 16, 16, 32], embed_dim=16, bins=[4])
    transform = build_transform([{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}])
    embedders = {"gei": gei_embedder(), "tiny": model_embedder(tiny, transform)}
    for how in ("half", "change"):
        r = halftrack_identification(tracks, embedders, how=how)
        n = len(r["tracks"])
        assert n >= 6
        for m in r["models"].values():
            assert len(m["ranks"]) == n and all(1 <= k <= n for k in m["ranks"])
        # GEI is well above chance on real half-tracks (about a third right where chance is 1/n).
        assert r["models"]["gei"]["rank1"] >= 3.0 * r["chance"]
