"""``gaitforge preprocess …`` subcommands: ``preprocess video INPUT… --out STORE``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _onnx_spec(values: list[str] | None, flag: str) -> str | None:
    if not values:
        return None
    kind, path = values
    if kind != "onnx":
        raise ValueError(f"{flag}: backend {kind!r} is unknown; expected 'onnx PATH'")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{flag}: ONNX model {path} not found")
    return path


def _pose_factory(values: list[str] | None) -> Any:
    """``--pose onnx PATH`` / ``--pose mediapipe`` → a picklable factory building the estimator in each worker."""
    from functools import partial

    if not values:
        return None
    if values[0] == "blazepose" and len(values) == 1:
        from gaitforge.preprocess.video.blazepose import BlazePoseKeypoints

        return partial(BlazePoseKeypoints)
    if values[0] == "mediapipe" and len(values) == 1:
        from gaitforge.preprocess.pose_backends import MediaPipePose

        return partial(MediaPipePose)
    if values[0] == "onnx" and len(values) == 2:
        from gaitforge.preprocess.pose_backends import OnnxTopDownEstimator

        return partial(OnnxTopDownEstimator, _onnx_spec(values, "--pose"))
    raise ValueError(f"--pose: {' '.join(values)!r}; expected 'onnx PATH', 'blazepose' or 'mediapipe'")


def _cmd_video(args: argparse.Namespace) -> int:
    from functools import partial

    from gaitforge.preprocess.video import OnnxDetector, OnnxSegmenter, TrackFilter, VideoOptions, process_videos

    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing and len(missing) == len(args.inputs):
        raise FileNotFoundError(f"no input video exists: {', '.join(missing)}")
    detector = _onnx_spec(args.detector, "--detector")
    segmenter = _onnx_spec(args.segmenter, "--segmenter")
    pose = _pose_factory(args.pose)
    options = VideoOptions(
        stride=args.stride,
        start_s=args.start,
        end_s=args.end,
        background=args.background,
        filter=TrackFilter(min_frames=args.min_frames),
        frontend=args.frontend,
        stabilise=args.stabilise,
    )
    summary = process_videos(
        args.inputs,
        args.out,
        options,
        workers=args.workers,
        detector=partial(OnnxDetector, detector) if detector else None,
        segmenter=partial(OnnxSegmenter, segmenter) if segmenter else None,
        pose=pose,
        sheets_dir=args.sheets,
        progress=not args.quiet,
        redo=args.redo,
    )
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        _print_summary(summary, args.inputs)
    failed = [p for p in args.inputs if summary["videos"].get(str(Path(p).resolve()), {}).get("status") == "error"]
    return 1 if failed else 0


def _print_summary(summary: dict, inputs: list[str]) -> None:
    for p in inputs:
        v = summary["videos"].get(str(Path(p).resolve()), {})
        if v.get("status") == "error":
            print(f"{p}: ERROR {v.get('error')}")
            continue
        frames = ", ".join(f"t{k['track_id']}:{k['frames']}" for k in v.get("kept", []))
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(v.get("dropped_by_reason", {}).items()))
        print(
            f"{p}: {v.get('frames_processed', 0)} frames, {v.get('tracks_confirmed', 0)} tracks, "
            f"{v.get('tracks_kept', 0)} kept [{frames}]; dropped: {reasons or 'none'}"
        )
        if v.get("contact_sheet"):
            print(f"  contact sheet: {v['contact_sheet']}")
    t = summary.get("totals", {})
    print(
        f"store {summary.get('store')}: {t.get('sequences', 0)} sequences from {t.get('done', 0)} videos "
        f"({t.get('errors', 0)} failed); summary in {Path(summary.get('store', '.')) / 'video_summary.json'}"
    )
    sys.stdout.flush()


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``preprocess`` and its subcommands to the ``gaitforge`` parser."""
    p = sub.add_parser("preprocess", help="turn raw data (videos) into gait sequences")
    psub = p.add_subparsers(dest="preprocess_command", required=True)
    v = psub.add_parser(
        "video",
        help="find, track and segment walking people in videos into a sequence store",
        description="Videos → one silhouette sequence (uint8 [T,64,64]) per walking person, in a resumable store.",
    )
    v.add_argument("inputs", nargs="+", metavar="INPUT", help="video files")
    v.add_argument("--out", required=True, help="sequence store folder (created, or added to)")
    v.add_argument("--workers", type=int, default=1, help="worker processes, one video each (default 1)")
    v.add_argument("--stride", type=int, default=1, help="process every N-th frame (default 1)")
    v.add_argument("--start", type=float, default=None, metavar="SECONDS", help="start time")
    v.add_argument("--end", type=float, default=None, metavar="SECONDS", help="end time")
    v.add_argument("--min-frames", type=int, default=20, help="shortest kept track, in frames (default 20)")
    v.add_argument("--background", choices=["median", "mog2"], default="median", help="background model")
    v.add_argument(
        "--frontend", choices=["auto", "detector", "background"], default="auto",
        help="who finds the people: 'detector' (BlazePose person detector + segmenter, installed by make install), "
        "'background' (background model, static cameras) or 'auto' (default: background when the camera is static, "
        "detector when it moves)",
    )  # fmt: skip
    v.add_argument(
        "--stabilise", choices=["auto", "on", "off"], default="auto",
        help="compensate camera motion (background and tracks in the first frame's coordinates); default: when "
        "the camera moves",
    )  # fmt: skip
    v.add_argument("--detector", nargs=2, metavar=("onnx", "PATH"), help="person detector: onnx PATH (YOLO-style)")
    v.add_argument("--segmenter", nargs=2, metavar=("onnx", "PATH"), help="person segmenter: onnx PATH")
    v.add_argument(
        "--pose", nargs="+", metavar="KIND",
        help="per-track keypoints (+ heatmaps): 'onnx PATH' (top-down heatmap model, e.g. a ViTPose export) or "
        "'blazepose' (keypoints only; BlazePose landmark model, installed by make install) or "
        "'mediapipe' (keypoints only; MediaPipe's solutions graph in its own venv, see docs/video.md)",
    )  # fmt: skip
    v.add_argument("--sheets", metavar="DIR", help="write a contact sheet PNG per video into DIR")
    v.add_argument("--redo", action="store_true", help="process videos already recorded as done")
    v.add_argument("--json", action="store_true", help="print the run summary as JSON")
    v.set_defaults(func=_cmd_video)
