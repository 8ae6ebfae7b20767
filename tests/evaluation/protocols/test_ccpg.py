from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import part_distance, score_embeddings
from gaitforge.evaluation.protocols.ccpg import parse_view_prefix

from ..reference_impl import naive_row_stats, naive_single_view, synthetic_embeddings

TYPES = ["U0_D0_BG", "U0_D0", "U3_D3", "U0_D3", "U1_D0", "U1_D1", "U2_D2"]


@pytest.fixture(scope="module")
def ccpg():
    return synthetic_embeddings(
        np.random.default_rng(2), [f"{i:03d}" for i in range(5)], TYPES, ["01_1", "02_1", "03_2"], noise=1.0
    )


def test_view_prefix() -> None:
    views = np.array(["03_2", "10", "01_1_x"])
    assert parse_view_prefix(views).tolist() == ["03", "10", "01"]
    assert views.tolist() == ["03_2", "10", "01_1_x"]  # the caller's array is left alone


def test_gait_grid_and_reid_match_naive_loops(ccpg) -> None:
    emb, lab, typ, view = ccpg
    before = view.copy()
    result = score_embeddings("ccpg", emb, lab, typ, view)
    np.testing.assert_array_equal(view, before)  # the peer rewrites the caller's views in place; we do not
    pv = parse_view_prefix(view)
    for cond, ptypes, gtypes in (
        ("CL", ["U0_D0_BG", "U0_D0"], ["U1_D1", "U2_D2", "U3_D3"]),
        ("UP", ["U3_D3"], ["U0_D3"]),
    ):
        p, g = np.isin(typ, ptypes), np.isin(typ, gtypes)
        dist = part_distance(emb[p], emb[g]).numpy()
        acc = naive_single_view(dist, lab[p], lab[g], pv[p], pv[g], ["01", "02", "03"])
        np.testing.assert_array_equal(np.asarray(result[f"scalar/test_accuracy/{cond}"]), acc)
        stats = [
            naive_row_stats(dist[i], lab[g] == lab[p][i], ~((lab[g] == lab[p][i]) & (pv[g] == pv[p][i])))
            for i in range(p.sum())
        ]
        valid = [s for s in stats if s[3] > 0]
        assert result.extra[f"{cond}/reid-mAP"] == pytest.approx(
            100 * np.mean([s[1] for s in valid]), abs=1e-9
        )
        assert result.extra[f"{cond}/reid-mINP"] == pytest.approx(
            100 * np.mean([s[2] for s in valid]), abs=1e-9
        )
        r1 = float(
            np.float32(np.float32(sum(s[0] == 0 for s in valid)) / np.float32(len(valid))) * np.float32(100)
        )
        assert result.extra[f"{cond}/reid-Rank-1"] == r1
        assert result.extra[f"{cond}/gait-R1-incl-identical-view"] == pytest.approx(acc.mean())
    assert "CL" in str(result)


def test_empty_gallery_view_cells_are_null_and_noted(ccpg) -> None:
    emb, lab, typ, view = ccpg
    keep = ~((typ == "U0_D3") & (view == "02_1"))
    result = score_embeddings("ccpg", *(a[keep] for a in ccpg))
    up = np.asarray(result["scalar/test_accuracy/UP"])
    assert np.all(np.isnan(up[:, 1])) and np.isfinite(up[:, [0, 2]]).all()
    assert any(n.startswith("UP:") for n in result.notes)


def test_condition_without_gallery_is_null(ccpg) -> None:
    keep = ccpg[2] != "U1_D0"
    result = score_embeddings("ccpg", *(a[keep] for a in ccpg))
    assert result["scalar/test_accuracy/DN"] is None and "DN" not in result.per_view
