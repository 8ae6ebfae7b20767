"""The command line on a tiny world: train → eval → score, models, demo, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gaitforge.cli import main
from gaitforge.config import config_to_dict
from tests.conftest import micro_config


def _write_config(path: Path, store: Path, **train: object) -> Path:
    path.write_text(yaml.safe_dump(config_to_dict(micro_config(store, **train))))
    return path


def test_models_lists_registered(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "gaitbase" in out and "gei" in out
    assert main(["models", "--json"]) == 0
    names = [row["name"] for row in json.loads(capsys.readouterr().out)]
    assert {"gaitbase", "gei"} <= set(names)


def test_train_eval_score(micro_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write_config(tmp_path / "micro.yaml", micro_world, iterations=2)
    run = tmp_path / "run"
    assert main(["-q", "train", str(cfg), "--run-dir", str(run), "--set", "train.iterations=3", "--eval"]) == 0
    out = capsys.readouterr().out
    assert "trained 3 iterations" in out and "NM" in out and "CL" in out
    results = json.loads((run / "eval" / "results.json").read_text())
    nm = results["figures"]["scalar/test_accuracy/NM@R1"]
    assert 0.0 <= nm <= 100.0

    assert main(["-q", "eval", str(run), "--metric", "cos", "--out", str(tmp_path / "cos")]) == 0
    assert json.loads((tmp_path / "cos" / "results.json").read_text())["metric"] == "cos"

    # cross-domain: the trained run evaluated on another store given on the command line
    assert main(["-q", "eval", str(run), "--store", str(micro_world), "--out", str(tmp_path / "xd")]) == 0
    assert json.loads((tmp_path / "xd" / "results.json").read_text())["protocol"] == "casia-b"

    emb = run / "eval" / "embeddings.npz"
    assert (
        main(
            [
                "-q",
                "score",
                "--protocol",
                "casia-b",
                "--metric",
                "euc",
                "--embeddings",
                str(emb),
                "--json",
                str(tmp_path / "score.json"),
            ]
        )
        == 0
    )
    scored = json.loads((tmp_path / "score.json").read_text())
    assert scored["figures"]["scalar/test_accuracy/NM@R1"] == pytest.approx(nm)


def test_user_errors_are_one_clear_line(micro_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  iteratons: 3\n")
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: unknown config key train.iteratons" in err and "Traceback" not in err
    assert main(["eval", str(tmp_path / "no-such-run")]) == 2
    assert "no-such-run: no run folder or checkpoint file there" in capsys.readouterr().err
    cfg = _write_config(tmp_path / "m.yaml", micro_world)
    assert main(["train", str(cfg), "--run-dir", str(tmp_path / "r"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_python_dash_m() -> None:
    done = subprocess.run([sys.executable, "-m", "gaitforge", "models"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "gaitbase" in done.stdout


def test_demo_on_tiny_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--preset", "tiny", "--iterations", "2", "--workers", "1", "--out", str(out)]) == 0
    summary = json.loads((out / "results.json").read_text())
    assert set(summary["rank1"]) == {"gaitbase", "gei"}
    assert set(summary["rank1"]["gei"]) == {"NM", "BG", "CL"}
    assert summary["world"]["sequences"] == 880
    assert (out / "cmc.png").stat().st_size > 1000
    assert "Rank-1" in capsys.readouterr().out
