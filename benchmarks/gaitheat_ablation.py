"""GaitHeat ablation on the synthetic heatmap world: coordinates vs heatmaps, alignment, global–local, RGB- vs
heatmap-space pretreatment, and the released variant — Rank-1 NM / BG / CL under the CASIA-B protocol.

Every variant trains through the engine (``gaitforge.engine.trainer.train``) on the same split of the same world
(preset ``heat``: people, walks and simulated top-down estimator shared by all variants; ``heat-hmspace`` is the
same world with heatmaps normalised in heatmap space) for the same number of iterations, and is scored by the
same evaluation (``evaluate_model``). The coordinate models (GaitGraph2, GPGait) read ``pose`` — the keypoints
decoded from the very heatmaps the heatmap models read. Each variant's result is saved as it finishes
(``OUT/results.json``); a rerun skips finished variants and resumes an interrupted one from its checkpoint.
Variants whose config or model is not there are reported as missing.

Prints one JSON object (setting, Rank-1 per variant, the seed paper's claims beside the measured differences,
and the references measured in the same run: the coordinate models and chance), and rewrites the results table
of ``docs/gaitheat.md``.

Usage::

    python benchmarks/gaitheat_ablation.py [--iterations 300] [--out runs/gaitheat_ablation] [--variants a,b]
    python benchmarks/gaitheat_ablation.py --iterations 20 --subjects 8 --views 000,090,180 --frames 8  # smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = ("NM", "BG", "CL")
BEGIN, END = "<!-- gaitheat-ablation:begin -->", "<!-- gaitheat-ablation:end -->"


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    config: str
    preset: str = "heat"


VARIANTS = (
    Variant("gaitgraph2", "coordinates: GaitGraph2", "configs/gaitgraph2/gaitgraph2_synth_cpu.yaml"),
    Variant("gpgait", "coordinates: GPGait", "configs/gpgait/gpgait_synth_cpu.yaml"),
    Variant("heat_plain", "heatmaps (no alignment, global branch)", "configs/gaitheat/gaitheat_plain_synth_cpu.yaml"),
    Variant("heat_align", "heatmaps + PGHA", "configs/gaitheat/gaitheat_align_synth_cpu.yaml"),
    Variant("heat_full", "heatmaps + PGHA + global-local (RGB-space)", "configs/gaitheat/gaitheat_synth_cpu.yaml"),
    Variant(
        "heat_full_hmspace",
        "heatmaps + PGHA + global-local (heatmap-space)",
        "configs/gaitheat/gaitheat_hmspace_synth_cpu.yaml",
        "heat-hmspace",
    ),
    Variant("released", "GaitHeat as released (FastPoseGait)", "configs/gaitheat/gaitheat_released_synth_cpu.yaml"),
)

# (claim, measured as (a − b) of the variants' mean Rank-1, the seed's figure)
CLAIMS = (
    ("heatmaps beat coordinates", "heat_plain", "best_coordinates", "+10 to +15"),
    ("pose-guided alignment adds", "heat_align", "heat_plain", "+3 to +5"),
    ("global-local adds (all parts complementary)", "heat_full", "heat_align", "> 0 (best)"),
    ("RGB-space beats heatmap-space pretreatment", "heat_full", "heat_full_hmspace", "+2 to +3"),
)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _world(preset: str, args: argparse.Namespace) -> Path:
    """Generate (or reuse) the world of ``preset`` with the command line's size overrides."""
    from gaitforge.synth import get_preset, make_world

    over: dict[str, Any] = {}
    base = get_preset(preset, seed=args.seed)
    if args.subjects:
        over["n_subjects"] = args.subjects
        over["n_train"] = args.train_subjects or max(1, round(args.subjects * base.n_train / base.n_subjects))
    if args.views:
        over["views"] = tuple(args.views.split(","))
    if args.frames:
        over["frames"] = args.frames
    cfg = get_preset(preset, seed=args.seed, **over)
    key = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    root = Path(args.out) / "worlds" / key / cfg.name
    if (root / "index.json").is_file():
        return root
    _log(f"[gaitheat_ablation] generating world {cfg.name} ({cfg.n_sequences} sequences) into {root.parent}")
    return Path(make_world(cfg, root.parent, workers=args.workers, progress=not args.quiet))


def _overrides(cfg_path: Path, store: Path, args: argparse.Namespace, n_train: int) -> list[str]:
    """``--set`` overrides that put a variant on the shared world and the shared budget."""
    import yaml

    raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    sched = raw.get("scheduler", {}) or {}
    n = args.iterations
    sets = [
        f"data.store={store}",
        f"data.partition={store / 'partition.json'}",
        f"data.num_workers={args.workers}",
        f"data.p={min(int((raw.get('data') or {}).get('p', 8)), n_train)}",
        f"train.iterations={n}",
        f"train.save_every={max(1, n // 4)}",
        f"train.log_every={max(1, min(20, n // 10))}",
        "train.tensorboard=false",
        f"train.threads={args.threads}",
        f"train.seed={args.seed}",
        f"scheduler.warmup_iterations={min(int(sched.get('warmup_iterations', 0)), n // 10)}",
    ]
    if sched.get("name", "multistep") == "multistep":
        sets.append(f"scheduler.milestones=[{round(0.7 * n)}, {round(0.9 * n)}]")
    if sched.get("cosine_iterations"):
        sets.append("scheduler.cosine_iterations=0")
    return sets


def _run_variant(v: Variant, stores: dict[str, Path], args: argparse.Namespace) -> dict[str, Any]:
    from gaitforge.config import load_config
    from gaitforge.data.store import SequenceStore
    from gaitforge.engine.checkpoint import latest_checkpoint
    from gaitforge.engine.data_setup import load_partition
    from gaitforge.engine.evaluate import evaluate_model, load_trained_model
    from gaitforge.engine.trainer import train
    from gaitforge.models import list_models

    path = ROOT / v.config
    if not path.is_file():
        return {"status": "missing", "label": v.label, "reason": f"{v.config} not found"}
    store = stores[v.preset]
    part = load_partition(store / "partition.json")
    cfg = load_config(path, _overrides(path, store, args, len(part.train)))
    if cfg.model.name not in list_models():
        return {"status": "missing", "label": v.label, "reason": f"model {cfg.model.name!r} is not registered"}
    run_dir = Path(args.out) / v.name
    resume = latest_checkpoint(run_dir / "checkpoints") is not None
    t0 = time.perf_counter()
    result = train(cfg, run_dir, resume=resume, progress=not args.quiet)
    train_s = time.perf_counter() - t0
    model, _, _ = load_trained_model(run_dir)
    t0 = time.perf_counter()
    res = evaluate_model(model, cfg, SequenceStore(store), part, out_dir=run_dir / "eval", progress=not args.quiet)
    rank1 = {c: round(float(res.figures[f"scalar/test_accuracy/{c}@R1"]), 2) for c in CONDITIONS}
    return {
        "status": "done",
        "label": v.label,
        "config": v.config,
        "model": cfg.model.name,
        "world": v.preset,
        "iterations": result.iterations,
        "rank1": rank1,
        "mean": round(sum(rank1.values()) / 3, 2),
        "final_loss": round(float(result.last_stats.get("loss", float("nan"))), 4),
        "train_s": round(train_s, 1),
        "eval_s": round(time.perf_counter() - t0, 1),
        "resumed": resume,
    }


def _claims(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    done = {k: v for k, v in results.items() if v.get("status") == "done"}
    coords = [k for k in ("gaitgraph2", "gpgait") if k in done]
    if coords:
        best = max(coords, key=lambda k: done[k]["mean"])
        done["best_coordinates"] = {**done[best], "label": f"best coordinates ({best})"}
    out = []
    for text, a, b, seed in CLAIMS:
        row: dict[str, Any] = {"claim": text, "seed": seed, "a": a, "b": b}
        if a in done and b in done:
            row["measured"] = {c: round(done[a]["rank1"][c] - done[b]["rank1"][c], 2) for c in CONDITIONS}
            row["measured"]["mean"] = round(done[a]["mean"] - done[b]["mean"], 2)
        out.append(row)
    if "heat_full" in done and "best_coordinates" in done:
        gain = {c: round(done["heat_full"]["rank1"][c] - done["best_coordinates"]["rank1"][c], 2) for c in CONDITIONS}
        out.append(
            {
                "claim": "the heatmap gain is largest under clothing change (CL)",
                "seed": "CL gain > NM, BG gains",
                "a": "heat_full",
                "b": "best_coordinates",
                "measured": gain,
                "holds": gain["CL"] >= max(gain["NM"], gain["BG"]),
            }
        )
    return out


def _table(summary: dict[str, Any]) -> str:
    s = summary["setting"]
    lines = [
        BEGIN,
        f"Measured by `benchmarks/gaitheat_ablation.py` ({s['date']}): world `{s['world']}` "
        f"({s['sequences']} sequences, {s['train_subjects']} train / {s['test_subjects']} test subjects, "
        f"{s['frames']} frames), {s['iterations']} iterations per variant, seed {s['seed']}, "
        f"{s['threads']} threads; chance Rank-1 ≈ {summary['reference']['chance_rank1']:.1f} %.",
        "",
        "| variant | NM | BG | CL | mean | iterations | train s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in summary["results"].items():
        if r.get("status") == "done":
            k = r["rank1"]
            lines.append(
                f"| {r['label']} | {k['NM']:.1f} | {k['BG']:.1f} | {k['CL']:.1f} | {r['mean']:.1f} | "
                f"{r['iterations']} | {r['train_s']:.0f} |"
            )
        else:
            lines.append(f"| {r.get('label', name)} | – | – | – | – | {r['status']}: {r.get('reason', '')} | |")
    lines += ["", "| seed's claim | seed | measured (NM / BG / CL / mean) |", "| --- | --- | --- |"]
    for c in summary["claims"]:
        m = c.get("measured")
        got = " / ".join(f"{m[k]:+.1f}" for k in (*CONDITIONS, "mean") if k in m) if m else "not measured"
        if "holds" in c:
            got += " — holds" if c["holds"] else " — does not hold"
        lines.append(f"| {c['claim']} ({c['a']} − {c['b']}) | {c['seed']} | {got} |")
    lines.append(END)
    return "\n".join(lines)


def _write_doc(path: Path, table: str) -> None:
    from gaitforge.utils.atomic import atomic_write_text

    text = path.read_text(encoding="utf-8") if path.is_file() else "# GaitHeat\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + table + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n## Ablation results\n\n" + table + "\n"
    atomic_write_text(path, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--iterations", type=int, default=300, help="training iterations of every variant (the budget)")
    ap.add_argument("--out", default=str(ROOT / "runs" / "gaitheat_ablation"), help="worlds, runs, results.json")
    ap.add_argument("--variants", default="", help="comma-separated subset of: " + ", ".join(v.name for v in VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="world generation and data-loading processes")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--subjects", type=int, default=0, help="smaller world: subjects (default: the preset's 40)")
    ap.add_argument("--train-subjects", type=int, default=0, help="of which training subjects")
    ap.add_argument("--views", default="", help="smaller world: comma-separated views")
    ap.add_argument("--frames", type=int, default=0, help="smaller world: frames per sequence")
    ap.add_argument("--doc", default=str(ROOT / "docs" / "gaitheat.md"), help="markdown file to update ('' = none)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    wanted = [v for v in VARIANTS if not args.variants or v.name in args.variants.split(",")]
    if not wanted:
        ap.error(f"--variants: none of {args.variants!r} is known")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results: dict[str, dict[str, Any]] = {}
    if results_path.is_file():
        results = json.loads(results_path.read_text(encoding="utf-8")).get("results", {})

    from gaitforge.data.store import SequenceStore
    from gaitforge.engine.data_setup import load_partition
    from gaitforge.utils.atomic import atomic_write_text

    stores = {p: _world(p, args).resolve() for p in sorted({v.preset for v in wanted})}
    any_store = stores.get("heat") or next(iter(stores.values()))
    part = load_partition(any_store / "partition.json")
    world_cfg = json.loads((any_store / "world.json").read_text(encoding="utf-8"))
    setting = {
        "date": time.strftime("%Y-%m-%d"),
        "world": ", ".join(f"{p} ({s.parent.name})" for p, s in stores.items()),
        "sequences": len(SequenceStore(any_store)),
        "train_subjects": len(part.train),
        "test_subjects": len(part.test),
        "views": world_cfg["views"],
        "frames": world_cfg["frames"],
        "iterations": args.iterations,
        "seed": args.seed,
        "threads": args.threads,
        "protocol": "CASIA-B (NM #5-6, BG, CL probes vs NM #1-4 gallery, identical views excluded), Rank-1 %",
        "heatmap_bytes_per_sequence": world_cfg["frames"] * 17 * 64 * 48,
        "heatmap_dtype": world_cfg["heatmap_dtype"],
    }

    def save() -> dict[str, Any]:
        summary = {
            "benchmark": "gaitheat_ablation",
            "setting": setting,
            "results": {v.name: results[v.name] for v in VARIANTS if v.name in results},
            "claims": _claims(results),
            "reference": {
                "coordinates": {k: results[k].get("rank1") for k in ("gaitgraph2", "gpgait") if k in results},
                "chance_rank1": 100.0 / max(1, len(part.test)),
            },
        }
        atomic_write_text(results_path, json.dumps(summary, indent=1) + "\n")
        return summary

    failed = False
    for v in wanted:
        prev = results.get(v.name, {})
        if prev.get("status") == "done" and prev.get("iterations") == args.iterations:
            _log(f"[gaitheat_ablation] {v.name}: done before, skipped")
            continue
        _log(f"[gaitheat_ablation] {v.name}: {v.label}")
        try:
            results[v.name] = _run_variant(v, stores, args)
        except Exception as exc:  # one broken variant must not lose the others' results
            failed = True
            results[v.name] = {"status": "failed", "label": v.label, "reason": f"{type(exc).__name__}: {exc}"}
            logging.getLogger("gaitheat_ablation").exception("variant %s failed", v.name)
        _log(f"[gaitheat_ablation] {v.name}: {json.dumps(results[v.name])}")
        save()
    summary = save()
    if args.doc:
        _write_doc(Path(args.doc), _table(summary))
    print(json.dumps(summary, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
