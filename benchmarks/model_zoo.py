"""The model-zoo table: every silhouette model trained with its CPU config on the same synthetic split.

Each row trains ``configs/<model>/<model>_synth_cpu.yaml`` (plus overrides for variants such as DeepGaitV2's
2d / 3d modes) in a child process, evaluates it under the CASIA-B protocol on the synthetic world's test subjects,
and records Rank-1 NM/BG/CL, the parameter count, wall-clock and CPU training time and the command that
reproduces it. A training-free GEI + nearest-neighbour row is the reference measured in the same run.

Rows already finished are kept (the job is resumable: kill it and run it again). Output: ``--json`` (default
``<out>/model_zoo.json``) and the Markdown table ``--table`` (default ``docs/model_zoo.md``).

    python benchmarks/model_zoo.py --out runs/zoo            # every row (about an hour on 2 idle cores)
    python benchmarks/model_zoo.py --out runs/zoo --only gaitset gaitpart
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: (row name, packaged config, overrides); ``{out}`` in an override is the runs folder (a row may start from an
#: earlier row's checkpoint: GLN's phase 2 from its phase 1)
ROWS: list[tuple[str, str, list[str]]] = [
    ("gaitset", "gaitset_synth_cpu", []),
    ("gaitpart", "gaitpart_synth_cpu", []),
    ("gaitgl", "gaitgl_synth_cpu", []),
    ("gaitbase", "gaitbase_synth_cpu", []),
    ("plain_baseline", "plain_baseline_synth_cpu", []),
    ("deepgaitv2_2d", "deepgaitv2_synth_cpu", ["model.args.mode=2d"]),
    ("deepgaitv2_p3d", "deepgaitv2_synth_cpu", ["model.args.mode=p3d"]),
    ("swingait", "swingait_synth_cpu", []),
    ("gln_phase1", "gln_synth_cpu_phase1", []),
    ("gln", "gln_synth_cpu", ["train.init_from={out}/gln_phase1/checkpoints/ckpt-0000600.pt"]),  # phase 2
    ("deepgaitv2_3d", "deepgaitv2_synth_cpu", ["model.args.mode=3d"]),
]
CONDITIONS = ("NM", "BG", "CL")


def _rank1(result: Any) -> dict[str, float]:
    return {c: round(float(result.figures[f"scalar/test_accuracy/{c}@R1"]), 2) for c in CONDITIONS}


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rc = resource.getrusage(resource.RUSAGE_CHILDREN)  # data-loader workers
    return ru.ru_utime + ru.ru_stime + rc.ru_utime + rc.ru_stime


def run_one(name: str, config: str, overrides: list[str], out: Path) -> dict[str, Any]:
    """Train and evaluate one row in this process; returns the row (also written to ``out/<name>/zoo.json``)."""
    from gaitforge.config import load_config
    from gaitforge.engine.checkpoint import latest_checkpoint
    from gaitforge.engine.data_setup import open_store
    from gaitforge.engine.evaluate import evaluate_model, load_trained_model
    from gaitforge.engine.trainer import train

    shown = [o.replace("{out}", "runs/zoo") for o in overrides]
    overrides = [o.replace("{out}", str(out)) for o in overrides]
    cfg = load_config(config, overrides)
    run_dir = out / name
    resume = (run_dir / "checkpoints").is_dir() and latest_checkpoint(run_dir / "checkpoints") is not None
    t0, c0 = time.perf_counter(), _cpu_seconds()
    result = train(cfg, run_dir, resume=resume, progress=sys.stderr.isatty())
    train_s, train_cpu_s = time.perf_counter() - t0, _cpu_seconds() - c0
    model, cfg, _ = load_trained_model(run_dir)
    store, part = open_store(cfg, workdir=out, progress=False)
    t0 = time.perf_counter()
    res = evaluate_model(model, cfg, store, part, out_dir=run_dir / "eval", progress=False)
    sets = " ".join(f"--set {o}" for o in shown)
    row = {
        "name": name,
        "model": cfg.model.name,
        "config": config,
        "overrides": shown,
        "params": sum(p.numel() for p in model.parameters()),
        "iterations": result.iterations,
        "resumed": resume,
        "train_wall_s": round(train_s, 1),
        "train_cpu_s": round(train_cpu_s, 1),
        "eval_s": round(time.perf_counter() - t0, 1),
        "rank1": _rank1(res),
        "protocol": res.protocol,
        "command": f"gaitforge train {config} {sets} --run-dir runs/zoo/{name} --eval".replace("  ", " "),
    }
    (run_dir / "zoo.json").write_text(json.dumps(row, indent=1) + "\n")
    return row


def gei_row(out: Path) -> dict[str, Any]:
    """The training-free reference: GEI + nearest neighbour on the same split."""
    from gaitforge.config import load_config
    from gaitforge.engine.data_setup import open_store
    from gaitforge.engine.evaluate import evaluate_model
    from gaitforge.models import create_model

    cfg = load_config("gaitbase_synth_cpu")
    store, part = open_store(cfg, workdir=out, progress=False)
    res = evaluate_model(create_model("gei"), cfg, store, part, out_dir=out / "gei" / "eval", progress=False)
    return {"name": "gei (reference)", "model": "gei", "params": 0, "rank1": _rank1(res), "protocol": res.protocol}


def write_table(rows: list[dict[str, Any]], ref: dict[str, Any], meta: dict[str, Any], path: Path) -> None:
    lines = [
        "# Model zoo on the synthetic world (CPU configs)",
        "",
        "Every silhouette model trained with its `configs/<model>/<model>_synth_cpu.yaml` on the same synthetic split",
        f"(preset `default`, seed 0: {meta['world']}), evaluated under the CASIA-B protocol (probe NM 05-06, BG, CL",
        "against gallery NM 01-04, identical views excluded, Rank-1 %). The CPU configs are scaled-down widths and",
        "inputs, so the ranking says how each recipe learns in a few minutes on a CPU, not how the full models compare",
        "on CASIA-B. Generated by `python benchmarks/model_zoo.py` (numbers measured, nothing copied).",
        "",
        f"Machine: {meta['machine']}. {meta['note']}",
        "",
        "| model | NM | BG | CL | params | iterations | train wall (s) | train CPU (s) | command |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['name']} | - | - | - | - | - | - | - | failed: {r['failed']} |")
            continue
        k = r["rank1"]
        mark = " (resumed: the rest of the run)" if r.get("resumed") else ""  # times cover only the resumed part
        lines.append(
            f"| {r['name']} | {k['NM']:.2f} | {k['BG']:.2f} | {k['CL']:.2f} | {r['params']:,} | {r['iterations']} "
            f"| {r['train_wall_s']:.0f}{mark} | {r['train_cpu_s']:.0f} | `{r['command']}` |"
        )
    k = ref["rank1"]
    lines.append(f"| {ref['name']} | {k['NM']:.2f} | {k['BG']:.2f} | {k['CL']:.2f} | 0 | - | - | - | - |")
    lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/zoo", help="runs folder (the world is generated once inside it)")
    ap.add_argument("--only", nargs="*", help="row names to run (default: all)")
    ap.add_argument("--json", help="results JSON (default <out>/model_zoo.json)")
    ap.add_argument("--table", default=str(ROOT / "docs" / "model_zoo.md"))
    ap.add_argument("--note", default="", help="a sentence about the machine's load during the run")
    ap.add_argument("--one", nargs=2, metavar=("NAME", "CONFIG"), help=argparse.SUPPRESS)
    ap.add_argument("--set", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.one:
        run_one(args.one[0], args.one[1], args.set, out)
        return 0

    rows: list[dict[str, Any]] = []
    for name, config, overrides in ROWS:
        if args.only and name not in args.only:
            continue
        done = out / name / "zoo.json"
        if not done.exists():
            cmd = [sys.executable, __file__, "--out", str(out), "--one", name, config]
            cmd += [f"--set={o}" for o in overrides]
            print(f"[zoo] {name}: training {config} {' '.join(overrides)}", file=sys.stderr, flush=True)
            proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:  # a recipe that fails (e.g. diverges) is a row too, with the reason
                sys.stderr.write(proc.stderr[-3000:])
                lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
                reason = lines[-1] if lines else f"exit status {proc.returncode}"
                rows.append({"name": name, "config": config, "overrides": overrides, "failed": reason})
                continue
        rows.append(json.loads(done.read_text()))
        print(json.dumps({k: rows[-1].get(k) for k in ("name", "rank1", "train_wall_s")}), file=sys.stderr, flush=True)
    ref = gei_row(out)
    from gaitforge.config import load_config
    from gaitforge.engine.data_setup import open_store

    store, part = open_store(load_config("gaitbase_synth_cpu"), workdir=out, progress=False)
    meta = {
        "world": f"{len(part.train)} training and {len(part.test)} test subjects, {len(store)} sequences",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads 2",
        "note": args.note,
    }
    report = {"benchmark": "model_zoo", "meta": meta, "rows": rows, "reference": ref}
    print(json.dumps(report, indent=1))
    json_path = Path(args.json) if args.json else out / "model_zoo.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    write_table(rows, ref, meta, Path(args.table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
