"""Video front ends on synthetic footage like real phone video: silhouettes, tracks, identity switches, speed.

Renders (once, cached) the scenes of :func:`gaitforge.synth.video.failure_scenes` at 768×576 — a static reference,
hand-held crossing, hand-held walking toward/away, an elevated hand-held camera, posts and walls hiding the walkers
with a timestamp and a logo on the screen — plus a 480×854 portrait hand-held scene, all with per-frame ground truth,
and ``vtest.avi`` (real, static camera, no ground truth: tracks and speed only). Then, for every front end this build
offers (found at run time: ``gaitforge.preprocess.video.frontend.FRONTENDS`` when it exists, else the one built-in
pipeline, reported as ``baseline``), runs :func:`~gaitforge.preprocess.video.extract_tracks` and scores it with
:func:`gaitforge.preprocess.video.metrics.score_tracks`:

* ``mean_iou``: silhouette IoU at frame resolution over every person-frame a track corresponds to (CLEAR-MOT
  correspondences, box IoU ≥ 0.5), for all confirmed tracks (``all``) and for the kept tracks only (``kept``);
* ``people_found`` / ``people_present`` (a person is found when covered in ≥ half their frames), ``coverage``;
* ``id_switches``: new correspondences where the person's previous track or the track's previous person differs;
* ``tracks_confirmed``, ``tracks_kept``, drop reasons;
* speed: frames per CPU-second of this process (OpenCV/BLAS on one thread) and per wall-second, with PyAV
  decode-only of the same video measured in the same run as the reference.

Results go under a label (``--label before`` / ``after``) into ``benchmarks/results/video_frontends.json``; other
labels in the file are kept. To measure the code as it was before a change, run this script with ``PYTHONPATH``
pointing at an exported copy of the old ``src`` (``git archive <commit> src | tar -x -C /tmp/old``).

Usage: ``python benchmarks/bench_video_frontends.py --label after [--frames 150] [--frontend detector ...]
[--scenes handheld_depth ...] [--no-vtest]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import cv2  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VTEST = ROOT.parent / "shared" / "data" / "vtest.avi"
RESULTS = ROOT / "benchmarks" / "results" / "video_frontends.json"


def available_frontends() -> tuple[list[str], str]:
    """Front ends of the gaitforge being run, and where that list came from."""
    try:
        from gaitforge.preprocess.video.frontend import FRONTENDS  # type: ignore[attr-defined]
    except ImportError:
        return ["baseline"], "no gaitforge.preprocess.video.frontend module: the single built-in pipeline"
    from gaitforge.preprocess.video import VideoOptions

    if "frontend" not in {f.name for f in fields(VideoOptions)}:
        return ["baseline"], "VideoOptions has no 'frontend' field: the single built-in pipeline"
    return list(FRONTENDS), "gaitforge.preprocess.video.frontend.FRONTENDS"


def scenes(frames: int, seed: int) -> dict[str, Any]:
    """The benchmark's scenes (name → SceneConfig)."""
    from dataclasses import replace

    from gaitforge.synth.video import failure_scenes

    out = dict(failure_scenes(768, 576, frames=frames, fps=25.0, seed=seed))
    out["portrait_handheld_depth"] = replace(
        out["handheld_depth"], width=480, height=854, seed=seed + 5, camera_distance_m=10.0, focal_px=700.0
    )
    return out


def render(name: str, cfg: Any, cache: Path) -> Path:
    """The scene's video (rendered once per configuration; the ground truth lies next to it)."""
    from gaitforge.synth.video import make_synthetic_video

    key = hashlib.sha1(json.dumps(asdict(cfg), sort_keys=True, default=str).encode()).hexdigest()[:10]
    path = cache / f"{name}-{key}.mp4"
    if not path.exists() or not Path(str(path) + ".gt.npz").exists():
        t0 = time.perf_counter()
        make_synthetic_video(path, cfg)
        print(f"rendered {name} ({cfg.width}x{cfg.height}, {cfg.frames} frames) in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)  # fmt: skip
    return path


def _timed(fn: Any) -> tuple[Any, float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def _speed(n: int, cpu: float, wall: float) -> dict[str, float]:
    return {"fps_per_core": round(n / max(cpu, 1e-9), 1), "fps_wall": round(n / max(wall, 1e-9), 1),
            "cpu_s": round(cpu, 2)}  # fmt: skip


def measure(path: Path, frontend: str, gt: Any | None) -> dict[str, Any]:
    """One front end on one video."""
    from gaitforge.preprocess.video import evaluate_tracks, extract_tracks, iter_frames
    from gaitforge.preprocess.video.metrics import score_tracks

    n_dec, cpu_d, wall_d = _timed(lambda: sum(1 for _ in iter_frames(path)))
    kwargs = {} if frontend == "baseline" else {"frontend": frontend}
    try:
        result, cpu_p, wall_p = _timed(lambda: extract_tracks(path, **kwargs))
    except Exception as exc:  # noqa: BLE001 (a front end that cannot run here is reported, the others go on)
        return {"error": f"{type(exc).__name__}: {exc}"}
    s = result.summary()
    out: dict[str, Any] = {
        "frames": result.frames_processed,
        "components": dict(result.components),
        "tracks_confirmed": s["tracks_confirmed"],
        "tracks_kept": s["tracks_kept"],
        "dropped_by_reason": s["dropped_by_reason"],
        "kept_frames": [k["frames"] for k in s["kept"]],
        "decode": _speed(n_dec, cpu_d, wall_d),
        "pipeline": _speed(result.frames_processed, cpu_p, wall_p),
        "pipeline_cpu_over_decode": round(cpu_p / max(cpu_d, 1e-9), 1),
    }
    if gt is not None:
        every = score_tracks(result.tracks, gt)
        kept = score_tracks(result.kept(), gt)
        keys = ("mean_iou", "median_iou", "correspondences", "coverage", "id_switches", "person_switches",
                "track_switches", "people_present", "people_found", "tracks_matched",
                "unmatched_track_frames")  # fmt: skip
        out["all"] = {k: (round(every[k], 4) if isinstance(every[k], float) else every[k]) for k in keys}
        out["kept"] = {k: (round(kept[k], 4) if isinstance(kept[k], float) else kept[k]) for k in keys}
        try:  # the older per-track-matched score of docs/video.md, for continuity
            old = evaluate_tracks(result, gt)
            out["evaluate_tracks_mean_iou_kept"] = round(old["mean_iou"], 4)
        except Exception as exc:  # noqa: BLE001
            out["evaluate_tracks_mean_iou_kept"] = f"{type(exc).__name__}: {exc}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--label", required=True, help="results key, e.g. before / after")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frontend", nargs="*", help="only these front ends (default: every available one)")
    ap.add_argument("--scenes", nargs="*", help="only these scenes")
    ap.add_argument("--no-vtest", action="store_true")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "gaitforge-bench-video-frontends"))
    ap.add_argument("--json", default=str(RESULTS))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    from gaitforge.synth.video import load_video_ground_truth

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    frontends, source = available_frontends()
    if args.frontend:
        unknown = sorted(set(args.frontend) - set(frontends))
        if unknown:
            raise SystemExit(f"--frontend {unknown}: not offered by this build; available: {frontends}")
        frontends = args.frontend
    chosen = scenes(args.frames, args.seed)
    if args.scenes:
        chosen = {k: v for k, v in chosen.items() if k in set(args.scenes)}
    videos = {name: (render(name, cfg, cache), cfg) for name, cfg in chosen.items()}
    report: dict[str, Any] = {
        "frontends": frontends,
        "frontends_from": source,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()},
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "scenes": {},
    }
    for name, (path, cfg) in videos.items():
        gt = load_video_ground_truth(path)
        entry: dict[str, Any] = {
            "size": [cfg.width, cfg.height], "frames": cfg.frames, "fps": cfg.fps, "people": cfg.n_people,
            "camera_drift_px": cfg.camera_drift_px, "camera_elevation_deg": cfg.camera_elevation_deg,
            "headings_deg": list(cfg.headings_deg), "occluders": cfg.occluders, "overlays": cfg.overlays,
        }  # fmt: skip
        for fe in frontends:
            entry[fe] = measure(path, fe, gt)
            print(name, fe, json.dumps({k: entry[fe].get(k) for k in ("all", "kept", "pipeline", "error")}),
                  file=sys.stderr, flush=True)  # fmt: skip
        report["scenes"][name] = entry
    if not args.no_vtest and VTEST.exists():
        entry = {"size": [768, 576], "ground_truth": None}
        for fe in frontends:
            entry[fe] = measure(VTEST, fe, None)
            print("vtest", fe, json.dumps({k: entry[fe].get(k) for k in ("tracks_kept", "pipeline", "error")}),
                  file=sys.stderr, flush=True)  # fmt: skip
        report["scenes"]["vtest"] = entry
    report["load_avg_end"] = os.getloadavg()
    out = Path(args.json)
    data = json.loads(out.read_text()) if out.exists() else {}
    data["description"] = (
        "benchmarks/bench_video_frontends.py: per label (before/after a change) and front end, silhouette IoU, "
        "people found / present, identity switches and speed on synthetic failure scenes and vtest.avi"
    )
    data[args.label] = report
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, out)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
