"""``gaitforge watch`` on ``vtest.avi`` played in real time: dropped frames, time to first identification, memory.

Steps (a work folder keeps the intermediate results, so a rerun skips what is done):

1. **First pass**: the batch pipeline on ``vtest.avi`` into a sequence store (one sequence per kept track).
2. **Gallery**: each first-pass track's first half is enrolled under its own name (``vtest-t0009``, ...); the second
   halves are the held-out probes that calibrate the open-set threshold at ``--far`` (genuine: a second half to its
   own first half; impostor: to the nearest other track).
3. **Watch**: ``gaitforge watch vtest.avi --model M --gallery G --json --summary S`` as a subprocess, the file played
   at its own rate (10 fps), optionally looped for ``--seconds`` and with ``--annotate``.
4. **Figures**: frames read / processed / dropped, identifications, latency from a track's first detection to its
   first identification (wall seconds; also in source seconds), the share of identifications that name the
   first-pass track covering the same person at that moment (box IoU ≥ 0.5 at the same frame of the video: a live
   track identified "as itself"), and the resident memory over the run (first and last samples, slope).

Writes one JSON (``--json``) and prints it. Usage::

    python benchmarks/bench_watch.py --model RUN --work /tmp/watch-bench --seconds 600 \
        --json benchmarks/results/watch_vtest_loop.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VTEST = ROOT.parent / "shared" / "data" / "vtest.avi"


def first_pass(work: Path) -> Path:
    from gaitforge.preprocess.video import process_videos

    store = work / "store"
    if not (store / "video_summary.json").exists():
        process_videos([VTEST], store, progress=False)
    return store


def build_gallery(store: Path, model: str, work: Path, far: float) -> tuple[Path, dict[str, Any]]:
    """Enroll first halves, calibrate on second halves; returns the gallery and what was done."""
    from gaitforge.data.store import SequenceStore
    from gaitforge.retrieval import Gallery, Recognizer

    gallery = work / "gallery"
    info_file = work / "gallery_info.json"
    if gallery.exists() and info_file.exists():
        return gallery, json.loads(info_file.read_text())
    rec = Recognizer.from_checkpoint(model)
    st = SequenceStore(store)
    names, firsts, seconds = [], [], []
    for i in range(len(st)):
        seq = st.get(i)
        sil = seq.modalities["sil"]
        if len(sil) < 40:  # both halves need 20 frames
            continue
        half = len(sil) // 2
        names.append(seq.subject)
        firsts.append(sil[:half])
        seconds.append(sil[half:])
    a = rec.embed_many(firsts, pretreated=True)
    b = rec.embed_many(seconds, pretreated=True)
    with Gallery.create(gallery, rec.dim, rec.metric) as g:
        g.model = rec.describe()
        g.enroll_many(names, a, [{"source": "first half", "subject": n} for n in names])
        found = g.identify_many(b, k=len(names))  # distances as the gallery itself measures them
        d = np.stack([[{m.subject: m.distance for m in r.matches}[n] for n in names] for r in found])
        genuine = np.diag(d)
        off = d + np.diag(np.full(len(d), np.inf))
        impostor = off.min(1)
        cal = g.calibrate(genuine, impostor, far=far)
    info = {
        "enrolled_tracks": len(names),
        "tracks_too_short_for_halves": len(st) - len(names),
        "far_target": far,
        "threshold": cal.threshold,
        "far": cal.far,
        "tar": cal.tar,
        "closed_set_rank1_second_halves": float(np.mean(np.argmin(d, 1) == np.arange(len(d)))),
    }
    info_file.write_text(json.dumps(info, indent=1))
    return gallery, info


def first_pass_boxes(store: Path) -> dict[str, dict[int, np.ndarray]]:
    """Track name → frame index → box, from the store's provenance."""
    from gaitforge.data.store import SequenceStore

    st = SequenceStore(store)
    out = {}
    for i in range(len(st)):
        seq = st.get(i)
        frames, bxs = seq.meta["frame_indices"], seq.meta["boxes"]
        out[seq.subject] = {int(f): np.asarray(b, np.float32) for f, b in zip(frames, bxs)}
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def analyse(events: list[dict[str, Any]], summary: dict[str, Any], boxes: dict[str, dict[int, np.ndarray]],
            n_frames: int) -> dict[str, Any]:  # fmt: skip
    ident = [e for e in events if e["event"] in ("identified", "reidentified", "identity_changed")]
    first = [e for e in events if e["event"] == "identified"]
    checked = same = 0
    for e in ident:
        if "frame" not in e:  # the track ended before its identification came back
            continue
        f = int(e["frame"]) % n_frames
        track = boxes.get(e.get("subject") or "", {})
        near = [track[g] for g in (f, f - 1, f + 1) if g in track]
        others = [t for name, t in boxes.items() if name != e.get("subject") and f in t]
        if not near and not others:
            continue  # no first-pass track is there at that moment: cannot be checked
        checked += 1
        same += int(bool(near) and max(_iou(np.asarray(e["box"]), b) for b in near) >= 0.5)
    lat = np.array([e["latency_s"] for e in first if e.get("latency_s") is not None], float)
    mem = np.array(summary["memory_mb"], float)
    slope = float(np.polyfit(mem[:, 0], mem[:, 1], 1)[0] * 3600) if len(mem) > 2 else None
    running = mem[:-1] if len(mem) > 3 else mem  # the last sample is taken at shutdown
    late = running[running[:, 0] >= 120.0]  # after the first two minutes (model, gallery and buffers loaded)
    slope_late = float(np.polyfit(late[:, 0], late[:, 1], 1)[0] * 3600) if len(late) > 2 else None
    thirds = [float(part[:, 1].mean()) for part in np.array_split(late, 3)] if len(late) >= 3 else []
    return {
        "frames_read": summary["frames_read"],
        "frames_processed": summary["frames_processed"],
        "frames_dropped": summary["frames_dropped"],
        "dropped_fraction": round(summary["frames_dropped"] / max(1, summary["frames_read"]), 4),
        "tracks_confirmed": summary["tracks_confirmed"],
        "identifications": len(ident),
        "tracks_identified": len(first),
        "latency_first_identification_s": {
            "median": float(np.median(lat)) if len(lat) else None,
            "p10": float(np.percentile(lat, 10)) if len(lat) else None,
            "p90": float(np.percentile(lat, 90)) if len(lat) else None,
            "min": float(lat.min()) if len(lat) else None,
            "max": float(lat.max()) if len(lat) else None,
        },
        "known_fraction": round(float(np.mean([e.get("known") is True for e in ident])), 3) if ident else None,
        "identified_as_same_first_pass_track": {"checked": checked, "same": same,
                                                "fraction": round(same / checked, 3) if checked else None},  # fmt: skip
        "rss_mb": {"first": float(mem[0, 1]), "max": float(mem[:, 1].max()), "last": float(mem[-1, 1]),
                   "slope_mb_per_hour": slope, "slope_after_2min_mb_per_hour": slope_late,
                   "mean_by_third_after_2min": thirds,
                   "samples": mem.tolist()},  # fmt: skip
        "wall_s": summary["wall_s"],
        "cpu_s": summary["cpu_s"],
        "loops": summary["loops"],
        "stopped": summary["stopped"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="run folder or checkpoint")
    ap.add_argument("--work", required=True, help="work folder (store, gallery, events)")
    ap.add_argument("--seconds", type=float, default=None, help="loop the video this long (default: one pass)")
    ap.add_argument("--annotate", help="also write the annotated video here")
    ap.add_argument("--far", type=float, default=0.05)
    ap.add_argument("--tag", default="run")
    ap.add_argument("--json", required=True)
    ap.add_argument("--reuse", action="store_true", help="analyse the events of an earlier run with this tag")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    store = first_pass(work)
    gallery, ginfo = build_gallery(store, args.model, work, args.far)
    events_file, summary_file = work / f"events-{args.tag}.jsonl", work / f"summary-{args.tag}.json"
    cmd = [sys.executable, "-m", "gaitforge", "watch", str(VTEST), "--model", args.model, "--gallery", str(gallery),
           "--json", "--summary", str(summary_file)]  # fmt: skip
    if args.seconds:
        cmd += ["--loop", "--max-seconds", str(args.seconds)]
    if args.annotate:
        cmd += ["--annotate", args.annotate]
    run_file = work / f"run-{args.tag}.json"  # when and under what load the watch itself ran
    if not (args.reuse and events_file.exists() and summary_file.exists() and run_file.exists()):
        load0, t0 = os.getloadavg(), time.time()
        with open(events_file, "w") as f:
            subprocess.run(cmd, stdout=f, check=True)
        run_file.write_text(json.dumps({"started": t0, "load_avg_start": load0, "load_avg_end": os.getloadavg()}))
    run = json.loads(run_file.read_text())
    events = [json.loads(x) for x in events_file.read_text().splitlines() if x.startswith("{")]
    summary = json.loads(summary_file.read_text())
    from gaitforge.preprocess.video import probe_video

    result = {
        "command": " ".join(cmd),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run["started"])),
        "load_avg_start": run["load_avg_start"],
        "load_avg_end": run["load_avg_end"],
        "cpus": os.cpu_count(),
        "model": args.model,
        "gallery": ginfo,
        "video": {"path": str(VTEST), "fps": summary["fps"], "frames": probe_video(VTEST).frames},
        "figures": analyse(events, summary, first_pass_boxes(store), probe_video(VTEST).frames),
        "warnings": summary["warnings"],
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=float))
    os.replace(tmp, out)
    print(json.dumps({k: v for k, v in result.items() if k != "figures"} | {"figures": {
        k: v for k, v in result["figures"].items() if k != "rss_mb"} | {"rss_mb": {
            k: v for k, v in result["figures"]["rss_mb"].items() if k != "samples"}}}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
