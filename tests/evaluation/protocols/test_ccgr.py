"""CCGR's full protocol (hard and easy) against a slow loop over the evaluator's definition, and the dataset
names: CCGR → ccgr (no partition needed), CCGR-MINI → ccgr-mini (GALLERY_SET)."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import protocol_for_dataset, score_embeddings
from gaitforge.evaluation.protocols.ccgr import CCGR_CONDITIONS

from ..reference_impl import naive_distance

VIEWS = ("0", "22_5", "45")


@pytest.fixture(scope="module")
def ccgr_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """4 subjects × 54 conditions × 3 views, identity-structured random embeddings [N, 8, 2]."""
    rng = np.random.default_rng(3)
    means = rng.normal(size=(4, 8, 2))
    rows = [(s, c, v) for s in range(4) for c in CCGR_CONDITIONS for v in VIEWS]
    emb = np.stack([means[s] + 1.3 * rng.normal(size=(8, 2)) for s, _, _ in rows]).astype(np.float32)
    labels = np.array([f"{s:03d}" for s, _, _ in rows])
    types = np.array([c for _, c, _ in rows])
    views = np.array([v for _, _, v in rows])
    return emb, labels, types, views


def _reference(emb, labels, types, views, gallery_conds, rank):
    """acc_all[p, g] by explicit loops: per (p, g, v1, v2) cell a full sort, identical views left out."""
    dist = naive_distance(emb, emb, "euc")
    view_list = sorted(set(views.tolist()))
    out = np.zeros((len(CCGR_CONDITIONS), len(gallery_conds)))
    for p, pc in enumerate(CCGR_CONDITIONS):
        for g, gc in enumerate(gallery_conds):
            per_view = []
            for v1 in view_list:
                probes = np.flatnonzero((types == pc) & (views == v1))
                cells = []
                for v2 in view_list:
                    if v2 == v1:
                        continue
                    gal = np.flatnonzero((types == gc) & (views == v2))
                    hits = 0
                    for q in probes:
                        nearest = gal[np.argsort(dist[q, gal], kind="stable")[:rank]]
                        hits += labels[q] in set(labels[nearest].tolist())
                    cells.append(np.round(hits * 100 / len(probes), 2))
                per_view.append(np.mean(cells))
            out[p, g] = np.mean(per_view)
    return out


def test_hard_and_easy_match_the_slow_loop(ccgr_data) -> None:
    result = score_embeddings("ccgr", *ccgr_data)
    for rank in (1, 5):
        acc_all = _reference(*ccgr_data, CCGR_CONDITIONS, rank)
        off = acc_all - np.diag(np.diag(acc_all))
        per_gallery = off.sum(axis=0) / (len(CCGR_CONDITIONS) - 1)
        assert result[f"scalar/test_accuracy/Rank-{rank} hard"] == pytest.approx(per_gallery.mean(), abs=1e-9)
        assert result[f"scalar/test_accuracy/Rank-{rank} easy"] == pytest.approx(per_gallery[0], abs=1e-9)
    assert result.counts["probes"] == result.counts["gallery"] == len(ccgr_data[0])


def test_easy_mode_uses_the_nm1_gallery_over_all_probe_conditions(ccgr_data) -> None:
    result = score_embeddings("ccgr-easy", *ccgr_data)
    for rank in (1, 5):
        acc_all = _reference(*ccgr_data, ("NM1",), rank)
        assert result[f"scalar/test_accuracy/Rank-{rank} easy"] == pytest.approx(acc_all[:, 0].mean(), abs=1e-9)
        assert f"scalar/test_accuracy/Rank-{rank} hard" not in result.figures
    assert result.counts["gallery"] == 4 * len(VIEWS)


def test_dataset_names_map_to_their_own_protocols(ccgr_data) -> None:
    assert protocol_for_dataset("CCGR") == "ccgr"
    assert protocol_for_dataset("CCGR-MINI") == "ccgr-mini" == protocol_for_dataset("ccgr_mini")
    # the full partition has no GALLERY_SET, and the full protocol needs none
    assert score_embeddings("ccgr", *ccgr_data).figures
    with pytest.raises(ValueError, match="GALLERY_SET"):
        score_embeddings("ccgr-mini", *ccgr_data, partition={"TRAIN_SET": [], "TEST_SET": []})


def test_rows_outside_the_conditions_are_counted_and_a_missing_gallery_is_an_error(ccgr_data) -> None:
    emb, labels, types, views = ccgr_data
    odd = types.copy()
    odd[types == "NM2"] = "XX9"  # no NM2 at all: its cells are undefined and left out of the means
    result = score_embeddings("ccgr", emb, labels, odd, views)
    assert result.counts["skipped"][0]["count"] == 4 * len(VIEWS)
    assert any("no probe or no gallery" in n for n in result.notes)
    assert np.isfinite(result["scalar/test_accuracy/Rank-1 hard"])
    keep = types != "NM1"
    with pytest.raises(ValueError, match="no gallery rows"):
        score_embeddings("ccgr-easy", emb[keep], labels[keep], types[keep], views[keep])
