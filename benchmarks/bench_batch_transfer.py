"""What handing a batch from a DataLoader worker to the main process costs, with nothing read at all.

A dataset whose batch is a uint8 ``[32, 30, 64, 44]`` tensor (a silhouette batch, 2.7 MB) filled with a constant;
the DataLoader runs it in-process (the reference: no transfer), and with 1 and 2 workers, the batch tensor made
three ways:

* ``private``: ordinary memory; sending it copies it into a new shared-memory segment;
* ``new_shared``: a new shared-memory segment per batch, written in place (what torch's ``default_collate`` and
  gaitforge's collate without a pool do);
* ``pool``: a reusable segment from :class:`gaitforge.data.batch_pool.SharedBatchPool`.

Sequences per second (median of ``--rounds``), and the ratios to ``new_shared``. Prints JSON, writes ``--json``::

    python benchmarks/bench_batch_transfer.py --json benchmarks/results/batch_transfer.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from gaitforge.data.batch_pool import SharedBatchPool, shared_buffer

SHAPE = (32, 30, 64, 44)


class _Batches(Dataset):
    """Batch ``n`` (``__getitems__``): a filled uint8 tensor made the way ``mode`` says."""

    def __init__(self, mode: str, pool: SharedBatchPool | None) -> None:
        self.mode, self.pool = mode, pool

    def __len__(self) -> int:
        return 1 << 30

    def __getitems__(self, keys: list[int]) -> tuple[torch.Tensor, int | None]:
        nbytes, slot = int(np.prod(SHAPE)), None
        if self.mode == "pool":
            storage, slot = self.pool.take(nbytes)
        elif self.mode == "new_shared" and get_worker_info() is not None:
            storage = shared_buffer(nbytes)
        else:
            storage = torch.UntypedStorage(nbytes)
        x = torch.empty(0, dtype=torch.uint8).set_(storage, 0, SHAPE)
        x.numpy()[...] = keys[0] % 251
        return x, slot


def _collate(pool: SharedBatchPool | None) -> object:
    def collate(item: tuple[torch.Tensor, int | None]) -> object:
        x, slot = item
        return x if pool is None else pool.lease(x, slot, [x])

    return collate


def measure(mode: str, workers: int, batches: int) -> float:
    pool = SharedBatchPool(workers, slots=6) if mode == "pool" else None
    order = [[b] * SHAPE[0] for b in range(batches + 1)]
    loader = DataLoader(_Batches(mode, pool), batch_sampler=order, collate_fn=_collate(pool), num_workers=workers)
    it = iter(loader)
    next(it)  # worker start-up excluded
    t0 = time.perf_counter()
    for b, x in enumerate(it, start=1):
        assert int(x[0, 0, 0, 0]) == b % 251
    return batches * SHAPE[0] / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rates: dict[str, dict] = {}
    for w in [0, *args.workers]:
        for mode in ("private", "new_shared", "pool"):
            runs = [measure(mode, w, args.batches) for _ in range(args.rounds)]
            rates[f"{mode}_workers{w}"] = {"sequences_per_s": round(float(np.median(runs)), 1),
                                           "rounds": [round(r, 1) for r in runs]}  # fmt: skip
    ratios = {}
    for w in args.workers:
        ref = rates[f"new_shared_workers{w}"]["sequences_per_s"]
        for mode in ("private", "pool"):
            rate = rates[f"{mode}_workers{w}"]["sequences_per_s"]
            ratios[f"{mode}_over_new_shared_workers{w}"] = round(rate / ref, 2)
    result = {
        "benchmark": "batch_transfer",
        "settings": {
            "batch": list(SHAPE),
            "dtype": "uint8",
            "batches": args.batches,
            "rounds": args.rounds,
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
        },  # fmt: skip
        "reference": "new_shared: a new shared-memory segment per batch (torch's default_collate does this)",
        "rates": rates,
        "ratios": ratios,
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
