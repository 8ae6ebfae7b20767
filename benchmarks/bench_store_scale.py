"""The sequence store at scale: training-style reads from gaitforge's store vs the field's one pickle per sequence.

The same synthetic sequences (uint8 64×44 silhouettes, 60–120 frames, every sequence distinct in bytes; frames
drawn from a small pool rendered by ``gaitforge.synth``) are stored in several layouts (all at once when they fit
in ``--disk-budget-gib``, and then the rounds alternate between readers; else one layout after the other):

* ``pickle``: the field's layout ``root/<subject>/<type>/<view>/<view>.pkl``; a reader unpickles each whole
  sequence, and the batch's 30 frames per sequence are then sampled and stacked (in collate, as the field's loaders
  do);
* ``store`` / ``store_lz4`` / ``store_lz4hc``: a gaitforge store (frames raw, or each frame an LZ4 / LZ4-HC block)
  written by 2 worker processes into part stores merged at the end; a reader samples the frames from the index's
  lengths first and reads only those 30.

Every reader picks frames the same way (``FrameSampler.sample_keyed``: the whole batch at once, each sequence from
its ``(seed, slot)`` key, as ``GaitDataset`` does), so the readers give the same frames.

A reader is a layout and a way to read it:

* ``pickle``: the field's loader, one file per item;
* ``pickle_ra``: the same, with the read-ahead the store readers get (each file of the coming batches announced to
  the kernel, ``posix_fadvise WILLNEED``): what that trick alone gives the field's layout;
* ``store``: ``SequenceStore.frames``, one item at a time;
* ``<layout>_batch``: ``SequenceStore.read_batch``, a whole batch per call (its byte ranges announced together);
* ``<layout>_ra``: ``read_batch``, and the batches after the current one announced ahead
  (:class:`gaitforge.data.ReadAhead`, ``--read-ahead`` batches), as ``make_train_loader`` does;
* ``<layout>_loader``: what ``make_train_loader`` builds (``GaitDataset`` without transforms, ``collate_samples``
  with a ``SharedBatchPool``, ``ReadAhead``), batches of ``Batch`` objects.

Each reader runs in its own subprocess (so that peak memory does not mix) through a DataLoader, in-process
(``workers 0``) and with 2 workers, over the same random (index, seed) order as a training sampler draws
(``fixed_unordered``, 30 frames, batches of ``--batch``, default 128: P×K = 32×4 as the Gait3D and GREW configs
train): first with every layout's files evicted from the page cache (``cold``), then the same batches again
(``warm``). Every reader builds its batch tensor the same way: in a worker in shared memory, from a
:class:`gaitforge.data.batch_pool.SharedBatchPool` (``--no-pool``: a new segment per batch, as torch's
``default_collate``); labels travel as a small numpy array. Peak RSS is ``VmHWM`` of the reading process (and, with
workers, of the largest worker). Sweeps read whole epochs (every sequence once, random order), twice, from evicted
files. The index is also measured alone at 1M records (sparse data files; nothing read but the index), against the
schema-1 JSON index at 100k records.

Prints one JSON object and writes it to ``--json``. Data lives under ``--root`` and is deleted at the end unless
``--keep`` (which keeps every layout at once). Usage::

    nice -n 10 python benchmarks/bench_store_scale.py --json out.json [--scales 10000 100000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

TYPES = ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "bg-02", "cl-01", "cl-02")
VIEWS = tuple(f"{18 * k:03d}" for k in range(10))
POOL = 240  # rendered frames
FRAME_BYTES = 64 * 44


# -- synthetic content ---------------------------------------------------------------------------------------


def frame_pool(seed: int = 0) -> np.ndarray:
    """uint8 ``[POOL, 64, 44]`` silhouettes rendered by the synthetic world, cut 64 → 44 wide as at load time."""
    from gaitforge.synth import get_preset
    from gaitforge.synth.world import generate_sequence

    cfg = get_preset("tiny", seed=seed)
    frames, k = [], 0
    while sum(len(f) for f in frames) < POOL:
        s, v = divmod(k, len(cfg.views))
        frames.append(generate_sequence(cfg, s % len(cfg.subjects), "nm-01", cfg.views[v]).modalities["sil"])
        k += 1
    return np.ascontiguousarray(np.concatenate(frames)[:POOL, :, 10:54])


def labels_of(n: int) -> tuple[str, str, str]:
    """Sequence ``n``: 100 per subject (10 types × 10 views), as CASIA-B lays them out."""
    return f"{n // 100:05d}", TYPES[n // 10 % 10], VIEWS[n % 10]


def sequence(pool: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sequence ``n``: uint8 ``[T, 64, 44]``, T in 60..120, a walk through the pool; its number is stamped into the
    first row of every frame so no two sequences are equal in bytes."""
    rng = np.random.default_rng([seed, n])
    t = int(rng.integers(60, 121))
    arr = pool[(int(rng.integers(POOL)) + np.arange(t)) % POOL]  # a copy
    arr[:, 0, :8] = np.frombuffer(np.uint64(n).tobytes(), np.uint8)
    return arr


def pickle_path(root: Path, n: int) -> Path:
    subject, typ, view = labels_of(n)
    return root / subject / typ / view / f"{view}.pkl"


def _write_store_part(args: tuple[str, int, int, int, int, str]) -> int:
    from gaitforge.data.sequence import Sequence
    from gaitforge.data.store_merge import part_path
    from gaitforge.data.store_writer import StoreWriter

    root, k, parts, count, seed, codec = args
    pool = frame_pool(seed)
    with StoreWriter(part_path(root, k), append=True, codec=codec) as w:
        for n in range(k * count // parts, (k + 1) * count // parts):  # part k: a block, so store row n = sequence n
            w.add(Sequence(*labels_of(n), {"sil": sequence(pool, n, seed)}))
    return k


def _write_pickles(args: tuple[str, int, int, int, int, str]) -> int:
    root, k, parts, count, seed, _ = args
    pool = frame_pool(seed)
    for n in range(k, count, parts):
        path = pickle_path(Path(root), n)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(sequence(pool, n, seed), f)  # what the field's pretreatment writes
    return k


def build(kind: str, root: Path, count: int, seed: int, workers: int = 2) -> dict:
    """Write ``count`` sequences in layout ``kind`` with ``workers`` processes. Returns seconds and bytes."""
    import multiprocessing

    from gaitforge.data.store_merge import merge_parts

    t0 = time.perf_counter()
    job = _write_pickles if kind == "pickle" else _write_store_part
    codec = CODEC_OF.get(kind, "raw")
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(job, [(str(root), k, workers, count, seed, codec) for k in range(workers)])
    t_merge = time.perf_counter()
    if kind != "pickle":
        merge_parts(root)
    os.sync()  # written pages must be clean before they can be evicted for the cold pass
    out = {"seconds": round(time.perf_counter() - t0, 1), "bytes": _du(root)}
    if kind != "pickle":
        out["merge_seconds"] = round(time.perf_counter() - t_merge, 2)
    return out


#: layout → the store codec it is written with
CODEC_OF = {"store": "raw", "store_lz4": "lz4", "store_lz4hc": "lz4hc"}
#: layout → bytes on disk over the raw layout (estimates, for the disk budget)
SIZE_OF = {"store_lz4": 0.35, "store_lz4hc": 0.25}


def kind_of(reader: str) -> str:
    """The layout a reader reads: ``pickle``, ``store``, ``store_lz4`` or ``store_lz4hc`` (a reader is a layout
    and a mode: ``_batch`` reads a batch per call, ``_ra`` does too and announces the batches ahead)."""
    return reader.removesuffix("_batch").removesuffix("_ra").removesuffix("_loader")


def _du(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# -- readers (run in a subprocess each) ----------------------------------------------------------------------


def _status_kib(field: str, pid: int | str = "self") -> int:
    """A ``VmRSS`` / ``VmHWM`` (peak) figure of a process, KiB. ``VmHWM`` belongs to the address space, so unlike
    ``ru_maxrss`` it does not carry over the peak of the process that forked and exec'd this one."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _evict_layouts(root: Path) -> None:
    """Drop every layout of this scale from the page cache (``root``'s siblings of the same count), not only the
    one about to be read: each cold pass then starts from the same page cache, not one still full of the previous
    reader's files (whose eviction the next reader would otherwise pay for)."""
    count = root.name.rsplit("-", 1)[1]
    for layout in sorted(root.parent.glob(f"*-{count}")):
        _evict(sorted(layout.rglob("*.pkl")) if layout.name.startswith("pickle") else sorted(layout.glob("*.bin")))


def _evict(paths: list[Path]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_main(args: argparse.Namespace) -> None:
    """One reader: cold pass then warm pass; prints a JSON line."""
    import torch
    from torch.utils.data import DataLoader, Dataset, get_worker_info

    from gaitforge.data import FrameSampler, GaitDataset, ReadAhead, SampleKey, SequenceStore, collate_samples
    from gaitforge.data.batch_pool import SharedBatchPool, shared_buffer

    torch.set_num_threads(1)
    root, count, frames, workers = Path(args.root), args.count, args.frames, args.workers[0]
    sampler = FrameSampler("fixed_unordered", num=frames)

    class PickleReader(Dataset):
        """The field's way: unpickle each whole sequence; the batch's frames are then sampled (in collate, as the
        field's loaders do)."""

        def __len__(self) -> int:
            return count

        def __getitem__(self, key: tuple[int, int, int]) -> tuple[np.ndarray, int, int, int]:
            n, seed, slot = key
            with open(pickle_path(root, n), "rb") as f:
                seq = pickle.load(f)  # files this benchmark wrote itself; the field's loaders do the same
            return seq, n // 100, seed, slot

        def will_need(self, keys: list[tuple[int, int, int]]) -> None:
            """The read-ahead the store does, done to the pickles: each whole file (its size is all one knows)."""
            for n, _, _ in keys:
                fd = os.open(pickle_path(root, n), os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                finally:
                    os.close(fd)

    class StoreReader(Dataset):
        """gaitforge: read only the sampled frames (picked from the index's lengths before reading)."""

        def __init__(self, batched: bool, announced: bool) -> None:
            self.store, self.announced = SequenceStore(root), announced
            self.lengths = self.store.lengths()
            subjects = self.store.labels("subject")
            self.labels = np.array([int(s) for s in subjects], np.int64)
            self.batched = batched

        def __len__(self) -> int:
            return count

        def __getitems__(self, keys: list[tuple[int, int, int]]) -> object:
            rows = [n for n, _, _ in keys]
            idx = sampler.sample_keyed(self.lengths[rows], [s for _, s, _ in keys], [k for _, _, k in keys])
            x, slot = _batch_tensor((len(rows), frames, 64, 44))
            if self.batched:  # the _ra readers announced the batch already (ReadAhead): no second announcement
                self.store.read_batch(rows, "sil", idx, prefetch=not self.announced, out=x.numpy())
            else:
                for b, n in enumerate(rows):
                    x[b] = torch.from_numpy(self.store.frames(n, "sil", idx[b]))
            return _Ready(x, self.labels[rows], slot)

        def will_need(self, keys: list[tuple[int, int, int]]) -> None:
            self.store.will_need([n for n, _, _ in keys], "sil")

    pool = SharedBatchPool(workers, slots=6) if args.pool else None

    def _batch_tensor(shape: tuple[int, ...]) -> tuple[torch.Tensor, int | None]:
        """A uint8 batch tensor for every reader alike: in a worker, shared memory from the start (as torch's
        ``default_collate`` makes it), so that handing it to the main process copies nothing; with ``--pool``
        one of the worker's reusable buffers (gaitforge's loaders do this)."""
        if pool is not None:
            storage, slot = pool.take(int(np.prod(shape)))
        else:
            storage, slot = (shared_buffer if get_worker_info() else torch.UntypedStorage)(int(np.prod(shape))), None
        return torch.empty(0, dtype=torch.uint8).set_(storage, 0, shape), slot

    def collate(items: object) -> object:
        if isinstance(items, _Ready):
            x, y, slot = items.x, items.y, items.slot
        else:  # whole sequences: the batch's frames sampled here, as the field's collate does
            seqs = [seq for seq, _, _, _ in items]
            idx = sampler.sample_keyed([len(q) for q in seqs], [s for _, _, s, _ in items], [k for *_, k in items])
            x, slot = _batch_tensor((len(items), frames, *seqs[0].shape[1:]))
            dest = x.numpy()
            for b, seq in enumerate(seqs):
                np.take(seq, idx[b], axis=0, out=dest[b])
            y = np.array([y for _, y, _, _ in items])
        return (x, y) if pool is None else pool.lease((x, y), slot, [x])

    rng = np.random.default_rng(args.seed)
    if args.sweep:  # every sequence once, in a random order (an epoch), twice
        picks = rng.permutation(count)[: count // args.batch * args.batch].reshape(-1, args.batch)
    else:
        picks = rng.integers(0, count, (args.samples // args.batch, args.batch))
    batches = [[(int(n), b, j) for j, n in enumerate(row)] for b, row in enumerate(picks)]  # (sequence, seed, slot)
    t0 = time.perf_counter()
    if args.reader.endswith("_loader"):  # what make_train_loader builds: GaitDataset, collate_samples, ReadAhead
        ds = GaitDataset(SequenceStore(root), frame_sampler=sampler, transform=None, announced=True)
        batches = [[SampleKey(n, seed, slot) for n, seed, slot in row] for row in batches]
        collate = partial(collate_samples, pool=pool)
    elif kind_of(args.reader) == "pickle":
        ds = PickleReader()
    else:
        ds = StoreReader(args.reader.endswith(("_batch", "_ra")), args.reader.endswith("_ra"))
    ahead = args.reader.endswith(("_ra", "_loader"))
    order = ReadAhead(batches, ds.will_need, args.read_ahead) if ahead else batches
    out: dict = {"setup_seconds": round(time.perf_counter() - t0, 3), "rss_after_setup_mb": _status_kib("VmRSS") >> 10}
    worker_peak = 0
    for phase in ("cold", "warm") if not args.sweep else ("epoch1", "epoch2"):  # the parent evicted the files
        loader = DataLoader(ds, batch_sampler=order, collate_fn=collate, num_workers=workers)
        it = iter(loader)
        x = _frames(next(it))  # excluded: worker start-up
        t0 = time.perf_counter()
        for k, _ in enumerate(it, start=2):
            if workers and k == len(batches) - 1:  # workers still alive: their peaks
                pids = [w.pid for w in it._workers]  # noqa: SLF001 - a benchmark
                worker_peak = max([worker_peak] + [_status_kib("VmHWM", p) for p in pids])
        dt = time.perf_counter() - t0
        assert x.shape == (args.batch, frames, 64, 44) and x.dtype == torch.uint8
        out[phase] = {"sequences_per_s": round((len(batches) - 1) * args.batch / dt, 1), "seconds": round(dt, 2)}
        del it, loader
    out["peak_rss_mb"] = _status_kib("VmHWM") >> 10
    if workers:
        out["peak_rss_worker_mb"] = worker_peak >> 10
    print(json.dumps(out))


def _frames(batch: object) -> object:
    """The frame tensor of a batch: ``(x, y)`` from the benchmark's collate, or a gaitforge ``Batch``."""
    return batch.inputs["sil"] if hasattr(batch, "inputs") else batch[0]


class _Ready:
    """A batch already assembled by the dataset (``__getitems__``), handed through collate."""

    def __init__(self, x: object, y: object, slot: int | None) -> None:
        self.x, self.y, self.slot = x, y, slot


def run_reader(
    reader: str, root: Path, count: int, workers: int, args: argparse.Namespace, sweep: bool = False
) -> dict:
    cmd = [sys.executable, __file__, "--_read", reader, "--root", str(root), "--count", str(count),
           "--workers", str(workers), "--samples", str(args.samples), "--batch", str(args.batch),
           "--frames", str(args.frames), "--seed", str(args.seed), "--read-ahead", str(args.read_ahead)]  # fmt: skip
    cmd += (["--_sweep"] if sweep else []) + ([] if args.pool else ["--no-pool"])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    _evict_layouts(root)  # cold pass
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"reader {reader} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the index alone at 1M records ----------------------------------------------------------------------------


def build_index_only(root: Path, count: int, schema: int, seed: int) -> dict:
    """A store of ``count`` realistic records (lengths 60–120, 2 GiB shards, small metadata) whose data files are
    sparse: the index is real, the data is never read."""
    from gaitforge.data.store_columns import IndexBuilder
    from gaitforge.data.store_format import Layout, checksum
    from gaitforge.data.store_writer import publish_index, write_json_atomic

    t0 = time.perf_counter()
    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(60, 121, count).astype(np.int32)
    nbytes = lengths.astype(np.int64) * FRAME_BYTES
    shard = np.int64(2 << 30)
    start = np.concatenate([[0], np.cumsum(-(-nbytes // 64) * 64)[:-1]])
    file_code, offset = (start // shard).astype(np.int32), start % shard
    sizes = np.zeros(int(file_code.max()) + 1, np.int64)
    np.maximum.at(sizes, file_code, offset + nbytes)
    names = [f"sil.{k:05d}.bin" for k in range(len(sizes))]
    for name, size in zip(names, sizes.tolist()):
        with open(root / name, "wb") as f:
            f.truncate(size)  # sparse: no disk used
    meta_lines = [json.dumps({"source": "bench", "n": n}, separators=(",", ":")).encode() for n in range(count)]
    if schema == 1:
        seqs = []
        for n in range(count):
            subject, typ, view = labels_of(n)
            shape = [int(lengths[n]), 64, 44]
            seqs.append({"subject": subject, "condition": typ, "view": view, "length": shape[0],
                         "meta": {"source": "bench", "n": n}, "modalities": {"sil": {
                             "file": names[file_code[n]], "offset": int(offset[n]), "nbytes": int(nbytes[n]),
                             "dtype": "|u1", "shape": shape, "checksum": checksum(meta_lines[n])}}})  # fmt: skip
        index = {"format": "gaitforge-sequence-store", "schema_version": 1, "modalities": ["sil"],
                 "files": dict(zip(names, sizes.tolist())), "sequences": seqs}  # fmt: skip
        write_json_atomic(root / "index.json", index)
        return {"seconds": round(time.perf_counter() - t0, 1), "index_bytes": (root / "index.json").stat().st_size}
    meta_offsets = np.concatenate([[0], np.cumsum([len(x) + 1 for x in meta_lines])[:-1]])
    (root / "meta.00000.jsonl").write_bytes(b"".join(x + b"\n" for x in meta_lines))
    builder = IndexBuilder()
    fmap = np.array([builder.file_code(n, s) for n, s in zip(names, sizes.tolist())], np.int32)
    meta_code = builder.file_code("meta.00000.jsonl", (root / "meta.00000.jsonl").stat().st_size)
    n = np.arange(count)
    cols = {
        "subject": (n // 100).astype(np.int32), "condition": (n // 10 % 10).astype(np.int32),
        "view": (n % 10).astype(np.int32), "length": lengths,
        "meta_file": np.full(count, len(names), np.int32), "meta_offset": meta_offsets.astype(np.int64),
        "meta_nbytes": np.array([len(x) for x in meta_lines], np.int32),
        "sil.file": file_code, "sil.offset": offset, "sil.layout": np.zeros(count, np.int32),
        "sil.checksum": rng.integers(0, 256, (count, 16), dtype=np.uint8),
    }  # fmt: skip
    tables = {"subject": [f"{s:05d}" for s in range(-(-count // 100))], "condition": list(TYPES), "view": list(VIEWS)}
    layouts = {"sil": [Layout(np.dtype("|u1"), (64, 44))]}
    builder.extend(cols, tables, layouts, np.append(fmap, meta_code).astype(np.int32))
    publish_index(root, builder, 1)
    idx_file = next(root.glob("index.*.idx"))
    return {"seconds": round(time.perf_counter() - t0, 1), "index_bytes": idx_file.stat().st_size
            + (root / "index.json").stat().st_size}  # fmt: skip


def open_main(args: argparse.Namespace) -> None:
    """Open a store and time the first use of each part of the index; prints a JSON line."""
    from gaitforge.data import SequenceStore

    root, count = Path(args.root), args.count
    timings: dict = {}

    def timed(name: str, fn):  # noqa: ANN001, ANN202
        t0 = time.perf_counter()
        value = fn()
        timings[name] = round(1000 * (time.perf_counter() - t0), 2)
        return value

    store = timed("open_ms", lambda: SequenceStore(root))
    wanted = [labels_of(n)[0] for n in range(0, count, count // 10)]
    sel = timed("first_select_subjects_ms", lambda: store.select(subjects=wanted))
    assert len(sel) == 100 * len(wanted), len(sel)
    timed("select_views_and_conditions_ms", lambda: store.select(conditions="nm-01", views=["000", "090"]))
    timed("first_record_ms", lambda: store.record(count // 2))
    timed("first_frames_ms", lambda: store.frames(count // 3, "sil", np.arange(30)))  # sparse file: zeros
    key = "/".join(labels_of(count - 7))
    assert timed("first_index_of_ms", lambda: store.index_of(key)) == count - 7
    keys = ["/".join(labels_of(n)) for n in range(0, count, count // 1000)]
    t0 = time.perf_counter()
    for k in keys:
        store.index_of(k)
    timings["index_of_us"] = round(1e6 * (time.perf_counter() - t0) / len(keys), 1)
    t0 = time.perf_counter()
    for n in range(0, count, count // 1000):
        store.record(n)
    timings["record_us"] = round(1e6 * (time.perf_counter() - t0) / len(range(0, count, count // 1000)), 1)
    if hasattr(store._index, "check"):
        timed("check_whole_index_ms", store._index.check)
    timings["peak_rss_mb"] = _status_kib("VmHWM") >> 10
    print(json.dumps(timings))


def run_open(root: Path, count: int, imports_only: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--_open", "--root", str(root), "--count", str(count)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"index timing failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def index_benchmark(root: Path, records: int, reference_records: int, seed: int) -> dict:
    out: dict = {}
    for schema, count in ((2, records), (2, reference_records), (1, reference_records)):
        where = root / f"index-only-v{schema}-{count}"
        shutil.rmtree(where, ignore_errors=True)
        built = build_index_only(where, count, schema, seed)
        out[f"schema{schema}_{count}"] = {"build": built, **run_open(where, count)}
        shutil.rmtree(where)
    return out


# -- main -------------------------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def _median_runs(runs: list[dict]) -> dict:
    """Median rates and the largest peak RSS over rounds, with every round's rates."""
    out = {k: v for k, v in runs[0].items() if k not in ("cold", "warm")}
    for phase in ("cold", "warm"):
        rates = [r[phase]["sequences_per_s"] for r in runs]
        out[phase] = {"sequences_per_s": round(float(np.median(rates)), 1), "rounds": rates}
    for key in ("peak_rss_mb", "peak_rss_worker_mb"):
        if key in runs[0]:
            out[key] = max(r[key] for r in runs)
    return out


def measure_scale(count: int, args: argparse.Namespace) -> dict:
    """Build both layouts (at once when the disk budget allows, then rounds alternate between readers; else one
    after the other), run every reader ``args.rounds`` times, delete the data unless ``--keep``."""
    res: dict = {"build": {}}
    kinds = [k for k in ("store", "store_lz4", "store_lz4hc", "pickle") if any(kind_of(r) == k for r in args.readers)]
    size = {k: count * 90 * FRAME_BYTES * SIZE_OF.get(k, 1.0) for k in kinds}  # estimates
    both = args.keep or sum(size.values()) <= args.disk_budget_gib * 2**30
    groups = [kinds] if both else [[k] for k in kinds]
    res["layouts_on_disk_together"] = both
    for group in groups:
        roots = {kind: args.root / f"{kind}-{count}" for kind in group}
        for kind, where in roots.items():
            shutil.rmtree(where, ignore_errors=True)
            res["build"][kind] = build(kind, where, count, args.seed)
            print(f"# built {kind} x{count}: {res['build'][kind]}", file=sys.stderr, flush=True)
        runs: dict[str, list[dict]] = {}
        for _ in range(args.rounds):
            for reader in args.readers:
                if kind_of(reader) not in roots:
                    continue
                for w in args.workers:
                    r = run_reader(reader, roots[kind_of(reader)], count, w, args)
                    runs.setdefault(f"{reader}_workers{w}", []).append(r)
                    print(f"# {reader} x{count} workers={w}: {r}", file=sys.stderr, flush=True)
        res.update({key: _median_runs(r) for key, r in runs.items()})
        if count in args.sweep_scales:  # whole epochs: does the layout stay in the page cache?
            for reader in args.sweep_readers:
                if kind_of(reader) in roots:
                    r = run_reader(reader, roots[kind_of(reader)], count, args.sweep_workers, args, sweep=True)
                    res[f"sweep_{reader}_workers{args.sweep_workers}"] = r
                    print(f"# sweep {reader} x{count}: {r}", file=sys.stderr, flush=True)
        if not args.keep:
            for where in roots.values():
                shutil.rmtree(where)
    return res


#: the readers run by default
READERS = (
    "pickle",
    "pickle_ra",
    "store",
    "store_batch",
    "store_ra",
    "store_lz4_batch",
    "store_lz4_ra",
    "store_lz4hc_ra",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--samples", type=int, default=6400, help="sequences read per pass")
    ap.add_argument("--batch", type=int, default=128, help="sequences per batch (P×K 32×4, as Gait3D and GREW train)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--rounds", type=int, default=2, help="runs of every reader; medians are reported")
    ap.add_argument("--disk-budget-gib", type=float, default=30.0, help="both layouts at once only within this")
    ap.add_argument("--readers", nargs="+", default=list(READERS))
    ap.add_argument("--read-ahead", type=int, default=2, help="batches announced ahead by the _ra readers")
    ap.add_argument("--pool", action=argparse.BooleanOptionalAction, default=True,
                    help="workers write batches into reusable shared buffers (every reader alike)")  # fmt: skip
    ap.add_argument("--sweep-scales", type=int, nargs="*", default=[100_000], help="scales with whole-epoch reads")
    ap.add_argument("--sweep-readers", nargs="+", default=["pickle", "pickle_ra", "store_lz4_ra", "store_lz4hc_ra"])
    ap.add_argument("--sweep-workers", type=int, default=2)
    ap.add_argument("--index-records", type=int, default=1_000_000)
    ap.add_argument("--index-reference-records", type=int, default=100_000)
    ap.add_argument("--root", type=Path, default=Path("/work/tmp_bench"))
    ap.add_argument("--json", type=Path, help="also write the JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the generated data (both layouts: twice the disk)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--_read", dest="read", help=argparse.SUPPRESS)
    ap.add_argument("--_open", dest="open", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--reader", help=argparse.SUPPRESS)
    ap.add_argument("--_sweep", dest="sweep", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.open:
        return open_main(args)
    if args.read:
        args.reader, args.root = args.read, Path(args.root)
        return read_main(args)

    args.root.mkdir(parents=True, exist_ok=True)
    need = min(max(args.scales) * 90 * FRAME_BYTES * 2, args.disk_budget_gib * 2**30) * 1.1
    if args.keep:
        need = max(args.scales) * 90 * FRAME_BYTES * 2 * 1.1
    free = shutil.disk_usage(args.root).free
    if free < need:
        raise SystemExit(f"{args.root}: {free / 2**30:.1f} GiB free; this run needs about {need / 2**30:.1f} GiB")
    result: dict = {
        "benchmark": "store_scale",
        "settings": {
            "sequences": args.scales,
            "frames_per_sequence": "60..120 (uniform)",
            "frame": "uint8 64x44",
            "frame_sampling": f"fixed_unordered, {args.frames} frames",
            "batch": args.batch,
            "samples_per_pass": args.samples,
            "rounds": args.rounds,
            "order": "uniform random sequences (with replacement), seeded",
            "loader": "torch DataLoader; workers 0 = in-process",
            "workers": args.workers,
            "cold": "every layout's files (not only the reader's) evicted from the page cache (fadvise DONTNEED) "
            "before the first pass; directory entries and inodes stay cached",
            "warm": "the same batches read again",
            "sweep": "whole epochs (every sequence once, random order) twice, files evicted before the first; "
            "a layout larger than the page cache is read from disk again in the second",
            "store_lz4": "the store written with codec lz4 (each frame an LZ4 block)",
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "ram_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "root": str(args.root),
        },  # fmt: skip
        "scales": {},
        "reference": "one pickle per sequence, fully unpickled per item (the field's layout and loader)",
    }
    ratios: dict = {}
    for count in args.scales:
        result["scales"][str(count)] = res = measure_scale(count, args)
        for reader in [r for r in args.readers if r != "pickle"]:
            for w in args.workers:
                a, b = res.get(f"{reader}_workers{w}"), res.get(f"pickle_workers{w}")
                if a and b:
                    for phase in ("cold", "warm"):
                        ratios[f"{count}_{reader}_over_pickle_{phase}_workers{w}"] = _ratio(
                            a[phase]["sequences_per_s"], b[phase]["sequences_per_s"]
                        )
                    ratios[f"{count}_{reader}_peak_rss_over_pickle_workers{w}"] = _ratio(
                        a["peak_rss_mb"], b["peak_rss_mb"]
                    )
        for key in [k for k in res if k.startswith("sweep_") and "pickle" not in k]:
            ref = res.get(f"sweep_pickle_workers{args.sweep_workers}")
            if ref:
                for phase in ("epoch1", "epoch2"):
                    ratios[f"{count}_{key}_over_pickle_{phase}"] = _ratio(
                        res[key][phase]["sequences_per_s"], ref[phase]["sequences_per_s"]
                    )
    if len(args.scales) > 1:  # flat memory: peak RSS at the largest scale over the smallest
        lo, hi = (result["scales"][str(c)] for c in (min(args.scales), max(args.scales)))
        for key in hi:
            if isinstance(hi[key], dict) and "peak_rss_mb" in hi[key] and key in lo:
                ratios[f"peak_rss_{max(args.scales)}_over_{min(args.scales)}_{key}"] = _ratio(
                    hi[key]["peak_rss_mb"], lo[key]["peak_rss_mb"]
                )
    result["ratios"] = ratios
    if args.index_records:
        result["index_only"] = index_benchmark(args.root, args.index_records, args.index_reference_records, args.seed)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
