"""Many videos into one sequence store: worker processes (one video per task), a progress bar, resumable runs.

The store is written by this process only (``StoreWriter`` in append mode); after each video its sequences are
published (index checkpoint) and then the video is recorded as done in ``<store>/video_summary.json`` (atomic
replace). A rerun skips the videos recorded as done; a video interrupted between the two steps is redone and its
sequences, already present, are skipped by key. A video that cannot be read is recorded with its error and the
others go on; it is retried on the next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import queue
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gaitforge.data.store import StoreWriter
from gaitforge.preprocess.video.decode import frame_range, probe_video
from gaitforge.preprocess.video.pipeline import VideoOptions, extract_tracks
from gaitforge.preprocess.video.results import video_id_for
from gaitforge.utils.atomic import atomic_write_text

__all__ = ["SUMMARY_NAME", "load_summary", "process_videos"]

logger = logging.getLogger(__name__)

#: File name of the run summary inside the store folder.
SUMMARY_NAME = "video_summary.json"
_FORMAT = "gaitforge.preprocess.video/summary"

_progress_queue: Any = None


def _init_worker(progress_queue: Any) -> None:
    import cv2

    global _progress_queue
    _progress_queue = progress_queue
    cv2.setNumThreads(1)  # one core per worker


def _process_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one video; returns ``{"summary": …, "sequences": […]}`` or ``{"error": …}`` (never raises)."""
    path = task["path"]
    report = _progress_queue.put if _progress_queue is not None else task.get("report")
    pending = [0]

    def progress(n: int) -> None:
        pending[0] += n
        if report is not None and pending[0] >= 10:
            report(pending[0])
            pending[0] = 0

    try:
        make = task["factories"]
        result = extract_tracks(
            path,
            task["options"],
            detector=make["detector"]() if make.get("detector") else None,
            segmenter=make["segmenter"]() if make.get("segmenter") else None,
            pose=make["pose"]() if make.get("pose") else None,
            video_id=task["video_id"],
            progress=progress,
        )
        summary = result.summary()
        if task.get("sheet"):
            from gaitforge.preprocess.video.contact_sheet import save_contact_sheet

            summary["contact_sheet"] = str(save_contact_sheet(task["sheet"], result))
        return {"summary": summary, "sequences": result.sequences()}
    except Exception as exc:  # reported per video; the run goes on with the others
        logger.error("%s: failed: %s", path, exc)
        logger.debug("%s", traceback.format_exc())
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if report is not None and pending[0]:
            report(pending[0])


def load_summary(store: str | Path) -> dict[str, Any]:
    """The run summary of a store (an empty one when the store has none yet)."""
    path = Path(store) / SUMMARY_NAME
    if not path.exists():
        return {"format": _FORMAT, "version": 1, "videos": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != _FORMAT or not isinstance(data.get("videos"), dict):
        raise ValueError(
            f"{path}: field 'format' is {data.get('format')!r}; expected {_FORMAT!r} with a 'videos' mapping"
        )
    return data


def _totals(videos: dict[str, dict[str, Any]]) -> dict[str, int]:
    done = [v for v in videos.values() if v.get("status") == "done"]
    return {
        "videos": len(videos),
        "done": len(done),
        "errors": sum(v.get("status") == "error" for v in videos.values()),
        "tracks_confirmed": sum(v.get("tracks_confirmed", 0) for v in done),
        "sequences": sum(v.get("tracks_kept", 0) for v in done),
    }


def _unique_ids(paths: list[str], known: dict[str, dict[str, Any]]) -> dict[str, str]:
    taken = {v["video_id"]: p for p, v in known.items() if "video_id" in v}
    ids = {}
    for p in paths:
        if p in known and "video_id" in known[p]:
            ids[p] = known[p]["video_id"]
            continue
        vid = video_id_for(p)
        if vid in taken and taken[vid] != p:
            vid = f"{vid}-{hashlib.sha1(p.encode()).hexdigest()[:8]}"
        taken[vid] = p
        ids[p] = vid
    return ids


def _frames_to_do(path: str, opts: VideoOptions) -> int:
    try:
        info = probe_video(path)
    except (FileNotFoundError, ValueError):
        return 0
    first, stop = frame_range(info, opts.start_s, opts.end_s)
    end = stop if stop is not None else info.frames
    return max(0, -(-(end - first) // opts.stride)) if end else 0


def process_videos(
    inputs: Sequence[str | Path],
    out: str | Path,
    options: VideoOptions | None = None,
    *,
    workers: int = 1,
    detector: Callable[[], Any] | None = None,
    segmenter: Callable[[], Any] | None = None,
    pose: Callable[[], Any] | None = None,
    sheets_dir: str | Path | None = None,
    progress: bool = True,
    redo: bool = False,
) -> dict[str, Any]:
    """Extract the walking people of every video into the sequence store ``out``.

    Args:
        inputs: Video files.
        out: Store folder (created, or added to).
        options: Pipeline settings (see :class:`VideoOptions`).
        workers: Worker processes (one video each at a time); 1 runs in this process.
        detector, segmenter, pose: Factories (picklable callables, e.g. ``functools.partial(OnnxDetector, path)``)
            building the components in each worker; ``None`` = the embedded defaults, no pose.
        sheets_dir: Write a contact sheet ``<video_id>.png`` per video there.
        progress: Show a progress bar over frames.
        redo: Process videos already recorded as done.

    Returns:
        The run summary (also saved as ``<out>/video_summary.json``): ``videos`` maps each video's absolute path to
        its status (``done`` or ``error``), tracks found, frames per kept track, dropped tracks and why; ``totals``.
    """
    opts = options or VideoOptions()
    if opts.sheet_frames == 0 and sheets_dir is not None:
        from dataclasses import replace

        opts = replace(opts, sheet_frames=4)
    out = Path(out)
    summary = load_summary(out)
    videos: dict[str, dict[str, Any]] = summary["videos"]
    paths = list(dict.fromkeys(str(Path(p).resolve()) for p in inputs))
    ids = _unique_ids(paths, videos)
    todo = [p for p in paths if redo or videos.get(p, {}).get("status") != "done"]
    for p in paths:
        if p not in todo:
            logger.info("%s: already done, skipped", p)
    factories = {"detector": detector, "segmenter": segmenter, "pose": pose}
    tasks = [
        {
            "path": p,
            "video_id": ids[p],
            "options": opts,
            "factories": factories,
            "sheet": str(Path(sheets_dir) / f"{ids[p]}.png") if sheets_dir else None,
        }
        for p in todo
    ]
    summary.update(store=str(out), options=_jsonable(asdict(opts)))

    def record(task: dict[str, Any], outcome: dict[str, Any], writer: StoreWriter) -> None:
        if "error" in outcome:
            videos[task["path"]] = {
                "video": task["path"],
                "video_id": task["video_id"],
                "status": "error",
                "error": outcome["error"],
            }
        else:
            for seq in outcome["sequences"]:
                writer.add(seq)
            writer.checkpoint()
            videos[task["path"]] = dict(outcome["summary"], status="done")
        summary["totals"] = _totals(videos)
        atomic_write_text(out / SUMMARY_NAME, json.dumps(summary, indent=1))

    from tqdm import tqdm

    total = sum(_frames_to_do(t["path"], opts) for t in tasks)
    bar = tqdm(total=total or None, unit="frame", desc="videos", disable=not progress or not tasks)
    with StoreWriter(out, append=True) as writer:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                record(task, _process_one(dict(task, report=bar.update)), writer)
        else:
            ctx = mp.get_context("spawn")
            with ctx.Manager() as manager:
                q = manager.Queue()
                with ProcessPoolExecutor(min(workers, len(tasks)), ctx, _init_worker, (q,)) as pool:
                    running = {pool.submit(_process_one, t): t for t in tasks}
                    while running:
                        done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                        _drain(q, bar)
                        for fut in done:
                            record(running.pop(fut), fut.result(), writer)
                _drain(q, bar)
    bar.close()
    summary["totals"] = _totals(videos)
    atomic_write_text(out / SUMMARY_NAME, json.dumps(summary, indent=1))
    return summary


def _drain(q: Any, bar: Any) -> None:
    while True:
        try:
            bar.update(q.get_nowait())
        except queue.Empty:
            return


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj
