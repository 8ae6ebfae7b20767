"""``gaitforge demo``: synthetic world → GaitBase → CASIA-B protocol on a laptop CPU, beside a GEI baseline.

Writes to the output folder: ``world/`` (the sequence store), ``run/`` (config, checkpoints, metrics, TensorBoard),
``eval/gaitbase`` and ``eval/gei`` (embeddings, per-model results and plots), ``results.json`` and ``cmc.png``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from gaitforge.config import load_config
from gaitforge.utils.atomic import atomic_write_text

__all__ = ["DEMO_CONFIG", "run_demo"]

logger = logging.getLogger(__name__)

#: The packaged recipe the demo trains.
DEMO_CONFIG = "gaitbase_synth_cpu"
CONDITIONS = ("NM", "BG", "CL")


def _rank1(result: Any) -> dict[str, float]:
    return {c: float(result.figures[f"scalar/test_accuracy/{c}@R1"]) for c in CONDITIONS}


def run_demo(
    out: str | Path = "demo_out",
    preset: str = "default",
    iterations: int | None = None,
    workers: int = 2,
    progress: bool = True,
    seed: int = 0,
    overrides: list[str] | None = None,
) -> dict[str, Any]:
    """Run the whole path and return the summary written to ``out/results.json``.

    Args:
        out: Output folder (reused: an existing world of the same preset and seed is not generated again).
        preset: Synthetic world preset (``default`` for the demo, ``tiny`` for a smoke run).
        iterations: Training iterations (default: the recipe's).
        workers: Worker processes for world generation and data loading.
        progress: Progress bars.
        seed: Seed of the world and of training.
        overrides: Extra ``key=value`` config overrides.
    """
    from gaitforge.engine.data_setup import open_store
    from gaitforge.engine.evaluate import evaluate_model
    from gaitforge.engine.trainer import train
    from gaitforge.models import create_model

    out = Path(out)
    sets = [
        f"data.synth.preset={preset}",
        f"data.synth.seed={seed}",
        f"data.synth.workers={workers}",
        f"data.num_workers={workers}",
        f"train.seed={seed}",
    ]
    if iterations is not None:
        sets.append(f"train.iterations={iterations}")
    cfg = load_config(DEMO_CONFIG, sets + list(overrides or []))
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    store, partition = open_store(cfg, workdir=out / "world", progress=progress)
    timings["world_s"] = time.perf_counter() - t0
    cfg.data.store = str(store.root.resolve())  # the run (and `gaitforge eval` of it later) reads this world
    if len(partition.train) < cfg.data.p:  # small worlds (the tiny preset): as many subjects per batch as there are
        logger.info("data.p lowered from %d to %d for this world", cfg.data.p, len(partition.train))
        cfg.data.p = len(partition.train)
    logger.info(
        "world: %d sequences, %d train / %d test subjects", len(store), len(partition.train), len(partition.test)
    )

    t0 = time.perf_counter()
    result = train(cfg, out / "run", progress=progress)
    timings["train_s"] = time.perf_counter() - t0

    from gaitforge.engine.evaluate import load_trained_model

    model, _, _ = load_trained_model(out / "run")
    t0 = time.perf_counter()
    trained = evaluate_model(model, cfg, store, partition, out_dir=out / "eval" / "gaitbase", progress=progress)
    timings["eval_gaitbase_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    gei = evaluate_model(create_model("gei"), cfg, store, partition, out_dir=out / "eval" / "gei", progress=progress)
    timings["eval_gei_s"] = time.perf_counter() - t0

    summary = {
        "world": {
            "preset": preset,
            "seed": seed,
            "sequences": len(store),
            "train_subjects": len(partition.train),
            "test_subjects": len(partition.test),
            "store": str(store.root),
        },
        "training": {
            "config": cfg.name,
            "iterations": result.iterations,
            "final": result.last_stats,
            "checkpoint": str(result.checkpoint),
        },
        "rank1": {"gaitbase": _rank1(trained), "gei": _rank1(gei)},
        "protocol": trained.protocol,
        "metric": trained.metric,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "results": {"gaitbase": trained.to_dict(), "gei": gei.to_dict()},
    }
    atomic_write_text(out / "results.json", json.dumps(summary, indent=1) + "\n")
    _plot_cmc({"GaitBase": trained, "GEI + NN": gei}, out / "cmc.png")

    print()
    print("GaitBase (trained on the synthetic world, CPU-sized)")
    print(trained.format_table())
    print()
    print("GEI + nearest neighbour (training-free baseline)")
    print(gei.format_table())
    print()
    print("Rank-1 (%)      " + "  ".join(f"{c:>6}" for c in CONDITIONS))
    for name, r in summary["rank1"].items():
        print(f"{name:<15} " + "  ".join(f"{r[c]:6.2f}" for c in CONDITIONS))
    print(f"\nwritten: {out / 'results.json'}, {out / 'cmc.png'}, run folder {out / 'run'}")
    return summary


def _plot_cmc(results: dict[str, Any], path: Path) -> None:
    """CMC curves (rank 1..K) of each model and condition in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    styles = ["-", "--", ":", "-."]
    for m, (model_name, res) in enumerate(results.items()):
        for cond, curve in res.cmc.items():
            ranks = range(1, len(curve) + 1)
            ax.plot(ranks, curve, styles[m % len(styles)], marker="o", ms=3, label=f"{model_name} {cond}")
    ax.set_xlabel("rank")
    ax.set_ylabel("identification rate (%)")
    ax.set_title("CMC, CASIA-B protocol on the synthetic world\n(cross-view, identical views excluded)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
