"""``train.eval_every`` under torchrun (two gloo processes on CPU): every rank takes part in each evaluation, rank 0
alone writes the curves, the per-evaluation results and ``best.pt``, and the scores and the best checkpoint are
those of one process (float64 training, as in test_distributed.py, so the two runs take the same steps).

This file is also the torchrun worker: ``python -m torch.distributed.run --standalone --nproc_per_node=2
-m tests.engine.test_periodic_eval_ddp SPEC``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaitforge.engine.checkpoint import load_checkpoint
from gaitforge.engine.trainer import train
from tests.conftest import micro_config
from tests.engine.test_distributed import _float64

ROOT = Path(__file__).resolve().parents[2]
_TORCHRUN_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK")


def _config(store: Path):
    return micro_config(store, iterations=4, eval_every=2)


def _worker(spec_path: str) -> None:
    import gaitforge.engine.trainer as trainer_module

    spec = json.loads(Path(spec_path).read_text())
    out, store = Path(spec["out"]), Path(spec["store"])
    trainer_module.build_model_for = _float64(trainer_module.build_model_for)  # type: ignore[assignment]
    result = train(_config(store), out / "ddp", progress=False)
    best = load_checkpoint(result.checkpoint)["best"]
    (out / f"rank{os.environ['RANK']}.json").write_text(json.dumps({"best": best}))


if __name__ == "__main__":  # started by torchrun
    _worker(sys.argv[1])
    sys.exit(0)


@pytest.fixture(scope="module")
def ddp_run(micro_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ddp_eval")
    spec = out / "spec.json"
    spec.write_text(json.dumps({"out": str(out), "store": str(micro_world)}))
    env = {k: v for k, v in os.environ.items() if k not in _TORCHRUN_ENV}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += ["-m", "tests.engine.test_periodic_eval_ddp", str(spec)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"torchrun failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    return out


def _scores(run: Path) -> dict[int, float]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return {x["step"]: x["eval/mean_rank1"] for x in lines if "eval/mean_rank1" in x}


@pytest.mark.slow
def test_evaluation_and_best_checkpoint_under_ddp(ddp_run: Path, micro_world: Path, tmp_path: Path) -> None:
    import gaitforge.engine.trainer as trainer_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer_module, "build_model_for", _float64(trainer_module.build_model_for))
        single = train(_config(micro_world), tmp_path / "single", progress=False)

    ddp = ddp_run / "ddp"
    assert _scores(ddp) == _scores(tmp_path / "single") and sorted(_scores(ddp)) == [2, 4]
    assert sorted(p.name for p in (ddp / "eval").iterdir()) == ["iter-0000002", "iter-0000004"]
    ranks = [json.loads((ddp_run / f"rank{r}.json").read_text())["best"] for r in (0, 1)]
    assert ranks[0] == ranks[1] == load_checkpoint(single.checkpoint)["best"]  # every rank tracks the same best
    a = load_checkpoint(ddp / "checkpoints" / "best.pt")["model"]
    b = load_checkpoint(tmp_path / "single" / "checkpoints" / "best.pt")["model"]
    assert max(float((a[k] - b[k]).abs().max()) for k in a if a[k].is_floating_point()) < 1e-8
    assert not list(ddp_run.glob("ddp/checkpoints/*.tmp"))
