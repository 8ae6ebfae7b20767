"""Video pipeline + MediaPipe pose backend: keypoint error on synthetic ground truth, and its speed per CPU core.

Needs the MediaPipe environment (``make mediapipe-env``); elsewhere it prints a JSON "skipped" note and exits 0.
The synthetic videos are those of ``bench_video.py`` (768×576, 25 fps, four walkers, 150 frames, seeds 0 1 2),
rendered into a temp folder. For each, in the same run and on one thread for OpenCV / BLAS (MediaPipe runs its own
TFLite threads; CPU time counts them all):

* ``pipeline``: the default pipeline without a pose backend (the reference for speed);
* ``pipeline + MediaPipe``: the same with :class:`~gaitforge.preprocess.pose_backends.MediaPipePose` (crop per
  tracked box grown by ``--margin``, ``static_image_mode``, ``model_complexity=1``);
* keypoint error of the kept tracks against the ground truth
  (:mod:`gaitforge.preprocess.video.keypoint_eval`: tracks matched to people by mask IoU; per visible joint,
  error / the person's box height, PCK@0.05 and @0.1, fraction detected at confidence ≥ ``--conf``);
* the reference for accuracy: a trivial baseline scored the same way, the mean box-relative pose of the *other*
  videos' ground truth placed into each track's box (leave one video out). MediaPipe is also scored with every
  joint it returns counted as detected (``mediapipe_any_confidence``).

Prints a Markdown table and writes one JSON object (default ``benchmarks/results/pose_backend_mediapipe.json``).
Usage: ``.venv-mediapipe/bin/python benchmarks/bench_pose_backend.py [--frames 150] [--seeds 0 1 2] [--json OUT]``.
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

from gaitforge.preprocess.video import evaluate_tracks, extract_tracks  # noqa: E402
from gaitforge.preprocess.video.keypoint_eval import (  # noqa: E402
    KeypointRecords,
    box_pose_baseline,
    keypoint_records,
    mean_box_pose,
    summarise_keypoints,
)
from gaitforge.synth.video import SceneConfig, make_synthetic_video  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.05, 0.1)


def _timed(fn: Any) -> tuple[Any, float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def _compact(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "per_joint"}


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def _fmt(v: Any, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(out: dict[str, Any]) -> str:
    """The tables of a finished run."""
    mp, base = out["overall"]["mediapipe"], out["overall"]["baseline_mean_pose"]
    swap = f"pck@{max(THRESHOLDS):g}_side_swaps_forgiven"
    lines = [
        f"Keypoints, {mp['person_frames']} person-frames, {mp['visible_joints']} visible joints "
        f"(errors in units of the person's box height; detected = confidence ≥ {out['setting']['conf_threshold']})",
        "",
        "| estimator | detected | mean error | median error | mean error px | PCK@0.05 | PCK@0.1 "
        "| PCK@0.1, side swaps forgiven |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = (
        (f"MediaPipe Pose (full), confidence ≥ {out['setting']['conf_threshold']}", mp),
        ("MediaPipe Pose (full), any confidence", out["overall"]["mediapipe_any_confidence"]),
        ("mean-pose baseline", base),
    )
    for name, s in rows:
        lines.append(
            f"| {name} | {s['detected']:.3f} | {_fmt(s['mean_error'])} | {_fmt(s['median_error'])} | "
            f"{_fmt(s['mean_error_px'], 1)} | {s['pck@0.05']:.3f} | {s['pck@0.1']:.3f} | {s[swap]:.3f} |"
        )
    lines += [
        "",
        "| joint | visible | MP detected | MP mean error | MP PCK@0.05 | MP PCK@0.1 | baseline PCK@0.1 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for j, b in zip(mp["per_joint"], base["per_joint"]):
        lines.append(
            f"| {j['joint']} | {j['visible_joints']} | {j['detected']:.3f} | {_fmt(j['mean_error'])} | "
            f"{j['pck@0.05']:.3f} | {j['pck@0.1']:.3f} | {b['pck@0.1']:.3f} |"
        )
    lines += [
        "",
        "| seed | frames | pipeline fps/core | + MediaPipe fps/core | pose CPU ms / person-frame | MP PCK@0.1 "
        "| baseline PCK@0.1 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for v in out["videos"]:
        lines.append(
            f"| {v['seed']} | {v['frames']} | {v['pipeline']['fps_per_core']} | "
            f"{v['pipeline_mediapipe']['fps_per_core']} | {v['pose_cpu_ms_per_person_frame']} | "
            f"{v['keypoints_mediapipe']['pck@0.1']:.3f} | {v['keypoints_baseline']['pck@0.1']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="frames of each synthetic video")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--margin", type=float, default=0.3, help="crop growth on each side (fraction of the box)")
    parser.add_argument("--conf", type=float, default=0.5, help="confidence from which a joint counts as detected")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "pose_backend_mediapipe.json"))
    args = parser.parse_args()
    try:
        from gaitforge.preprocess.pose_backends import MediaPipePose

        estimator = MediaPipePose(margin=args.margin)
    except ImportError as exc:
        print(json.dumps({"benchmark": "bench_pose_backend", "skipped": str(exc)}, indent=1))
        return
    if len(args.seeds) < 2:
        parser.error("--seeds: the leave-one-video-out baseline needs at least two videos")
    cv2.setNumThreads(1)
    import mediapipe

    out: dict[str, Any] = {
        "benchmark": "bench_pose_backend",
        "setting": {
            "size": "768x576",
            "synthetic": {"frames": args.frames, "fps": 25.0, "people": args.people, "seeds": args.seeds},
            "pipeline": "default (median background, foreground blobs, tracker, silhouettes, pretreatment)",
            "pose_backend": {
                "name": "MediaPipePose",
                "mediapipe": mediapipe.__version__,
                "model_complexity": estimator.model_complexity,
                "static_image_mode": True,
                "margin": args.margin,
            },
            "conf_threshold": args.conf,
            "pck_thresholds_of_box_height": list(THRESHOLDS),
            "baseline": "mean box-relative ground-truth pose of the other videos, placed into each track's box",
            "opencv_threads": 1,
            "machine": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "cpus": os.cpu_count(),
                "load_avg_1m": os.getloadavg()[0],
            },
        },
    }
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            path = Path(tmp) / f"street{seed}.mp4"
            gt = make_synthetic_video(path, SceneConfig(frames=args.frames, n_people=args.people, seed=seed))
            plain, cpu_p, wall_p = _timed(lambda p=path: extract_tracks(p))
            posed, cpu_m, wall_m = _timed(lambda p=path: extract_tracks(p, pose=estimator))
            kept_plain = [(t.track_id, len(t.frames)) for t in plain.kept()]
            kept_posed = [(t.track_id, len(t.frames)) for t in posed.kept()]
            assert kept_plain == kept_posed, "the pose backend must not change the tracks"
            n = posed.frames_processed
            person_frames = sum(len(t.frames) for t in posed.kept())  # estimate() calls: all frames of kept tracks
            runs.append((seed, posed, gt))
            out.setdefault("videos", []).append(
                {
                    "seed": seed,
                    "frames": n,
                    "tracks_kept": len(kept_posed),
                    "pose_person_frames": person_frames,
                    "pipeline": {"fps_per_core": round(n / cpu_p, 1), "fps_wall": round(n / wall_p, 1)},
                    "pipeline_mediapipe": {"fps_per_core": round(n / cpu_m, 1), "fps_wall": round(n / wall_m, 1)},
                    "pose_cpu_ms_per_person_frame": round(1000 * (cpu_m - cpu_p) / max(person_frames, 1), 1),
                    "mean_iou": round(evaluate_tracks(posed, gt)["mean_iou"], 4),
                }
            )
    estimator.close()
    records_mp, records_any, records_base = [], [], []
    for (seed, result, gt), row in zip(runs, out["videos"]):
        mp_rec = keypoint_records(result, gt, conf_threshold=args.conf)
        records_any.append(keypoint_records(result, gt, conf_threshold=0.0))
        others = [(r, g) for s, r, g in runs if s != seed]
        base_rec = keypoint_records(result, gt, box_pose_baseline(result, mean_box_pose(others)), args.conf)
        row["keypoints_mediapipe"] = _compact(summarise_keypoints(mp_rec, THRESHOLDS))
        row["keypoints_baseline"] = _compact(summarise_keypoints(base_rec, THRESHOLDS))
        records_mp.append(mp_rec)
        records_base.append(base_rec)
    out["overall"] = {
        "mediapipe": summarise_keypoints(KeypointRecords.concat(records_mp), THRESHOLDS),
        "mediapipe_any_confidence": summarise_keypoints(KeypointRecords.concat(records_any), THRESHOLDS),
        "baseline_mean_pose": summarise_keypoints(KeypointRecords.concat(records_base), THRESHOLDS),
        "pipeline_fps_per_core_mean": round(float(np.mean([v["pipeline"]["fps_per_core"] for v in out["videos"]])), 1),
        "pipeline_mediapipe_fps_per_core_mean": round(
            float(np.mean([v["pipeline_mediapipe"]["fps_per_core"] for v in out["videos"]])), 1
        ),
    }
    out["setting"]["machine"]["load_avg_1m_end"] = os.getloadavg()[0]
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(_rounded(out), indent=1) + "\n", encoding="utf-8")
    print(markdown(out))
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
