"""Data-loading throughput: gaitforge's memory-mapped store vs the field's one-pickle-per-sequence layout.

Both paths produce the same model-sized batches (P×K = 8×4 sequences, 30 frames, silhouettes cut to 64×44, float32)
with the same P×K sampler, frame sampling, transform and collate. The only difference is how frames are read:

* ``store``: only the 30 sampled frames are read from the memory-mapped store;
* ``reference``: the whole sequence is unpickled from its ``.pkl`` (the field's way), then 30 frames are taken;
* ``store_uint8``: as ``store`` but batches stay uint8 (the /255 left to the device), 4× less to move from workers.

Prints one JSON object. Usage: ``python benchmarks/bench_data.py [--subjects 32 --per-subject 8 --batches 40]``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from gaitforge.data import (
    FrameSampler,
    GaitDataset,
    GaitSample,
    SequenceStore,
    SilCut,
    StoreWriter,
    TripletSampler,
    collate_samples,
)
from gaitforge.data.samplers import SampleKey
from gaitforge.data.sequence import Sequence
from gaitforge.io.safe_pickle import load_numpy_pickle


def _silhouettes(rng: np.random.Generator, t: int) -> np.ndarray:
    """Person-like blobs that move a little: uint8 [t, 64, 64]."""
    yy, xx = np.mgrid[:64, :64]
    out = np.zeros((t, 64, 64), np.uint8)
    cx = 32 + rng.normal(0, 2)
    for i in range(t):
        w = 8 + 4 * np.sin(i / 4 + rng.random())
        out[i][((xx - cx) / w) ** 2 + ((yy - 34) / 28) ** 2 <= 1] = 255
    return out


def build(root: Path, subjects: int, per_subject: int, seed: int) -> tuple[Path, Path, int]:
    """Write the same sequences as a store and as one pickle per sequence. Returns (store, pkl root, frames)."""
    rng = np.random.default_rng(seed)
    store_root, pkl_root = root / "store", root / "pkl"
    frames = 0
    with StoreWriter(store_root) as w:
        for s in range(subjects):
            for c in range(per_subject):
                sil = _silhouettes(rng, int(rng.integers(60, 121)))
                frames += sil.shape[0]
                w.add(Sequence(f"{s:03d}", f"nm-{c:02d}", "090", {"sil": sil}))
                path = pkl_root / f"{s:03d}" / f"nm-{c:02d}" / "090" / "090.pkl"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(pickle.dumps(sil, protocol=4))
    return store_root, pkl_root, frames


class PickleDataset(Dataset):
    """The reference: unpickle the whole sequence, then sample frames (same sampler and transform as ours)."""

    def __init__(self, store: SequenceStore, pkl_root: Path, sampler: FrameSampler, label_map: dict[str, int]):
        self.keys = list(zip(store.labels("subject"), store.labels("condition"), store.labels("view")))
        self.pkl_root, self.sampler, self.label_map = pkl_root, sampler, label_map
        self.cut = SilCut()

    def __len__(self) -> int:
        return len(self.keys)

    def __getitems__(self, keys: list[SampleKey]) -> list[GaitSample]:
        out = []
        for k in keys:
            subject, condition, view = self.keys[k.index]
            # restricted loader: same cost as pickle.load (one large bytes object), but no code execution
            seq = load_numpy_pickle(self.pkl_root / subject / condition / view / f"{view}.pkl")
            idx = self.sampler.sample(seq.shape[0], np.random.default_rng([k.seed, k.slot + 1]))
            x = self.cut(seq[idx])
            out.append(GaitSample({"sil": x}, self.label_map[subject], subject, condition, view, k.index))
        return out


def _cpu_seconds() -> float:
    """CPU time of this process plus its finished children (DataLoader workers once joined)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(dataset: Dataset, labels: list[str], p: int, k: int, workers: int, batches: int, warmup: int) -> dict:
    """One epoch of ``warmup + batches`` batches: wall rate over the timed part, CPU per batch over the whole epoch
    (main process + workers, which are joined at the end of the epoch)."""
    sampler = TripletSampler(labels, p, k, seed=0, num_batches=warmup + batches)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_samples, num_workers=workers)
    cpu0 = _cpu_seconds()
    it = iter(loader)
    for _ in range(warmup):
        next(it)
    t0 = time.perf_counter()
    batch = None
    for batch in it:  # noqa: B007 - the last batch's shape is reported
        pass
    dt = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    return {
        "batches_per_s": batches / dt,
        "cpu_ms_per_batch": 1000 * cpu / (warmup + batches),
        "batch_shape": list(batch.inputs["sil"].shape),
    }


def _median(runs: list[dict]) -> dict:
    return {
        "batches_per_s": round(statistics.median(r["batches_per_s"] for r in runs), 1),
        "batches_per_s_runs": [round(r["batches_per_s"], 1) for r in runs],
        "cpu_ms_per_batch": round(statistics.median(r["cpu_ms_per_batch"] for r in runs), 2),
        "batch_shape": runs[0]["batch_shape"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=32)
    ap.add_argument("--per-subject", type=int, default=8)
    ap.add_argument("--p", type=int, default=8)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=5, help="alternating repeats; medians are reported")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = ap.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory(prefix="gaitforge-bench-") as tmp:
        t0 = time.perf_counter()
        store_root, pkl_root, total_frames = build(Path(tmp), args.subjects, args.per_subject, seed=0)
        build_s = time.perf_counter() - t0
        store = SequenceStore(store_root)
        sampler = FrameSampler("fixed_unordered", num=args.frames)
        ours = GaitDataset(store, frame_sampler=sampler, transform=SilCut())
        ours_u8 = GaitDataset(store, frame_sampler=sampler, transform=SilCut(scale=None))  # /255 left to the device
        ref = PickleDataset(store, pkl_root, sampler, ours.label_map)
        runs: dict[str, list[dict]] = {}
        for _ in range(args.rounds):  # alternate the two paths so that machine load hits both alike
            for w in args.workers:
                for name, ds in (("store", ours), ("pickle", ref), ("store_uint8", ours_u8)):
                    r = measure(ds, ours.subjects, args.p, args.k, w, args.batches, args.warmup)
                    runs.setdefault(f"{name}_workers{w}", []).append(r)
        figures = {key: _median(r) for key, r in runs.items()}
        ratios = {}
        for w in args.workers:
            a, b = figures[f"store_workers{w}"], figures[f"pickle_workers{w}"]
            ratios[f"speed_store_over_pickle_workers{w}"] = round(a["batches_per_s"] / b["batches_per_s"], 2)
            ratios[f"cpu_pickle_over_store_workers{w}"] = round(b["cpu_ms_per_batch"] / a["cpu_ms_per_batch"], 2)
            u8 = figures[f"store_uint8_workers{w}"]
            ratios[f"speed_store_uint8_over_pickle_workers{w}"] = round(u8["batches_per_s"] / b["batches_per_s"], 2)
        store_bytes = sum(p.stat().st_size for p in store_root.iterdir())
        pkl_bytes = sum(p.stat().st_size for p in pkl_root.rglob("*.pkl"))

    print(
        json.dumps(
            {
                "benchmark": "data_loading",
                "settings": {
                    "subjects": args.subjects,
                    "sequences": args.subjects * args.per_subject,
                    "frames_total": total_frames,
                    "batch_pk": [args.p, args.k],
                    "frames_per_sequence": args.frames,
                    "frame_sampling": "fixed_unordered",
                    "transform": "sil_cut 64->44, /255",
                    "batches_timed": args.batches,
                    "warmup_batches": args.warmup,
                    "rounds": args.rounds,
                    "torch_threads": 1,
                    "cpu": platform.processor() or platform.machine(),
                    "note": "files are in the page cache for both paths (no cold-disk figures)",
                },
                "build_seconds": round(build_s, 2),
                "bytes": {"store": store_bytes, "pickles": pkl_bytes},
                "figures": figures,
                "reference": "one pickle per sequence, fully unpickled per item (the field's layout)",
                "ratios": ratios,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
