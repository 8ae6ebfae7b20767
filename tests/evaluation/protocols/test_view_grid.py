from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import part_distance, score_embeddings
from gaitforge.evaluation.protocols.grid import de_diag

from ..reference_impl import naive_row_stats, naive_single_view, synthetic_embeddings

VIEWS = ["000", "090", "180"]
TYPES = ["nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "bg-02", "cl-01", "cl-02"]


@pytest.fixture(scope="module")
def casia():
    return synthetic_embeddings(
        np.random.default_rng(0), [f"{i:03d}" for i in range(6)], TYPES, VIEWS, noise=1.2
    )


def _subset(data, keep):
    return tuple(a[keep] for a in data)


def test_single_view_matches_naive_loops(casia) -> None:
    emb, lab, typ, view = casia
    result = score_embeddings("casia-b", emb, lab, typ, view)
    g = np.isin(typ, ["nm-01", "nm-02", "nm-03", "nm-04"])
    for cond, types in (("NM", ["nm-05", "nm-06"]), ("BG", ["bg-01", "bg-02"]), ("CL", ["cl-01", "cl-02"])):
        p = np.isin(typ, types)
        dist = part_distance(emb[p], emb[g]).numpy()
        acc = naive_single_view(dist, lab[p], lab[g], view[p], view[g], VIEWS)
        np.testing.assert_array_equal(np.asarray(result.per_view[cond]["matrix"]), acc)
        expected = np.mean([(acc[i].sum() - acc[i, i]) / 2 for i in range(3)])
        assert result[f"scalar/test_accuracy/{cond}@R1"] == pytest.approx(expected, abs=1e-9)
    assert result.counts["probes"] == {"NM": 36, "BG": 36, "CL": 36} and result.counts["gallery"] == 72
    assert "NM" in str(result) and "mean" in str(result)


def test_cross_view_matches_naive_loops(casia) -> None:
    emb, lab, typ, view = casia
    result = score_embeddings("casia-b", emb, lab, typ, view, metric="cos", cross_view_gallery=True)
    g = np.isin(typ, ["nm-02", "bg-02", "cl-02"])
    dist = part_distance(emb, emb[g], "cos").numpy()
    for cond, ptype in (("NM", "nm-01"), ("BG", "bg-01"), ("CL", "cl-01")):
        for i, v in enumerate(VIEWS):
            rows = np.flatnonzero((typ == ptype) & (view == v))
            stats = [
                naive_row_stats(dist[r], lab[g] == lab[r], ~((lab[g] == lab[r]) & (view[g] == v)))
                for r in rows
            ]
            acc = np.mean([s[0] == 0 for s in stats])
            m_ap = np.mean([s[1] for s in stats if s[3] > 0])
            assert result.per_view[cond]["Rank@1"][i] == np.round(acc * 100, 2)
            assert result.per_view[cond]["mAP"][i] == pytest.approx(np.round(m_ap * 100, 2), abs=1e-9)
    assert set(result.figures) == {
        f"scalar/test_accuracy/{c}-{m}" for c in ("NM", "BG", "CL") for m in ("Rank@1", "mAP")
    }


def test_missing_probe_view_is_noted_counted_and_averaged_over_the_rest(casia) -> None:
    emb, lab, typ, view = casia
    keep = ~(np.isin(typ, ["cl-01", "cl-02"]) & (view == "090"))
    result = score_embeddings("casia-b", *_subset(casia, keep))
    cl = result.per_view["CL"]
    assert cl["num_probes"] == [12, 0, 12]
    assert np.isnan(cl["accuracy"][1]) and np.all(np.isnan(np.asarray(cl["matrix"])[1]))
    assert result["scalar/test_accuracy/CL@R1"] == pytest.approx(
        np.mean([cl["accuracy"][0], cl["accuracy"][2]])
    )
    assert any("CL" in n and "NaN" in n for n in result.notes)
    assert result.to_dict()["per_view"]["CL"]["accuracy"][1] is None  # NaN -> JSON null


def test_empty_gallery_view_makes_cells_undefined_not_a_crash(casia) -> None:
    emb, lab, typ, view = casia
    keep = ~(np.isin(typ, ["nm-01", "nm-02", "nm-03", "nm-04"]) & (view == "180"))
    result = score_embeddings("casia-b", *_subset(casia, keep))
    nm = np.asarray(result.per_view["NM"]["matrix"])
    assert np.all(np.isnan(nm[:, 2])) and np.all(np.isfinite(nm[:, :2]))
    np.testing.assert_allclose(result.per_view["NM"]["accuracy"][:2], [nm[0, 1], nm[1, 0]])
    assert result.counts["gallery_per_view"]["180"] == 0
    assert any("no gallery rows at views ['180']" in n for n in result.notes)


def test_unknown_types_and_views_are_counted_and_noted(casia) -> None:
    emb, lab, typ, view = casia
    typ = typ.copy()
    typ[:5] = "xx-01"
    view = view.copy()
    view[view == "090"] = "90"
    result = score_embeddings("casia-b", emb, lab, typ, view)
    skipped = {s["what"]: s for s in result.counts["skipped"]}
    assert skipped["rows"]["count"] == 5 and skipped["rows"]["types"] == ["xx-01"]
    assert any("'90'" in n for n in result.notes)


def test_no_probe_or_gallery_rows_is_a_clear_error(casia) -> None:
    emb, lab, typ, view = casia
    with pytest.raises(ValueError, match="no gallery rows.*nm-01/nm-02/nm-03/nm-04"):
        score_embeddings("casia-b", emb, lab, np.full(len(typ), "00"), view)
    keep = np.isin(typ, ["nm-01", "nm-02"])
    with pytest.raises(ValueError, match="no probe rows"):
        score_embeddings("casia-b", *_subset(casia, keep))


def test_condition_without_probes_is_null(casia) -> None:
    keep = ~np.isin(casia[2], ["cl-01", "cl-02"])
    result = score_embeddings("casia-b", *_subset(casia, keep))
    assert result["scalar/test_accuracy/CL@R1"] is None and result["scalar/test_accuracy/NM@R1"] is not None


def test_casia_e_drops_view_270_and_counts_it() -> None:
    types = ["H-scene1-nm-1", "L-scene1-nm-2", "H-scene2-nm-1", "L-scene3-bg-2", "H-scene3_s-cl-1"]
    emb, lab, typ, view = synthetic_embeddings(
        np.random.default_rng(3), ["1", "2", "3"], types, ["000", "090", "270"]
    )
    result = score_embeddings("casia-e", emb, lab, typ, view)
    assert result.per_view["NM"]["probe_views"] == ["000", "090"]
    assert {s["what"]: s["count"] for s in result.counts["skipped"]}["rows"] == 15
    assert set(result.figures) == {f"scalar/test_accuracy/{c}@R1" for c in ("NM", "BG", "CL")}


def test_sustech1k_substring_types_and_rank_k() -> None:
    types = ["00-nm", "01-nm", "01-bg", "02-bg", "01-cl"]
    emb, lab, typ, view = synthetic_embeddings(
        np.random.default_rng(4), ["a", "b", "c", "d"], types, ["000", "000-far", "090"], noise=1.5
    )
    result = score_embeddings("sustech1k", emb, lab, typ, view)
    assert result.counts["probes"]["Bag"] == 24 and result.counts["probes"]["Overall"] == 48
    assert result.counts["gallery"] == 12
    for cond in ("Normal", "Bag", "Overall"):
        r = [result[f"scalar/test_accuracy/{cond}@R1"]] + [result.extra[f"{cond}@R{k}"] for k in range(2, 6)]
        assert all(a <= b + 1e-9 for a, b in zip(r, r[1:]))
        assert result.extra[f"{cond}@R4"] == pytest.approx(100.0)  # 4 subjects in each gallery view


def test_de_diag_matches_the_peer_formula_and_skips_nan() -> None:
    acc = np.array([[100.0, 50.0, 70.0], [20.0, 90.0, 40.0], [10.0, 30.0, 80.0]])
    np.testing.assert_array_equal(de_diag(acc), np.sum(acc - np.diag(np.diag(acc)), 1) / 2.0)
    acc[0, 2] = np.nan
    assert de_diag(acc)[0] == 50.0
