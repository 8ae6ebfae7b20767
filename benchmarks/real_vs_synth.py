"""Real vs synthetic: silhouette statistics and half-track identification on OpenCV's vtest.avi.

Real side: the default video pipeline (median background, blob tracker) on ``../shared/data/vtest.avi`` (real
people, static camera, 10 fps). Synthetic side: random sequences of each named world preset. Printed and written
(``--out``, default ``benchmarks/results/real_vs_synth.json``):

* silhouette statistics (:mod:`gaitforge.evaluation.silhouette_stats`) of the real tracks and of each world (all
  conditions, and the ``nm`` walks alone), with the relative difference of every figure;
* half-track identification (:mod:`gaitforge.evaluation.halftrack`): every track's first part enrolled, its
  second part identified, cut at the middle and at the largest change of direction/distance; GEI (training-free)
  and each ``--model NAME=RUN_FOLDER`` (a trained run: its newest checkpoint and its test transform);
* with ``--demo NAME=DEMO_OUT``, the CASIA-B protocol rank-1 of that demo folder's ``results.json``.

The extracted tracks are cached outside the repository (``--cache``, default in the system temp folder).

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/real_vs_synth.py --worlds default realistic \\
        --model before=/tmp/before/run --model after=/tmp/after/run --demo before=/tmp/before --demo after=/tmp/after
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("real_vs_synth")


def real_tracks(video: Path, cache: Path) -> tuple[list[Any], float]:
    """The video's tracks (from the cache when it matches the video's size and mtime) and the video's fps."""
    from gaitforge.evaluation.halftrack import Track

    stamp = f"{video.resolve()}:{video.stat().st_size}:{int(video.stat().st_mtime)}"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["stamp"]) == stamp:
                n = int(z["n"])
                keys = [str(k) for k in z["keys"]]
                return [Track(keys[i], z[f"sil_{i}"], z[f"boxes_{i}"]) for i in range(n)], float(z["fps"])
    from gaitforge.preprocess.video import extract_tracks

    result = extract_tracks(video)
    seqs = result.sequences()
    tracks = [Track(s.subject, s.modalities["sil"], np.asarray(s.meta["boxes"], np.float32)) for s in seqs]
    fps = float(seqs[0].meta["fps"]) if seqs else 10.0
    arrays: dict[str, Any] = {"stamp": np.array(stamp), "n": np.array(len(tracks)), "fps": np.array(fps)}
    arrays["keys"] = np.array([t.key for t in tracks])
    for i, t in enumerate(tracks):
        arrays[f"sil_{i}"], arrays[f"boxes_{i}"] = t.sil, t.boxes
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **arrays)
    return tracks, fps


def world_stats(preset: str, n: int, seed: int) -> dict[str, Any]:
    """Pooled statistics of ``n`` random sequences of a preset (all conditions) and of ``n`` ``nm`` walks."""
    from gaitforge.evaluation.silhouette_stats import pooled_stats, sequence_stats
    from gaitforge.synth import generate_sequence, get_preset

    cfg = get_preset(preset, seed=seed)
    rng = np.random.default_rng([seed, 99])
    out = {}
    for name, conds in (("all", cfg.conditions), ("nm", tuple(c for c in cfg.conditions if c.startswith("nm")))):
        stats = []
        for _ in range(n):
            s = int(rng.integers(cfg.n_subjects))
            c = conds[int(rng.integers(len(conds)))]
            v = cfg.views[int(rng.integers(len(cfg.views)))]
            seq = generate_sequence(cfg, s, c, v)
            stats.append(sequence_stats(seq.modalities["sil"], float(seq.meta["fps"])))
        out[name] = pooled_stats(stats)
    return out


def model_embedders(specs: list[str]) -> dict[str, Any]:
    """``NAME=RUN`` → embedding functions of the trained runs."""
    from gaitforge.data.transforms import build_transform
    from gaitforge.engine.evaluate import load_trained_model
    from gaitforge.evaluation.halftrack import model_embedder

    out = {}
    for spec in specs:
        name, _, run = spec.partition("=")
        model, cfg, ckpt = load_trained_model(run)
        out[name] = model_embedder(model, build_transform(cfg.data.test_transforms, "data.test_transforms"))
        logger.info("model %s: %s", name, ckpt)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", default=str(ROOT.parent / "shared" / "data" / "vtest.avi"))
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "gaitforge_vtest_tracks.npz"))
    p.add_argument("--worlds", nargs="*", default=["default", "realistic"])
    p.add_argument("--sequences", type=int, default=60, help="random sequences per world and condition set")
    p.add_argument("--seed", type=int, default=1, help="seed of the sampled worlds")
    p.add_argument("--model", action="append", default=[], help="NAME=RUN_FOLDER of a trained model")
    p.add_argument("--demo", action="append", default=[], help="NAME=DEMO_OUT with a results.json")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "real_vs_synth.json"))
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    from gaitforge.evaluation.halftrack import gei_embedder, halftrack_identification
    from gaitforge.evaluation.silhouette_stats import STAT_KEYS, compare_stats, pooled_stats, sequence_stats

    t0 = time.perf_counter()
    tracks, fps = real_tracks(Path(args.video), Path(args.cache))
    real = pooled_stats(sequence_stats(t.sil, fps) for t in tracks)
    out: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()},
        "video": {"path": args.video, "tracks": len(tracks), "fps": fps},
        "stats": {"real": real},
        "relative_difference": {},
        "halftrack": {},
        "casia_b_rank1": {},
    }
    for w in args.worlds:
        ws = world_stats(w, args.sequences, args.seed)
        out["stats"][w] = ws
        out["relative_difference"][w] = {k: compare_stats(real, v) for k, v in ws.items()}
    embedders = {"gei": gei_embedder(), **model_embedders(args.model)}
    for how in ("half", "change"):
        out["halftrack"][how] = halftrack_identification(tracks, embedders, how=how)
    for spec in args.demo:
        name, _, folder = spec.partition("=")
        res = json.loads((Path(folder) / "results.json").read_text())
        out["casia_b_rank1"][name] = {
            "world": res["world"]["preset"],
            "iterations": res["training"]["iterations"],
            "rank1": res["rank1"],
        }
    out["seconds"] = round(time.perf_counter() - t0, 1)

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("| statistic | real | " + " | ".join(f"{w} (all) | {w} (nm)" for w in args.worlds) + " |")
    print("| --- | --- | " + " | ".join("--- | ---" for _ in args.worlds) + " |")
    for k in STAT_KEYS:
        cells = [f"{real[k]['mean']:.3f}"]
        for w in args.worlds:
            for part in ("all", "nm"):
                v = out["stats"][w][part][k]["mean"]
                cells.append(f"{v:.3f} ({100 * out['relative_difference'][w][part][k]:+.0f} %)")
        print(f"| {k} | " + " | ".join(cells) + " |")
    print()
    print("| model | half: rank-1 | change: rank-1 |")
    print("| --- | --- | --- |")
    for name in embedders:
        cells = []
        for how in ("half", "change"):
            r = out["halftrack"][how]
            m = r["models"][name]
            cells.append(f"{m['correct']} / {len(r['tracks'])} ({100 * m['rank1']:.1f} %)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name, r in out["casia_b_rank1"].items():
        print(f"CASIA-B protocol {name} ({r['world']}, {r['iterations']} it): {r['rank1']}")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
