"""Video front ends on a real street (OpenCV's vtest.avi): tracks, a silhouette-quality proxy and speed.

Runs, each in its own single-threaded process, on the first ``--end`` seconds of ``vtest.avi`` at its own size
(768×576) and as a 480×854 portrait clip (the centre 324×576 of each frame scaled up, the shape of a phone video):

* ``decode``: PyAV decoding alone (the speed reference, same run);
* ``before``: the pipeline as it was before the front ends (``--baseline-rev``, default the commit before them,
  taken with ``git archive``), i.e. the background model;
* ``background``: ``--frontend background`` now (stabilisation ``auto``: off on this static camera);
* ``detector``: ``--frontend detector`` (BlazePose detector + segmenter; skipped when not installed);
* ``auto``: the default (picks the background model here, as the camera is static).

Per run: frames per CPU-second of the process (others' load on the machine does not count) and per wall second,
tracks confirmed and kept, silhouettes kept; the *IoU proxy* (vtest has no ground truth): the mean IoU of
consecutive silhouettes of a kept sequence (64×64, pretreated; a whole walking body changes little in 0.1 s, while
fragments, switches and merges change a lot); and the box agreement with ``before``: the fraction of this run's
kept (frame, box) pairs that ``before`` also has (a kept box with IoU ≥ 0.5 in the same frame), and the reverse.

    nice -n 10 .venv/bin/python benchmarks/bench_video_frontend_speed.py     # → results/video_frontend_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASELINE = "9e1bb44^"  # the commit before the front ends


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """One run in this process (called with ``--child``): works with the code before and after the front ends."""
    import cv2

    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    from gaitforge.preprocess.video import extract_tracks, iter_frames

    path, end = spec["video"], spec["end"]
    c0, w0 = time.process_time(), time.perf_counter()
    if spec["mode"] == "decode":
        n = sum(1 for _ in iter_frames(path, end_s=end))
        return {"frames": n, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
    kwargs = {"sheet_frames": 4} if spec.get("sheet") else {}
    if spec["mode"] != "before":
        kwargs["frontend"] = spec["mode"]
    result = extract_tracks(path, end_s=end, **kwargs)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    if spec.get("sheet"):
        from gaitforge.preprocess.video import save_contact_sheet

        save_contact_sheet(spec["sheet"], result)
    pairs, ious = 0, []
    boxes: list[list[float]] = []
    for t in result.kept():
        sil = t.sil > 0
        idx = t.frames[t.sil_index]
        for k in range(1, len(sil)):
            if idx[k] - idx[k - 1] == 1:
                inter, union = (sil[k] & sil[k - 1]).sum(), (sil[k] | sil[k - 1]).sum()
                ious.append(float(inter / max(union, 1)))
                pairs += 1
        for f, b in zip(t.frames[t.sil_index], t.boxes[t.sil_index]):
            boxes.append([int(f), *map(float, b)])
    s = result.summary()
    return {
        "frames": result.frames_processed,
        "cpu_s": cpu,
        "wall_s": wall,
        "components": result.components,
        "tracks_confirmed": s["tracks_confirmed"],
        "tracks_kept": s["tracks_kept"],
        "silhouettes_kept": int(sum(len(t.sil) for t in result.kept())),
        "dropped_by_reason": s["dropped_by_reason"],
        "iou_proxy_consecutive": float(np.mean(ious)) if ious else None,
        "consecutive_pairs": pairs,
        "kept_boxes": boxes,
    }


def _run(spec: dict[str, Any], pythonpath: str) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=pythonpath)
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{spec['mode']} on {spec['video']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _agreement(a: list[list[float]], b: list[list[float]]) -> float | None:
    """Fraction of ``a``'s (frame, box) pairs with a box of ``b`` in the same frame at IoU ≥ 0.5."""
    if not a:
        return None
    from gaitforge.preprocess.video import box_iou

    by_frame: dict[int, list[list[float]]] = {}
    for f, *box in b:
        by_frame.setdefault(int(f), []).append(box)
    hit = 0
    for f, *box in a:
        other = by_frame.get(int(f))
        if other and box_iou(np.array([box], np.float32), np.array(other, np.float32)).max() >= 0.5:
            hit += 1
    return hit / len(a)


def _portrait(src: Path, dst: Path, end: float | None) -> None:
    """The centre 324×576 of each frame, scaled to 480×854 (a phone's portrait video shape)."""
    import cv2

    from gaitforge.preprocess.video import iter_frames, probe_video, write_video

    info = probe_video(src)
    w = round(info.height * 480 / 854)
    x0 = (info.width - w) // 2
    frames = (
        cv2.resize(f[:, x0 : x0 + w], (480, 854), interpolation=cv2.INTER_LINEAR)
        for _, f in iter_frames(src, end_s=end)
    )
    write_video(dst, frames, fps=info.fps, crf=18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--vtest", default=str(ROOT.parent / "shared" / "data" / "vtest.avi"))
    parser.add_argument("--end", type=float, default=40.0, help="seconds of vtest.avi (default 40)")
    parser.add_argument("--baseline-rev", default=DEFAULT_BASELINE, help="git revision of the 'before' pipeline")
    parser.add_argument("--modes", default="decode,before,background,detector,auto")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "video_frontend_speed.json"))
    parser.add_argument("--sheet", default=str(ROOT / "docs" / "images" / "vtest_detector_sheet.png"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return
    vtest = Path(args.vtest)
    if not vtest.exists():
        raise SystemExit(f"{vtest} not found")
    from gaitforge.preprocess.video.blazepose import blazepose_available

    modes = args.modes.split(",")
    if "detector" in modes and not blazepose_available():
        print("detector front end not installed (make install): skipped")
        modes.remove("detector")
    out: dict[str, Any] = {
        "what": "video front ends on vtest.avi: speed per CPU-second, tracks, IoU proxy (see the script docstring)",
        "end_s": args.end,
        "baseline_rev": subprocess.run(
            ["git", "rev-parse", "--short", args.baseline_rev], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip(),
        "load_average_start": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "videos": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        old.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.baseline_rev, "src"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        portrait = Path(tmp) / "vtest_480x854.mp4"
        _portrait(vtest, portrait, args.end)
        for name, video in (("768x576", vtest), ("480x854", portrait)):
            runs: dict[str, Any] = {}
            for mode in modes:
                spec = {"mode": mode, "video": str(video), "end": args.end if name == "768x576" else None}
                if mode == "detector" and name == "768x576" and args.sheet:
                    Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
                    spec["sheet"] = args.sheet
                src = str(old / "src") if mode == "before" else str(ROOT / "src")
                r = _run(spec, src)
                r["fps_per_core"] = round(r["frames"] / r["cpu_s"], 1)
                r["fps_wall"] = round(r["frames"] / r["wall_s"], 1)
                runs[mode] = r
                print(
                    f"{name} {mode}: {r['fps_per_core']} fps/core ({r['fps_wall']} wall), "
                    + (
                        f"{r['tracks_confirmed']} confirmed, {r['tracks_kept']} kept, {r['silhouettes_kept']} "
                        f"silhouettes, IoU proxy {r['iou_proxy_consecutive']}"
                        if mode != "decode"
                        else f"{r['frames']} frames"
                    ),
                    flush=True,
                )
            if "before" in runs:
                for mode, r in runs.items():
                    if mode not in ("decode", "before"):
                        r["boxes_also_in_before"] = _agreement(r["kept_boxes"], runs["before"]["kept_boxes"])
                        r["before_boxes_also_here"] = _agreement(runs["before"]["kept_boxes"], r["kept_boxes"])
            for r in runs.values():
                r.pop("kept_boxes", None)
                for k in ("cpu_s", "wall_s", "iou_proxy_consecutive"):
                    if isinstance(r.get(k), float):
                        r[k] = round(r[k], 3)
            if "decode" in runs:
                for mode, r in runs.items():
                    if mode != "decode":
                        r["cpu_over_decode"] = round(r["cpu_s"] / runs["decode"]["cpu_s"], 1)
            out["videos"][name] = runs
    out["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
