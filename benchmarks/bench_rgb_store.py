"""Store size and read speed of the RGB modality (``rgb`` uint8 ``[T, H, W, 3]``), raw against per-frame LZ4.

RGB crops are cut from a real street video (OpenCV's ``vtest.avi`` in ``../shared/data``, 768×576, 10 fps): each
sequence follows a box drifting across the scene for ``--frames`` frames, resized to the two sizes the RGB models
take (64×64: GaitEdge, CASIA-B*; 256×128: BigGait's pad-resized frames), background included as in the peer's
RGB data. Two variants of each crop: ``scene`` (the crop as is) and ``masked`` (everything outside an ellipse set to
black, as a silhouette-masked person crop). The synthetic world does not render RGB yet, so these are real textures
rather than walking people.

For each codec (``raw`` is the reference, written and read in the same run) the store is written to a temp folder
(in the page cache: read figures are CPU costs, not disk speed) and read back twice: ``eval`` (every frame of every
sequence through :meth:`SequenceStore.frames`) and ``train`` (32 sequences × 30 random frames per batch through
:meth:`SequenceStore.read_batch`). Best of ``--repeats``, codecs interleaved. Prints one JSON object (size in bytes
and relative to raw; frames per second and ratio to raw).

Usage: ``python benchmarks/bench_rgb_store.py [--sequences 64 --frames 60 --repeats 3 --out results/rgb_store.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter

ROOT = Path(__file__).resolve().parents[1]
CODECS = ("raw", "lz4", "lz4hc")


def video_frames(path: Path, count: int) -> np.ndarray:
    """The first ``count`` frames of the video, ``uint8 [count, H, W, 3]`` RGB."""
    import av

    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == count:
                break
    return np.stack(out)


def resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average resize of ``[H, W, 3]`` to ``size`` (integer bins; crops are cut at a multiple of the size)."""
    h, w = size
    fh, fw = img.shape[0] // h, img.shape[1] // w
    return img[: h * fh, : w * fw].reshape(h, fh, w, fw, 3).mean(axis=(1, 3)).round().astype(np.uint8)


def crops(video: np.ndarray, sequences: int, frames: int, size: tuple[int, int], masked: bool) -> list[np.ndarray]:
    """``sequences`` arrays ``uint8 [frames, h, w, 3]``: boxes of 2:1 (or 1:1) aspect drifting over the scene."""
    rng = np.random.default_rng(0)
    h, w = size
    factor = 2 if h > 64 else 3  # boxes of 192×192 and 512×256 video pixels
    box_h, box_w = factor * h, factor * w
    yy, xx = np.mgrid[0:h, 0:w]
    ellipse = ((yy - h / 2) / (0.48 * h)) ** 2 + ((xx - w / 2) / (0.3 * w)) ** 2 <= 1.0
    out = []
    for _ in range(sequences):
        start = int(rng.integers(0, len(video) - frames))
        y0 = int(rng.integers(0, video.shape[1] - box_h))
        x0, vx = int(rng.integers(0, video.shape[2] - box_w)), float(rng.uniform(-2, 2))
        seq = np.empty((frames, h, w, 3), np.uint8)
        for t in range(frames):
            x = int(np.clip(x0 + vx * t, 0, video.shape[2] - box_w))
            seq[t] = resize(video[start + t, y0 : y0 + box_h, x : x + box_w], size)
            if masked:
                seq[t][~ellipse] = 0
        out.append(seq)
    return out


def write(root: Path, seqs: list[np.ndarray], codec: str) -> float:
    started = time.perf_counter()
    with StoreWriter(root, codec=codec, overwrite=True) as w:
        for i, rgb in enumerate(seqs):
            w.add(Sequence(f"{i // 4:04d}", f"nm-{i % 4:02d}", "090", {"rgb": rgb}))
    return time.perf_counter() - started


def store_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.glob("rgb.*.bin"))


def read_eval(root: Path, frames: int) -> float:
    store = SequenceStore(root, verify_reads=False)
    started = time.perf_counter()
    for i in range(len(store)):
        store.frames(i, "rgb", np.arange(frames))
    return len(store) * frames / (time.perf_counter() - started)


def read_train(root: Path, batches: list[tuple[np.ndarray, np.ndarray]]) -> float:
    store = SequenceStore(root, verify_reads=False)
    started = time.perf_counter()
    for rows, idx in batches:
        store.read_batch(rows, "rgb", idx)
    return sum(idx.size for _, idx in batches) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(ROOT.parent / "shared" / "data" / "vtest.avi"))
    parser.add_argument("--sequences", type=int, default=64)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    video = video_frames(Path(args.video), 400)
    rng = np.random.default_rng(1)
    batches = []
    for _ in range(8):
        rows = rng.choice(args.sequences, size=min(32, args.sequences), replace=False)
        take = min(30, args.frames)
        idx = np.sort(np.stack([rng.choice(args.frames, take, replace=False) for _ in rows]), axis=1)
        batches.append((rows, idx))
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in ((64, 64), (256, 128)):
            for masked in (False, True):
                seqs = crops(video, args.sequences, args.frames, size, masked)
                label = f"{size[0]}x{size[1]}_{'masked' if masked else 'scene'}"
                entry: dict[str, dict] = {c: {"write_s": [], "eval_fps": [], "train_fps": []} for c in CODECS}
                for _ in range(args.repeats):
                    for codec in CODECS:  # interleaved
                        root = Path(tmp) / f"{label}_{codec}"
                        entry[codec]["write_s"].append(write(root, seqs, codec))
                        entry[codec]["bytes"] = store_bytes(root)
                        entry[codec]["eval_fps"].append(read_eval(root, args.frames))
                        entry[codec]["train_fps"].append(read_train(root, batches))
                raw = entry["raw"]
                summary = {}
                for codec, e in entry.items():
                    summary[codec] = {
                        "bytes": e["bytes"],
                        "size_vs_raw": round(e["bytes"] / raw["bytes"], 4),
                        "write_s_best": round(min(e["write_s"]), 3),
                        "eval_frames_per_s_best": round(max(e["eval_fps"])),
                        "train_frames_per_s_best": round(max(e["train_fps"])),
                        "eval_speed_vs_raw": round(max(e["eval_fps"]) / max(raw["eval_fps"]), 3),
                        "train_speed_vs_raw": round(max(e["train_fps"]) / max(raw["train_fps"]), 3),
                    }
                results[label] = summary
                print(label, json.dumps(summary), file=sys.stderr, flush=True)
    report = {
        "benchmark": "rgb_store",
        "video": Path(args.video).name,
        "sequences": args.sequences,
        "frames": args.frames,
        "repeats": args.repeats,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load_average_at_end": os.getloadavg(),
        "results": results,
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
