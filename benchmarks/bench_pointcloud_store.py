"""Point clouds: the store's ragged ``points`` modality against one pickle per sequence (issue 21).

SUSTech1K ships each sequence's LiDAR frames as one pickle: a list of float64 ``[N_t, 3]`` arrays
(``<NN>-<view>-LiDAR-PCDs.pkl``; :mod:`gaitforge.io.sustech1k`). Training reads a few frames of each sequence;
with pickles the whole list is unpickled first. This benchmark writes the same synthetic sequences both ways and
reads them the way training does.

Data (synthetic, SUSTech1K-like sizes): ``--sequences`` sequences of ``--frames-min..--frames-max`` frames, each frame
``--points-min..--points-max`` points (uniform), coordinates in metres rounded to the millimetre (a LiDAR's range
resolution). Layouts:

* ``pickle``: one pickle per sequence, a list of float64 ``[N_t, 3]`` arrays, as released; read with
  :func:`gaitforge.io.safe_pickle.load_numpy_pickle_list` (gaitforge never calls ``pickle.load``; the restricted
  unpickler is the C unpickler with a lookup per global, a few per array), then the sampled frames taken;
* ``store_raw`` / ``store_lz4``: the store's ragged float32 ``points`` (frame tables, raw or per-frame LZ4), read
  with :meth:`SequenceStore.frames` (only the sampled frames' bytes), ``verify_reads`` on (the default: each array
  hashed once per process at its first read);
* ``store_lz4_unchecked``: as ``store_lz4`` with ``verify_reads=False``.

Reads: every sequence once per pass, in a seeded random order, ``--sampled`` frames each (sorted random picks,
the same for every layout: the sum of every frame read is compared across layouts). Each measurement runs in a
fresh process (its peak RSS is that reader's), ``cold`` after evicting every layout's files from the page cache
(``posix_fadvise DONTNEED``), then ``warm`` right after. Rounds interleave the layouts (the order rotates every round)
so that all of them see the same machine load; figures are medians over rounds. Peak RSS is also measured after 1
and after ``--long-passes`` warm passes (flat memory: equal peaks); that long run's rate is reported too (a store
reader checks each array once per process, so its later passes cost no hashing, as in later training epochs).

Usage: ``python benchmarks/bench_pointcloud_store.py --json benchmarks/results/pointcloud_store.json``
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

READERS = ("pickle", "store_raw", "store_lz4", "store_lz4_unchecked")


def _sequence(i: int, args: argparse.Namespace) -> list[np.ndarray]:
    rng = np.random.default_rng([args.seed, i])
    t = int(rng.integers(args.frames_min, args.frames_max + 1))
    out = []
    for _ in range(t):
        n = int(rng.integers(args.points_min, args.points_max + 1))
        body = rng.normal(0, [0.15, 0.25, 0.45], (n, 3)) + [float(rng.uniform(4, 20)), 0.0, 0.9]
        out.append(np.round(body, 3))  # float64, millimetre resolution
    return out


def build(args: argparse.Namespace, work: Path) -> dict:
    """Write every layout once (reused when present)."""
    from gaitforge.data.ragged import RaggedFrames
    from gaitforge.data.sequence import Sequence
    from gaitforge.data.store import StoreWriter

    done = work / "built.json"
    if done.exists():
        return json.loads(done.read_text())
    (work / "pickle").mkdir(parents=True, exist_ok=True)
    frames = points = 0
    writers = {
        "store_raw": StoreWriter(work / "store_raw", overwrite=True),
        "store_lz4": StoreWriter(work / "store_lz4", overwrite=True, codec={"points": "lz4"}),
    }
    t0 = time.perf_counter()
    for i in range(args.sequences):
        seq = _sequence(i, args)
        frames += len(seq)
        points += sum(len(f) for f in seq)
        with open(work / "pickle" / f"{i:06d}.pkl", "wb") as f:
            pickle.dump(seq, f, protocol=4)
        for w in writers.values():
            w.add(Sequence(f"{i:06d}", "00-nm", "000", {"points": RaggedFrames.from_frames(seq, np.float32)}))
    for w in writers.values():
        w.close()
    info = {"frames": frames, "points": points, "write_s": round(time.perf_counter() - t0, 1)}
    done.write_text(json.dumps(info))
    return info


def _files(work: Path, layout: str) -> list[Path]:
    return [p for p in (work / layout).iterdir() if p.is_file()]


def _evict(work: Path) -> None:
    for layout in ("pickle", "store_raw", "store_lz4"):
        for p in _files(work, layout):
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _picks(args: argparse.Namespace, rng: np.random.Generator, length: int) -> np.ndarray:
    replace = length < args.sampled
    return np.sort(rng.choice(length, args.sampled, replace=replace))


def child(args: argparse.Namespace) -> None:
    """One measurement in this fresh process; prints one JSON line."""
    work, reader = Path(args.work), args.reader
    lengths = json.loads((work / "lengths.json").read_text())
    if args.cold:
        _evict(work)
    if reader == "pickle":
        from gaitforge.io.safe_pickle import load_numpy_pickle_list

        def read(i: int, idx: np.ndarray) -> float:
            seq = load_numpy_pickle_list(work / "pickle" / f"{i:06d}.pkl")
            return float(sum(seq[k].astype(np.float32).sum(dtype=np.float64) for k in idx.tolist()))
    else:
        from gaitforge.data.store import SequenceStore

        layout = "store_lz4" if reader.startswith("store_lz4") else "store_raw"
        store = SequenceStore(work / layout, verify_reads=not reader.endswith("unchecked"))

        def read(i: int, idx: np.ndarray) -> float:
            got = store.frames(i, "points", idx)
            return float(got.values.sum(dtype=np.float64))

    total, n = 0.0, 0
    t0 = time.perf_counter()
    for p in range(args.passes):
        rng = np.random.default_rng([args.seed, 1000 + p])
        for i in rng.permutation(len(lengths)).tolist():
            total += read(i, _picks(args, rng, lengths[i]))
            n += 1
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"sequences": n, "seconds": dt, "seq_per_s": n / dt, "checksum": total, "peak_rss_kib": rss}))


def _run(args: argparse.Namespace, reader: str, cold: bool, passes: int) -> dict:
    cmd = [
        sys.executable, __file__, "--child", "--work", str(args.work), "--reader", reader, "--passes", str(passes),
        "--sampled", str(args.sampled), "--seed", str(args.seed), *(["--cold"] if cold else []),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def _load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sequences", type=int, default=300)
    ap.add_argument("--frames-min", type=int, default=40)
    ap.add_argument("--frames-max", type=int, default=100)
    ap.add_argument("--points-min", type=int, default=200)
    ap.add_argument("--points-max", type=int, default=2000)
    ap.add_argument("--sampled", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--long-passes", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default=None, help="data folder (default: a temp folder, removed at the end)")
    ap.add_argument("--json", default=None, help="write the results here too")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--reader", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--passes", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_points_")
        args.work = tmp.name
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    built = build(args, work)
    from gaitforge.data.store import SequenceStore

    lengths = SequenceStore(work / "store_raw").lengths().tolist()
    (work / "lengths.json").write_text(json.dumps(lengths))
    sizes = {"pickle": _du(work / "pickle"), "store_raw": _du(work / "store_raw"), "store_lz4": _du(work / "store_lz4")}
    load_before = _load_avg()
    runs: dict[str, dict[str, list[dict]]] = {r: {"cold": [], "warm": []} for r in READERS}
    for rnd in range(args.rounds):
        order = READERS[rnd % len(READERS) :] + READERS[: rnd % len(READERS)]
        for reader in order:
            runs[reader]["cold"].append(_run(args, reader, True, 1))
            runs[reader]["warm"].append(_run(args, reader, False, 1))
        print(f"round {rnd + 1}/{args.rounds} done, load {_load_avg()}", file=sys.stderr)
    rss, multi = {}, {}
    for r in READERS:  # peak RSS after 1 and after --long-passes warm passes (flat: equal); the long run's rate
        one, many = _run(args, r, False, 1), _run(args, r, False, args.long_passes)
        rss[r] = {"passes_1": one["peak_rss_kib"], f"passes_{args.long_passes}": many["peak_rss_kib"]}
        multi[r] = many["seq_per_s"]
    sums = {r: runs[r]["warm"][0]["checksum"] for r in READERS}
    ref = sums["pickle"]
    same = all(abs(s - ref) <= 1e-6 * max(1.0, abs(ref)) for s in sums.values())
    results = {}
    for r in READERS:
        row = {}
        for state in ("cold", "warm"):
            rates = [x["seq_per_s"] for x in runs[r][state]]
            row[f"{state}_seq_per_s"] = round(statistics.median(rates), 1)
            row[f"{state}_seq_per_s_rounds"] = [round(x, 1) for x in rates]
        row[f"warm_{args.long_passes}_passes_seq_per_s"] = round(multi[r], 1)  # one run: checks amortised
        row["peak_rss_mib"] = {k: round(v / 1024, 1) for k, v in rss[r].items()}
        results[r] = row
    for r in READERS:
        for state in ("cold", "warm", f"warm_{args.long_passes}_passes"):
            results[r][f"{state}_vs_pickle"] = round(
                results[r][f"{state}_seq_per_s"] / results["pickle"][f"{state}_seq_per_s"], 2
            )
    layout_of = {"pickle": "pickle", "store_raw": "store_raw", "store_lz4": "store_lz4"}
    out = {
        "benchmark": "bench_pointcloud_store",
        "command": "python " + " ".join([Path(__file__).as_posix().split("/work/main/")[-1], *sys.argv[1:]]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_before": load_before,
            "load_avg_after": _load_avg(),
            "note": "shared 2-core VM, heavily loaded by other jobs during the run; layouts interleaved per round",
        },
        "data": {
            "sequences": args.sequences,
            "frames": built["frames"],
            "points": built["points"],
            "frames_per_sequence": [args.frames_min, args.frames_max],
            "points_per_frame": [args.points_min, args.points_max],
            "sampled_frames_per_sequence": args.sampled,
            "write_s_all_layouts": built["write_s"],
        },
        "bytes_on_disk": sizes,
        "bytes_per_frame": {k: round(v / built["frames"], 1) for k, v in sizes.items()},
        "bytes_per_point": {k: round(v / built["points"], 2) for k, v in sizes.items()},
        "size_vs_pickle": {k: round(v / sizes["pickle"], 3) for k, v in sizes.items()},
        "reads": results,
        "reader_layout": {r: layout_of.get(r, "store_lz4") for r in READERS},
        "same_frames_read": same,
        "rounds": args.rounds,
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
