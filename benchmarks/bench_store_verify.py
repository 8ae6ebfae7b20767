"""Cost of checking what is read (issue 18): store reads with and without per-array checksum checks, same run.

A store of ``--sequences`` silhouette sequences (``--frames`` frames of 64×44 uint8, raw) is written to a temp
folder (so the page cache holds it: the figures are CPU costs, not disk speed). Two read patterns:

* ``train``: P×K batches (32 sequences × 30 random frames) through :meth:`SequenceStore.read_batch`, as the
  training loader reads; ``--epochs`` passes over the same batch list;
* ``eval``: every frame of every sequence once through :meth:`SequenceStore.frames`, as evaluation reads.

Variants: ``unchecked`` (``verify_reads=False``), ``checked`` (the default: each array's blake2b digest checked on
its first read in the process). For ``train`` the first epoch pays the checks, later epochs do not; both are
reported. Best of ``--repeats``, variants interleaved. Prints one JSON object with sequences read per second.

Usage: ``python benchmarks/bench_store_verify.py [--sequences 512 --frames 90 --epochs 3 --repeats 3]``
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


def write_store(root: Path, sequences: int, frames: int) -> None:
    rng = np.random.default_rng(0)
    with StoreWriter(root) as w:
        for i in range(sequences):
            sil = (rng.random((frames, 64, 44)) > 0.5).astype(np.uint8) * 255
            w.add(Sequence(f"{i // 8:04d}", f"nm-{i % 8:02d}", "090", {"sil": sil}))


def train_pass(store: SequenceStore, batches: list[tuple[np.ndarray, np.ndarray]]) -> int:
    for rows, idx in batches:
        store.read_batch(rows, "sil", idx)
    return sum(len(rows) for rows, _ in batches)


def eval_pass(store: SequenceStore, frames: int) -> int:
    for i in range(len(store)):
        store.frames(i, "sil", np.arange(frames))
    return len(store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=512)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    per_epoch = max(1, args.sequences // 32)
    batches = [
        (rng.choice(args.sequences, 32, replace=False), np.sort(rng.integers(0, args.frames, (32, 30)), axis=1))
        for _ in range(per_epoch)
    ]
    best: dict[str, float] = {}

    def keep(name: str, seqs: int, seconds: float) -> None:
        best[name] = max(best.get(name, 0.0), seqs / seconds)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        write_store(root, args.sequences, args.frames)
        nbytes = sum(p.stat().st_size for p in root.glob("sil.*.bin"))
        for _ in range(args.repeats):
            for name, verify in (("unchecked", False), ("checked", True)):
                store = SequenceStore(root, verify_reads=verify)
                t = time.perf_counter()
                n = train_pass(store, batches)
                keep(f"train_{name}_first_epoch", n, time.perf_counter() - t)
                t = time.perf_counter()
                n = sum(train_pass(store, batches) for _ in range(args.epochs - 1))
                keep(f"train_{name}_later_epochs", n, time.perf_counter() - t)
                store = SequenceStore(root, verify_reads=verify)
                t = time.perf_counter()
                n = eval_pass(store, args.frames)
                keep(f"eval_{name}", n, time.perf_counter() - t)
            t = time.perf_counter()
            SequenceStore(root).verify()
            keep("store_verify_all", args.sequences, time.perf_counter() - t)
    ratio = {
        "train_first_epoch": best["train_checked_first_epoch"] / best["train_unchecked_first_epoch"],
        "train_later_epochs": best["train_checked_later_epochs"] / best["train_unchecked_later_epochs"],
        "eval": best["eval_checked"] / best["eval_unchecked"],
    }
    print(json.dumps({
        "benchmark": "store_verify",
        "setting": {**vars(args), "store_bytes": nbytes, "batch": "32 sequences x 30 frames"},
        "sequences_per_s": {k: round(v, 1) for k, v in best.items()},
        "checked_over_unchecked": {k: round(v, 3) for k, v in ratio.items()},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "note": "2 cores shared by 8 parallel sessions (loaded); store in the page cache"},
    }, indent=1))


if __name__ == "__main__":
    main()
