"""``gaitforge watch SOURCE``: track and identify people on a webcam, a network stream or a file played live.

Only argument parsing and printing; the work is done by :class:`~gaitforge.preprocess.video.watch.Watcher`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

__all__ = ["format_event", "register"]

logger = logging.getLogger(__name__)


def _num(v: Any, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_event(e: dict[str, Any]) -> str | None:
    """One human line for an event (``None`` for events not worth a line)."""
    stamp = f"[{e['t']:9.2f}s]" if e.get("t") is not None else f"[wall {e['wall']:7.1f}s]"
    kind = e["event"]
    if kind == "source_opened":
        w, h = e["size"]
        return f"watching {e.get('source', '')}({e['kind']}, {w}x{h} at {e['fps']:g} fps)"
    if kind == "track_started":
        return f"{stamp} track {e['track']} entered"
    if kind in ("identified", "reidentified", "identity_changed"):
        known = {True: "known", False: "UNKNOWN under the gallery threshold", None: "no threshold"}[e.get("known")]
        verb = {"identified": "identified as", "reidentified": "still", "identity_changed": "now"}[kind]
        latency = f", {e['latency_s']:.1f} s after entry" if e.get("latency_s") is not None else ""
        return (
            f"{stamp} track {e['track']}: {verb} {e.get('subject')} (distance {_num(e.get('distance'))}, {known}) "
            f"from {e.get('frames')} silhouettes{latency}"
        )
    if kind == "identification_failed":
        return f"{stamp} track {e['track']}: identification failed ({e['reason']})"
    if kind == "track_ended":
        who = f", was {e['subject']}" if e.get("subject") else ""
        return f"{stamp} track {e['track']} left after {e['detections']} detections{who}"
    if kind == "source_lost":
        return f"{stamp} source lost: {e['reason']}"
    if kind == "reconnecting":
        return f"{stamp} reconnecting in {e['wait_s']:g} s (attempt {e['attempt']} of {e['of']})"
    if kind == "reconnected":
        return f"{stamp} reconnected"
    if kind == "source_warning":
        return f"{stamp} warning: {e['message']}"
    if kind == "annotated":
        return f"annotated video written: {e['path']} ({e['frames']} frames)"
    return None


def _summary_lines(s: Any) -> list[str]:
    lines = [
        f"stopped: {s.stopped}; {s.frames_read} frames read, {s.frames_processed} processed, {s.frames_dropped} "
        f"dropped (behind real time), {s.corrupt_packets} corrupt skipped, {s.reconnects} reconnections; "
        f"{s.tracks_confirmed} tracks, {s.identifications} identifications; {s.wall_s:.1f} s wall, {s.cpu_s:.1f} s CPU"
    ]
    if s.frames_processed and not s.tracks_confirmed and s.stopped != "source_failed":
        lines.append("no person was tracked in this video")
    lines += [f"warning: {w}" for w in s.warnings]
    return lines


def _cmd_watch(args: argparse.Namespace) -> int:
    from gaitforge.preprocess.video.live import LiveOptions
    from gaitforge.preprocess.video.sources import parse_source
    from gaitforge.preprocess.video.watch import GalleryIdentifier, WatchOptions, Watcher
    from gaitforge.utils.atomic import atomic_write_text

    if (args.model is None) != (args.gallery is None):
        raise ValueError("--model and --gallery go together (identification needs both); give both or neither")
    spec = parse_source(args.source)
    if args.loop and spec.live:
        raise ValueError(f"--loop: {args.source} is a live source; --loop replays files only")
    options = WatchOptions(
        realtime=not args.fast,
        loop=args.loop,
        max_seconds=args.max_seconds,
        open_timeout_s=args.timeout,
        read_timeout_s=args.timeout,
        reconnect_attempts=args.reconnect,
        min_frames=args.min_frames,
        reidentify_every=args.reidentify_every,
        top_k=args.top_k,
        live=LiveOptions(max_tracks=args.max_tracks, max_track_frames=args.track_frames),
    )
    identifier = GalleryIdentifier(args.model, args.gallery, args.device, args.top_k) if args.model else None

    def emit(event: dict[str, Any]) -> None:
        if args.json:
            print(json.dumps(event), flush=True)
            return
        line = format_event(dict(event, source=f"{spec.name} ") if event["event"] == "source_opened" else event)
        if line:
            print(line, flush=True)

    try:
        summary = Watcher(spec, options, identifier=identifier, emit=emit, annotate=args.annotate).run()
    finally:
        if identifier is not None:
            identifier.close()
    if args.summary:
        atomic_write_text(args.summary, json.dumps(summary.as_dict(), indent=1))
    if args.json:
        print(json.dumps({"event": "summary", **summary.as_dict()}), flush=True)
    elif summary.frames_read or summary.stopped != "source_failed":
        for line in _summary_lines(summary):
            print(line, flush=True)
    if summary.stopped == "source_failed":
        print(f"gaitforge watch: error: {summary.message}", file=sys.stderr)
        return 1
    return 130 if summary.stopped == "interrupted" else 0


def register(sub: Any) -> None:
    """Add ``watch`` to the ``gaitforge`` subparsers."""
    p = sub.add_parser("watch", help="track and identify people live: webcam index, stream URL, or a file in real time")
    p.add_argument("source", metavar="SOURCE", help="webcam index (0) or /dev/videoN, rtsp:// or http(s) URL, or file")
    p.add_argument("--model", help="run folder or checkpoint (with --gallery: identify the tracked people)")
    p.add_argument("--gallery", help="gallery folder to identify against (read-only)")
    p.add_argument("--annotate", metavar="OUT.mp4", help="write the video with boxes, ids, outlines and identities")
    p.add_argument("--json", action="store_true", help="print events as JSON lines")
    p.add_argument("--summary", metavar="FILE.json", help="write the run summary (frames, drops, latencies, memory)")
    p.add_argument("--fast", action="store_true", help="files: process every frame as fast as possible (no drops)")
    p.add_argument("--loop", action="store_true", help="files: start again at the end")
    p.add_argument("--max-seconds", type=float, help="stop after this many seconds")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the source to open or answer")
    p.add_argument("--reconnect", type=int, default=5, help="reconnection attempts for a lost webcam or stream")
    p.add_argument("--min-frames", type=int, default=20, help="silhouettes before a track is identified")
    p.add_argument("--reidentify-every", type=int, default=30, help="further detections before identifying again")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--max-tracks", type=int, default=32, help="people followed at once")
    p.add_argument("--track-frames", type=int, default=120, help="silhouettes kept per track (ring buffer)")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=_cmd_watch)
