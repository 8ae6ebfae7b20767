from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.evaluation import part_distance, score_embeddings
from gaitforge.evaluation.submission import format_label

from ..reference_impl import synthetic_embeddings


@pytest.fixture(scope="module")
def grew():
    emb, lab, typ, view = synthetic_embeddings(
        np.random.default_rng(3), [f"{i:05d}" for i in range(12)], ["01", "02", "03"], ["a"]
    )
    vids = np.array([f"vid{i:03d}" for i in range(len(lab))])
    return emb, lab, typ, vids


def test_grew_submission_top20_rows(grew, tmp_path: Path) -> None:
    emb, lab, typ, vids = grew
    out = tmp_path / "sub" / "grew.csv"
    result = score_embeddings("grew-submission", emb, lab, typ, vids, submission_path=out)
    p, g = typ == "03", np.isin(typ, ["01", "02"])
    dist = part_distance(emb[p], emb[g]).numpy()
    order = np.argsort(dist, axis=1, kind="stable")[:, :20]
    lines = out.read_text().splitlines()
    assert lines[0] == "videoId," + ",".join(f"rank{i}" for i in range(1, 21))
    for line, vid, idx in zip(lines[1:], vids[p], order):
        assert line.split(",") == [vid, *(str(int(x)) for x in lab[g][idx])]
    assert len(lines) == 13 and result.submission["path"] == str(out) and result.counts["probes"] == 12


def test_grew_submission_needs_20_gallery_rows_and_integer_ids(grew, tmp_path: Path) -> None:
    emb, lab, typ, vids = grew
    keep = (typ == "03") | np.isin(lab, [f"{i:05d}" for i in range(5)])
    with pytest.raises(ValueError, match="at least 20 gallery rows"):
        score_embeddings(
            "grew-submission", emb[keep], lab[keep], typ[keep], vids[keep], submission_path=tmp_path / "x"
        )
    with pytest.raises(ValueError, match="not an integer"):
        score_embeddings("grew-submission", emb, np.char.add("id", lab), typ, vids)
    assert format_label("00042", "int") == "42" and format_label("00042", "str") == "00042"


def test_no_path_keeps_rows_and_writes_nothing(grew, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = score_embeddings("grew-submission", *grew)
    assert result.submission["path"] is None and len(result.submission_rows) == 12
    assert list(tmp_path.iterdir()) == []  # never the working directory


def test_hid_nearest_label_and_rerank(tmp_path: Path) -> None:
    emb, lab, typ, view = synthetic_embeddings(
        np.random.default_rng(4), ["0500", "0501", "0502", "0503"], ["00"], ["0", "1", "2"]
    )
    lab = lab.astype("<U8")
    probe = view == "2"
    lab[probe] = "probe"
    vids = np.array([f"v{i}" for i in range(len(lab))])
    plain = score_embeddings("hid-submission", emb, lab, typ, vids, submission_path=tmp_path / "a.csv")
    dist = part_distance(emb[probe], emb[~probe]).numpy()
    assert [r[1] for r in plain.submission_rows] == lab[~probe][dist.argmin(1)].tolist()
    assert (tmp_path / "a.csv").read_text().startswith("videoID,label\nv2,")
    rr = score_embeddings(
        "hid-submission", emb, lab, typ, vids, rerank=True, submission_path=tmp_path / "b.csv"
    )
    assert rr.options["rerank"] and len(rr.submission_rows) == 4
    with pytest.raises(ValueError, match="no probe rows"):
        score_embeddings("hid-submission", emb, np.where(probe, "x", lab), typ, vids)
