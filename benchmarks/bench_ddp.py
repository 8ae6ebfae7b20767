"""DDP training throughput under torchrun against one plain process, through gaitforge's own trainer.

For each process count ``N`` (``--nproc``; 1 is one plain process, no torchrun) the benchmark runs
``gaitforge.engine.trainer.train`` (what ``gaitforge train`` runs) on ``--config`` with the ``--set`` overrides, for
``--short`` and then ``--long`` iterations in fresh run folders, and takes the steady rate from the difference, so that
start-up (processes, model, DataLoader workers, the final checkpoint) cancels::

    sequences/s = (long - short) × p·k / (t_long - t_short)

The global batch ``p·k`` is the same for every ``N`` (under DDP each rank takes ``p·k / N`` of it), so the rate per
process at ``N`` over the rate of one process is the scaling efficiency. The synthetic world the config trains on is
generated once, before any timed run. On GPUs the trainer uses NCCL and, with ``train.amp`` (the default), float16
autocast (``train.amp_dtype=bfloat16`` for bfloat16); on CPU gloo and float32 (or bfloat16 autocast, if asked).

Prints one JSON object and writes it to ``--json``. On a GPU machine, at full model size::

    python benchmarks/bench_ddp.py --nproc 1 2 4 8 --set train.device=cuda data.p=32 data.k=8 \\
        model.args.channels=[64,128,256,512] model.args.embed_dim=256 "data.transforms=[{name: sil_cut}]" \\
        --json ddp_gpu.json

On CPU (2 cores): ``python benchmarks/bench_ddp.py --nproc 1 2 --short 3 --long 9 --set train.threads=1``.

``--amp-dtypes auto bfloat16 --rounds 3`` compares precisions (``train.amp_dtype``), interleaved round by round, each
against the first (on CPU ``auto`` is float32)::

    python benchmarks/bench_ddp.py --nproc 1 --short 4 --long 16 --rounds 3 --amp-dtypes auto bfloat16 \\
        --set train.threads=1 data.num_workers=0 --json benchmarks/results/amp_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CONFIG = "gaitbase_synth_cpu"


def worker(args: argparse.Namespace) -> None:
    """One training run (under torchrun when N > 1); rank 0 writes the run's seconds to ``--_out``."""
    from gaitforge.config import load_config
    from gaitforge.engine.trainer import train

    overrides = [*args.set, f"train.iterations={args.iterations}", f"train.save_every={args.iterations}"]
    cfg = load_config(args.config, overrides)
    t0 = time.perf_counter()
    result = train(cfg, Path(args.run_dir), progress=False)
    seconds = time.perf_counter() - t0
    if os.environ.get("RANK", "0") == "0":  # torchrun's; the process group is gone once train() returns
        Path(args.out).write_text(json.dumps({"seconds": seconds, "trainer_seconds": result.seconds}))


def run(n: int, iterations: int, root: Path, tag: str, args: argparse.Namespace, extra: list[str]) -> float:
    """Wall seconds of one ``iterations``-long run with ``n`` processes (``extra``: more overrides)."""
    out = root / f"{tag}.json"
    cmd = [__file__, "--_worker", "--config", args.config, "--iterations", str(iterations),
           "--run-dir", str(root / "world" / tag), "--_out", str(out), "--set", *args.set, *extra]  # fmt: skip
    if n > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}", *cmd]
    else:
        cmd = [sys.executable, *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=dict(os.environ))
    if done.returncode:
        raise RuntimeError(f"{tag} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return float(json.loads(out.read_text())["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=DEFAULT_CONFIG, help="a config file or packaged config name")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides, key=value")
    ap.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--short", type=int, default=10, help="iterations of the shorter run")
    ap.add_argument("--long", type=int, default=40, help="iterations of the longer run")
    ap.add_argument("--amp-dtypes", nargs="+", choices=["auto", "float16", "bfloat16"],
                    help="train.amp_dtype values to compare, the first the reference (default: config's)")  # fmt: skip
    ap.add_argument("--rounds", type=int, default=1, help="runs of every setting, interleaved; medians reported")
    ap.add_argument("--root", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="also write the JSON here")
    ap.add_argument("--_worker", dest="worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--iterations", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--run-dir", help=argparse.SUPPRESS)
    ap.add_argument("--_out", dest="out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    if not 0 < args.short < args.long:
        ap.error(f"--short {args.short} and --long {args.long}: expected 0 < short < long")

    import torch

    from gaitforge.config import load_config
    from gaitforge.engine.precision import resolve_precision

    cfg = load_config(args.config, args.set)
    batch = cfg.data.p * cfg.data.k
    bad = [n for n in args.nproc if n < 1 or batch % n]
    if bad:
        ap.error(f"--nproc {bad}: the global batch {batch} must split evenly among the processes")
    cuda = torch.cuda.is_available() and cfg.train.device != "cpu"
    device = torch.device("cuda" if cuda else "cpu")
    dtypes = args.amp_dtypes or [cfg.train.amp_dtype]
    precision = {dt: resolve_precision(cfg.train.amp, dt, device).describe() for dt in dtypes}  # bad ones fail here
    rates: dict[str, dict[int, list[float]]] = {dt: {n: [] for n in args.nproc} for dt in dtypes}
    seconds: dict[str, dict[int, list[tuple[float, float]]]] = {dt: {n: [] for n in args.nproc} for dt in dtypes}
    with tempfile.TemporaryDirectory(dir=args.root) as tmp:
        root = Path(tmp)
        run(1, 1, root, "world", args, [])  # generates the synthetic world once; later runs reuse it
        for r in range(args.rounds):  # precisions interleaved, so that a slow hour hits them alike
            for dt in dtypes:
                extra = [f"train.amp_dtype={dt}"] if args.amp_dtypes else []
                for n in args.nproc:
                    short = run(n, args.short, root, f"r{r}_{dt}_n{n}_short", args, extra)
                    long = run(n, args.long, root, f"r{r}_{dt}_n{n}_long", args, extra)
                    rates[dt][n].append((args.long - args.short) * batch / (long - short))
                    seconds[dt][n].append((short, long))
                    print(f"# round {r + 1}, {precision[dt]}, {n} process(es): {rates[dt][n][-1]:.1f} seq/s",
                          file=sys.stderr, flush=True)  # fmt: skip

    def entry(dt: str, n: int) -> dict:
        rate = statistics.median(rates[dt][n])
        return {
            "short_seconds": [round(a, 2) for a, _ in seconds[dt][n]],
            "long_seconds": [round(b, 2) for _, b in seconds[dt][n]],
            "sequences_per_s_rounds": [round(x, 1) for x in rates[dt][n]],
            "sequences_per_s": round(rate, 1),
            "sequences_per_s_per_process": round(rate / n, 1),
        }

    runs = {dt: {str(n): entry(dt, n) for n in args.nproc} for dt in dtypes}
    ratios = {}
    for dt in dtypes:
        tag = f"{dt}_" if len(dtypes) > 1 else ""
        one = runs[dt].get("1", {}).get("sequences_per_s")
        for n, r in runs[dt].items():
            if one and n != "1":
                ratios[f"{tag}speedup_{n}"] = round(r["sequences_per_s"] / one, 2)
            if one:
                ratios[f"{tag}efficiency_{n}"] = round(r["sequences_per_s_per_process"] / one, 2)
    for dt in dtypes[1:]:  # each precision against the first, per process count
        for n in runs[dt]:
            ratios[f"{dt}_over_{dtypes[0]}_{n}"] = round(
                runs[dt][n]["sequences_per_s"] / runs[dtypes[0]][n]["sequences_per_s"], 2
            )
    result = {
        "benchmark": "ddp",
        "settings": {
            "config": args.config,
            "overrides": args.set,
            "global_batch": batch,
            "iterations": [args.short, args.long],
            "rounds": args.rounds,
            "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)",
            "backend": "nccl" if cuda else "gloo",
            "precision": precision if len(dtypes) > 1 else precision[dtypes[0]],
            "model": cfg.model.name,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "reference": "one plain process (no torchrun), the same global batch"
        + (f"; and {precision[dtypes[0]]} for the other precisions" if len(dtypes) > 1 else ""),
        "runs": runs if len(dtypes) > 1 else runs[dtypes[0]],
        "ratios": ratios,
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
