"""Synthetic-world generation speed, against the silhouette pretreatment measured on the same frames.

Prints one JSON object: the setting (preset, subjects, sequences, frames), sequences/s and frames/s for
``iter_world`` with 1 and 2 workers (2-worker figures include process start-up), the per-frame cost of
``render_raw`` (kinematics, rasterising, keypoints; no pretreatment), and the reference: ``pretreat_sequence``
on the same raw frames, with ratios.

Usage: ``python benchmarks/bench_synth.py [--preset default] [--subjects 6]``
"""

from __future__ import annotations

import argparse
import json
import time

from gaitforge.preprocess.silhouette import pretreat_sequence
from gaitforge.synth import get_preset, iter_world, render_raw


def _timed_world(cfg, workers: int) -> tuple[float, list]:
    t = time.perf_counter()
    seqs = list(iter_world(cfg, workers=workers))
    return time.perf_counter() - t, seqs


def ms(seconds: float, count: int) -> float:
    """Milliseconds per item."""
    return round(1000.0 * seconds / count, 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--subjects", type=int, default=6, help="subjects generated (the preset's first ones)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    base = get_preset(args.preset, seed=args.seed)
    n = min(args.subjects, base.n_subjects)
    cfg = get_preset(args.preset, seed=args.seed, n_subjects=n, n_train=min(base.n_train, n))
    frames = cfg.n_sequences * cfg.frames

    list(iter_world(get_preset(args.preset, n_subjects=1, n_train=0, conditions=("nm-01",))))  # warm-up
    t1, one = _timed_world(cfg, 1)
    t2, two = _timed_world(cfg, 2)
    identical = all(
        a.modalities[k].tobytes() == b.modalities[k].tobytes()
        for a, b in zip(one, two, strict=True)
        for k in a.modalities
    )

    # Rendering alone and the reference (pretreatment) on the same raw frames, one subject's walks.
    raws, t_render = [], time.perf_counter()
    for c in cfg.conditions:
        for v in cfg.views:
            raws.append(render_raw(cfg, 0, c, v).frames)
    t_render = time.perf_counter() - t_render
    t_pre = time.perf_counter()
    for r in raws:
        pretreat_sequence(r)
    t_pre = time.perf_counter() - t_pre
    ref_frames = sum(len(r) for r in raws)

    out = {
        "benchmark": "synth_generation",
        "preset": args.preset,
        "subjects": n,
        "sequences": cfg.n_sequences,
        "frames": frames,
        "raw_canvas_hw": [cfg.canvas_height, cfg.canvas_width],
        "workers_1": {
            "seconds": round(t1, 3),
            "sequences_per_s": round(cfg.n_sequences / t1, 1),
            "frames_per_s": round(frames / t1, 1),
            "ms_per_frame": ms(t1, frames),
        },
        "workers_2": {
            "seconds": round(t2, 3),
            "sequences_per_s": round(cfg.n_sequences / t2, 1),
            "frames_per_s": round(frames / t2, 1),
            "ms_per_frame": ms(t2, frames),
            "speedup_vs_1": round(t1 / t2, 2),
        },
        "workers_identical": identical,
        "render_raw_ms_per_frame": ms(t_render, ref_frames),
        "reference": {
            "what": "pretreat_sequence on the same raw frames",
            "ms_per_frame": ms(t_pre, ref_frames),
        },
        "ratio_render_to_pretreat": round(t_render / t_pre, 2),
        "ratio_generation_to_pretreat": round((t1 / frames) / (t_pre / ref_frames), 2),
        "default_world_estimate_s_2_workers": round(
            get_preset("default").n_sequences * get_preset("default").frames * t2 / frames, 1
        ),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
