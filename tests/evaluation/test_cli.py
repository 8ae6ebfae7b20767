from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from gaitforge.evaluation.cli import add_score_arguments, run_score

from .reference_impl import synthetic_embeddings


def _run(argv: list[str]) -> int:
    parser = add_score_arguments(argparse.ArgumentParser())
    return run_score(parser.parse_args(argv))


def _npz(tmp_path: Path, types, views, subjects=("0001", "0002", "0003")) -> Path:
    emb, lab, typ, view = synthetic_embeddings(np.random.default_rng(0), list(subjects), types, views)
    path = tmp_path / "emb.npz"
    np.savez(path, embeddings=emb, labels=lab, types=typ, views=view)
    return path


def test_score_writes_json_and_plots(tmp_path: Path, capsys) -> None:
    npz = _npz(tmp_path, ["nm-01", "nm-05", "bg-01", "cl-01"], ["000", "090"])
    out = tmp_path / "out" / "casiab.json"
    assert _run(["--protocol", "casia-b", "--embeddings", str(npz), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["protocol"] == "casia-b" and "scalar/test_accuracy/NM@R1" in data["figures"]
    assert (out.parent / "casiab_heatmap_NM.png").is_file()
    printed = capsys.readouterr().out
    assert "probe view" in printed and f"wrote {out}" in printed


def test_gait3d_with_partition_and_no_plots(tmp_path: Path) -> None:
    npz = _npz(tmp_path, ["camid0_videoid0"], ["seq0", "seq1", "seq2"])
    part = tmp_path / "part.json"
    part.write_text(
        json.dumps({"PROBE_SET": [f"{s}-camid0_videoid0-seq0" for s in ("0001", "0002", "0003")]})
    )
    out = tmp_path / "g.json"
    assert (
        _run(
            [
                "--protocol",
                "gait3d",
                "--partition",
                str(part),
                "--embeddings",
                str(npz),
                "--json",
                str(out),
                "--metric",
                "cos",
                "--no-plots",
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["metric"] == "cos"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb.npz", "g.json", "part.json"]


def test_submission_csv_defaults_next_to_json(tmp_path: Path) -> None:
    npz = _npz(tmp_path, ["01", "02", "03"], [f"v{i}" for i in range(8)], subjects=("1", "2"))
    out = tmp_path / "r" / "grew.json"
    assert _run(["--protocol", "grew-submission", "--embeddings", str(npz), "--json", str(out)]) == 0
    assert (tmp_path / "r" / "grew.csv").read_text().startswith("videoId,rank1,")


def test_bad_input_returns_2_with_a_message(tmp_path: Path, capsys) -> None:
    npz = _npz(tmp_path, ["01", "02"], ["a"])
    assert _run(["--protocol", "gait3d", "--embeddings", str(npz)]) == 2
    assert "needs the partition JSON" in capsys.readouterr().err
    assert _run(["--protocol", "grew-submission", "--embeddings", str(npz)]) == 2
    assert "--submission" in capsys.readouterr().err
    assert _run(["--protocol", "grew", "--embeddings", str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz" in capsys.readouterr().err
    bad = tmp_path / "p.json"
    bad.write_text("[1, 2]")
    assert _run(["--protocol", "gait3d", "--partition", str(bad), "--embeddings", str(npz)]) == 2
    assert "JSON object" in capsys.readouterr().err
