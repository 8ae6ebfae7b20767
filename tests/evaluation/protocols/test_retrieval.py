from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import part_distance, score_embeddings
from gaitforge.evaluation.data import make_eval_data
from gaitforge.evaluation.protocols.retrieval import partition_keys

from ..reference_impl import naive_row_stats, synthetic_embeddings


@pytest.fixture(scope="module")
def wild():
    return synthetic_embeddings(
        np.random.default_rng(1),
        [f"{i:04d}" for i in range(12)],
        ["cam1_v0", "cam2_v1"],
        ["seq0", "seq1", "seq2"],
        noise=1.0,
    )


def _partition(data, probe_rows, key="PROBE_SET"):
    keys = partition_keys(make_eval_data(*data))
    return {"TEST_SET": [], key: keys[probe_rows].tolist()}


def test_partition_retrieval_matches_naive_loops(wild) -> None:
    emb, lab, typ, view = wild
    probe = (view == "seq0") & (typ == "cam1_v0")
    probe[np.flatnonzero(lab == "0011")] = True  # 0011 only in the probe set: skipped, like the peer
    result = score_embeddings("gait3d", *wild, metric="cos", partition=_partition(wild, probe))
    dist = part_distance(emb[probe], emb[~probe], "cos").numpy()
    stats = [naive_row_stats(dist[i], lab[~probe] == lab[probe][i]) for i in range(probe.sum())]
    valid = [s for s in stats if s[3] > 0]
    assert result.counts == {
        "probes": int(probe.sum()),
        "gallery": int((~probe).sum()),
        "valid_probes": len(valid),
        "skipped": result.counts["skipped"],
    }
    assert result.counts["skipped"][0]["count"] == len(stats) - len(valid) == 6
    for k in (1, 5, 10):
        expected = np.float32(np.float32(sum(s[0] < k for s in valid)) / np.float32(len(valid))) * np.float32(
            100
        )
        assert result[f"scalar/test_accuracy/Rank-{k}"] == float(expected)
    assert result["scalar/test_accuracy/mAP"] == pytest.approx(100 * np.mean([s[1] for s in valid]), abs=1e-9)
    assert result["scalar/test_accuracy/mINP"] == pytest.approx(
        100 * np.mean([s[2] for s in valid]), abs=1e-9
    )
    assert len(result.cmc["CMC"]) == min(50, int((~probe).sum()))


def test_ccgr_mini_lists_the_gallery(wild) -> None:
    emb, lab, typ, view = wild
    gallery = view != "seq0"
    a = score_embeddings("ccgr-mini", *wild, partition=_partition(wild, gallery, "GALLERY_SET"))
    b = score_embeddings("freegait", *wild, partition=_partition(wild, ~gallery))
    assert a.figures == b.figures and a.counts["probes"] == int((~gallery).sum())


def test_partition_errors(wild) -> None:
    with pytest.raises(ValueError, match="needs the partition JSON"):
        score_embeddings("gait3d", *wild)
    with pytest.raises(ValueError, match="no 'PROBE_SET' list"):
        score_embeddings("gait3d", *wild, partition={"TRAIN_SET": []})
    with pytest.raises(ValueError, match="leaves no probe rows"):
        score_embeddings("gait3d", *wild, partition={"PROBE_SET": ["nobody-x-y"]})


def test_small_gallery_rank_10_is_defined(wild) -> None:
    emb, lab, typ, view = wild
    keep = np.isin(lab, ["0000", "0001", "0002"]) & (typ == "cam1_v0")
    sub = tuple(a[keep] for a in wild)
    probe = sub[3] == "seq0"
    result = score_embeddings("gait3d", *sub, partition=_partition(sub, probe))
    assert len(result.cmc["CMC"]) == 6
    assert result["scalar/test_accuracy/Rank-10"] == result.cmc["CMC"][-1] == 100.0
    assert any("index error" in n for n in result.notes)


def test_no_valid_probe_is_an_error(wild) -> None:
    emb, lab, typ, view = wild
    probe = lab == "0003"
    with pytest.raises(ValueError, match="no probe identity occurs in the gallery"):
        score_embeddings("gait3d", *wild, partition=_partition(wild, probe))


def test_grew_counts_every_probe(wild) -> None:
    emb, lab, typ, view = wild
    types = np.where(view == "seq0", "01", np.where(view == "seq1", "02", "03"))
    types[(lab == "0000") & (types == "01")] = "03"  # 0000 loses its gallery: its probes are misses
    result = score_embeddings("grew", emb, lab, types, view)
    g, p = types == "01", types == "02"
    dist = part_distance(emb[p], emb[g]).numpy()
    first = np.array([naive_row_stats(dist[i], lab[g] == lab[p][i])[0] for i in range(p.sum())])
    for k in (1, 5):
        assert result[f"scalar/test_accuracy/Rank-{k}"] == np.round(
            np.sum((first >= 0) & (first < k)) * 100 / p.sum(), 2
        )
    assert {s["what"]: s["count"] for s in result.counts["skipped"]}["probes (counted as misses)"] == 2
    assert len(result.cmc["CMC"]) == 20 and result.extra["Rank-20"] == result.cmc["CMC"][19]
