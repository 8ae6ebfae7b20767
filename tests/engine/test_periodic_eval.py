"""``train.eval_every``: evaluation during training on the run's test set, ``best.pt`` by ``train.best_metric``,
curves in ``metrics.jsonl`` / TensorBoard, no effect on the training steps, and resume-safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gaitforge.config import ConfigError, config_from_dict, config_to_dict
from gaitforge.engine.checkpoint import latest_checkpoint, load_checkpoint
from gaitforge.engine.evaluate import load_trained_model
from gaitforge.engine.periodic_eval import BestTracker, select_score
from gaitforge.engine.trainer import train
from tests.conftest import micro_config

R1 = "scalar/test_accuracy/"


def test_select_score() -> None:
    figures = {f"{R1}NM@R1": 90.0, f"{R1}BG@R1": 80.0, f"{R1}CL@R1": None, f"{R1}NM-mAP": 10.0}
    assert select_score(figures, "mean_rank1") == pytest.approx(85.0)  # undefined figures are left out
    assert select_score({f"{R1}Rank-1": 40.0, f"{R1}Rank-5": 70.0, f"{R1}mAP": 5.0}, "mean_rank1") == 40.0
    ccpg = {f"{R1}CL": 30.0, f"{R1}UP": 50.0, f"{R1}mAP": 1.0}  # no Rank-1 key: the accuracies, without mAP
    assert select_score(ccpg, "mean_rank1") == pytest.approx(40.0)
    assert select_score(figures, f"{R1}BG@R1") == 80.0
    with pytest.raises(ValueError, match=r"no figure 'NM'; available: mean_rank1, scalar/"):
        select_score(figures, "NM")
    with pytest.raises(ValueError, match="not a finite number"):
        select_score(figures, f"{R1}CL@R1")
    tracker = BestTracker("mean_rank1")
    assert tracker.improves(0.0) and BestTracker("mean_rank1", 5.0, 2).improves(5.0) is False
    restored = BestTracker.from_state({"metric": "mean_rank1", "value": 5.0, "iteration": 2}, "mean_rank1")
    assert restored == BestTracker("mean_rank1", 5.0, 2)
    assert BestTracker.from_state(restored.to_dict(), f"{R1}NM@R1").value is None  # another metric: start afresh


def test_config_keys() -> None:
    with pytest.raises(ConfigError, match=r"train\.eval_every: expected a finite number >= 0, got -1"):
        config_from_dict({"train": {"eval_every": -1}})
    cfg = config_from_dict({"train": {"eval_every": 500, "best_metric": f"{R1}NM@R1"}})
    assert config_to_dict(cfg)["train"]["eval_every"] == 500


def _eval_lines(run: Path) -> list[dict]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [x for x in lines if any(k.startswith("eval/") for k in x)]


def test_evaluates_keeps_the_best_and_leaves_training_unchanged(micro_world: Path, tmp_path: Path) -> None:
    plain = train(micro_config(micro_world, iterations=5), tmp_path / "plain", progress=False)
    cfg = micro_config(micro_world, iterations=5, eval_every=2, keep_checkpoints=10, save_every=1, tensorboard=True)
    run = tmp_path / "run"
    result = train(cfg, run, progress=False)

    # the evaluation draws nothing from the training generators: the same steps as without it
    a, b = load_checkpoint(plain.checkpoint)["model"], load_checkpoint(result.checkpoint)["model"]
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=key)

    evals = _eval_lines(run)
    assert [x["step"] for x in evals] == [2, 4, 5]  # every 2 iterations and after the last
    scores = [x["eval/mean_rank1"] for x in evals]
    for step, line in zip([2, 4, 5], evals):
        saved = json.loads((run / "eval" / f"iter-{step:07d}" / "results.json").read_text())
        rank1 = [v for k, v in saved["figures"].items() if k.endswith("@R1") and v is not None]
        assert line["eval/mean_rank1"] == pytest.approx(sum(rank1) / len(rank1))
    assert any(p.name.startswith("events") for p in (run / "tensorboard").iterdir())

    best_step = [2, 4, 5][scores.index(max(scores))]  # the first of equal scores
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert best["best"] == {"metric": "mean_rank1", "value": pytest.approx(max(scores)), "iteration": best_step}
    assert best["iteration"] == best_step
    same_step = load_checkpoint(run / "checkpoints" / f"ckpt-{best_step:07d}.pt")["model"]
    for key in same_step:
        assert torch.equal(best["model"][key], same_step[key]), key
    assert latest_checkpoint(run / "checkpoints").name == "ckpt-0000005.pt"  # best.pt is not a resume point
    model, _, path = load_trained_model(run / "checkpoints" / "best.pt")  # what `gaitforge eval` reads
    assert path.name == "best.pt" and sum(p.numel() for p in model.parameters()) > 0


def test_resume_continues_the_best_score(micro_world: Path, tmp_path: Path) -> None:
    cfg = micro_config(micro_world, iterations=5, eval_every=2)
    straight = train(cfg, tmp_path / "straight", progress=False)
    train(cfg, tmp_path / "split", progress=False, stop_at=3)
    resumed = train(cfg, tmp_path / "split", progress=False, resume=True)
    final = [load_checkpoint(r.checkpoint)["best"] for r in (straight, resumed)]
    assert final[0] == final[1] and final[0]["iteration"] in (2, 4, 5)
    a = load_checkpoint(tmp_path / "straight" / "checkpoints" / "best.pt")["model"]
    b = load_checkpoint(tmp_path / "split" / "checkpoints" / "best.pt")["model"]
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)
    assert [x["step"] for x in _eval_lines(tmp_path / "split")] == [2, 4, 5]


def test_a_bad_best_metric_is_named(micro_world: Path, tmp_path: Path) -> None:
    cfg = micro_config(micro_world, iterations=2, eval_every=1, best_metric="NM")
    with pytest.raises(ValueError, match=r"train\.best_metric: no figure 'NM'"):
        train(cfg, tmp_path / "run", progress=False)
