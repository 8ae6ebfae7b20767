"""Video → gait sequences: speed of the default pipeline per CPU core, and its accuracy on synthetic ground truth.

Two 768×576 videos: OpenCV's real street scene ``vtest.avi`` (``../shared/data``, 10 fps) and a synthetic street
(:mod:`gaitforge.synth.video`, four walkers crossing at different depths, 25 fps) rendered into a temp folder.
For each, in the same run and on one thread (OpenCV, ONNX Runtime and BLAS pinned to 1 thread):

* ``decode``: the reference, PyAV decoding to RGB arrays only;
* ``pipeline``: the default pipeline (median background, foreground blobs, tracker, silhouettes, pretreatment).

Speed is reported as frames per CPU-second (``fps_per_core``: process CPU time, so other jobs on a shared machine
do not count) and frames per wall-second. On the synthetic video the silhouettes are scored against the ground truth
(:func:`gaitforge.preprocess.video.evaluate_tracks`: mean IoU per person-frame at frame resolution, identity
switches, coverage). Several synthetic seeds can be given.

Prints one JSON object. Usage: ``python benchmarks/bench_video.py [--frames 150] [--seeds 0 1 2] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from gaitforge.preprocess.video import evaluate_tracks, extract_tracks, iter_frames  # noqa: E402
from gaitforge.synth.video import SceneConfig, make_synthetic_video  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn: Any) -> tuple[Any, float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def _decode(path: Path, end_s: float | None) -> int:
    return sum(1 for _ in iter_frames(path, end_s=end_s))


def measure(path: Path, end_s: float | None = None) -> tuple[dict[str, Any], Any]:
    """Decode-only reference and the default pipeline on one video."""
    n, cpu_d, wall_d = _timed(lambda: _decode(path, end_s))
    result, cpu_p, wall_p = _timed(lambda: extract_tracks(path, end_s=end_s))
    assert result.frames_processed == n
    s = result.summary()
    return {
        "frames": n,
        "decode": {"fps_per_core": round(n / cpu_d, 1), "fps_wall": round(n / wall_d, 1), "cpu_s": round(cpu_d, 2)},
        "pipeline": {"fps_per_core": round(n / cpu_p, 1), "fps_wall": round(n / wall_p, 1), "cpu_s": round(cpu_p, 2)},
        "pipeline_cpu_over_decode": round(cpu_p / cpu_d, 1),
        "tracks_confirmed": s["tracks_confirmed"],
        "tracks_kept": s["tracks_kept"],
        "frames_per_kept_track": [k["frames"] for k in s["kept"]],
        "dropped_by_reason": s["dropped_by_reason"],
        "tentative_discarded": s["tentative_discarded"],
    }, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vtest", default=str(ROOT.parent / "shared" / "data" / "vtest.avi"))
    parser.add_argument("--frames", type=int, default=150, help="frames of each synthetic video")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--end", type=float, default=None, help="seconds of vtest.avi to process (default all)")
    parser.add_argument("--json", help="also write the JSON object to this file")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    out: dict[str, Any] = {
        "benchmark": "bench_video",
        "setting": {
            "size": "768x576",
            "threads": 1,
            "pipeline": "median background, foreground blobs, Kalman/Hungarian tracker, silhouettes, pretreatment",
            "reference": "PyAV decode to RGB only, same videos, same run",
            "synthetic": {"frames": args.frames, "fps": 25.0, "people": args.people, "seeds": args.seeds},
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
        },
    }
    vtest = Path(args.vtest)
    if vtest.exists():
        out["vtest"], _ = measure(vtest, args.end)
    else:
        out["vtest"] = {"skipped": f"{vtest} not found"}
    synth = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            path = Path(tmp) / f"street{seed}.mp4"
            cfg = SceneConfig(frames=args.frames, n_people=args.people, seed=seed)
            gt, cpu_r, _ = _timed(lambda p=path, c=cfg: make_synthetic_video(p, c))
            row, result = measure(path)
            scores = evaluate_tracks(result, gt)
            row.update(
                seed=seed,
                render_fps_per_core=round(args.frames / cpu_r, 1),
                mean_iou=round(scores["mean_iou"], 4),
                median_iou=round(scores["median_iou"], 4),
                mean_iou_unoccluded=round(scores["mean_iou_unoccluded"], 4),
                mean_iou_sequence_frames=round(scores["mean_iou_sequence_frames"], 4),
                person_frames=scores["person_frames"],
                id_switches=scores["id_switches"],
                coverage=round(scores["coverage"], 4),
            )
            synth.append(row)
    frames = sum(r["person_frames"] for r in synth)
    out["synthetic"] = {
        "videos": synth,
        "mean_iou_all_person_frames": round(sum(r["mean_iou"] * r["person_frames"] for r in synth) / max(frames, 1), 4),
        "id_switches_total": sum(r["id_switches"] for r in synth),
        "pipeline_fps_per_core_mean": round(float(np.mean([r["pipeline"]["fps_per_core"] for r in synth])), 1),
        "decode_fps_per_core_mean": round(float(np.mean([r["decode"]["fps_per_core"] for r in synth])), 1),
    }
    out["setting"]["machine"]["load_avg_1m_end"] = os.getloadavg()[0]
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
