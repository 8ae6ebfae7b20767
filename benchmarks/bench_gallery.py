"""Gallery search at scale: exact vs IVF vs HNSW on a clustered synthetic gallery, through the Gallery API.

Setting (defaults): 100,000 identities × 10 enrolled sequences = 1,000,000 vectors of dim 256 (float32, ``euc``),
each identity a random centre ``N(0, I)`` and each sequence that centre plus ``N(0, noise² I)`` noise (noise 0.5:
same-subject distances ≈ 11, nearest other identity ≈ 21). Queries are *held-out* samples (fresh noise) of random
enrolled identities. A real GaitBase embedding is 256 × 16 = 4096 floats; a million of those (16 GB) does not fit
the benchmark machine, so the vectors here are 256-d (a GaitBase-sized gallery scales search cost by 16×).

Measured per index kind (the gallery is enrolled once with ``exact``, then re-indexed from its SQLite catalog):

* ``enroll``: ``Gallery.enroll_many`` in transactions of 5,000 identities (SQLite rows + exact index), then the
  index saved once (``save_s``);
* ``build_s``: ``Gallery.reindex`` (read 1M vectors from SQLite, train, add, save the index atomically);
* ``open_s``: opening the gallery again (load the saved index, check the catalog for newer commits);
* ``index_bytes``: size of the saved FAISS index; ``rss_mb``: process RSS with that index loaded;
* ``search_p50_ms`` / ``search_p99_ms``: one query at a time on one thread, FAISS only (top-1);
* ``identify_p50_ms`` / ``identify_p99_ms``: one query at a time through ``Gallery.identify(k=5)``
  (FAISS + SQLite lookup of candidates + grouping by subject);
* ``batch_qps``: ``Gallery.identify_many`` over all queries at once (all ``--threads``);
* ``recall_at_1``: fraction of queries whose top-1 sequence equals the exact search's (the reference, measured
  in the same run); ``subject_top1``: fraction whose identified subject is the query's true identity.

Prints one JSON object (and writes it to ``--json``). ``--scale 0.01`` runs a 10,000-vector version in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from gaitforge.retrieval import Gallery


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile_ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(samples) * 1e3, q)), 3)


def make_centres(n_subjects: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n_subjects, dim), dtype=np.float32)


def enroll(gallery: Gallery, centres: np.ndarray, per_subject: int, noise: float, seed: int, chunk: int) -> float:
    """Enroll every identity's noisy samples in transactions of ``chunk`` subjects; returns seconds."""
    rng = np.random.default_rng(seed + 1)
    started = time.perf_counter()
    for s in range(0, len(centres), chunk):
        block = centres[s : s + chunk]  # [b, D]
        samples = block[:, None, :] + noise * rng.standard_normal(
            (len(block), per_subject, block.shape[1]), dtype=np.float32
        )
        names = [f"id{i:07d}" for i in range(s, s + len(block)) for _ in range(per_subject)]
        gallery.enroll_many(names, samples.reshape(-1, block.shape[1]))
    return time.perf_counter() - started


def bulk_enroll(path: Path, centres: np.ndarray, args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Create the gallery and enroll every identity; returns the enrolment figures and the vector count."""
    g = Gallery.create(path, args.dim, "euc", "exact")
    g.autosave = False  # bulk load: one index save at close instead of one per growth step
    enroll_s = enroll(g, centres, args.per_subject, args.noise, args.seed, chunk=5000)
    n = len(g)
    t = time.perf_counter()
    g.close()  # saves the exact index
    save_s = time.perf_counter() - t
    return {
        "seconds": round(enroll_s, 1),
        "save_s": round(save_s, 1),
        "vectors_per_s": round(n / enroll_s),
        "database_bytes": (path / "gallery.db").stat().st_size,
        "transactions": -(-len(centres) // 5000),
    }, n


def exact_top1(gallery: Gallery, queries: np.ndarray) -> np.ndarray:
    """Top-1 sequence ids by brute force over the gallery's stored vectors (the reference in ``--reuse`` runs)."""
    ids, vectors = gallery.embeddings()
    flat = faiss.IndexFlatL2(vectors.shape[1])
    flat.add(vectors)
    del vectors
    _, nearest = flat.search(queries, 1)
    return ids[nearest[:, 0]]


def measure(
    gallery: Gallery, queries: np.ndarray, truth: np.ndarray, n_single: int, k: int, threads: int
) -> dict[str, Any]:
    index = gallery._live.index  # the FAISS layer alone, for the search-only figures
    assert index is not None
    search, identify = [], []
    faiss.omp_set_num_threads(1)  # one query = one thread (a service answers concurrent requests side by side)
    for q in queries[:n_single]:
        t = time.perf_counter()
        index.search(q[None], 1)
        search.append(time.perf_counter() - t)
        t = time.perf_counter()
        gallery.identify(q, k=k)
        identify.append(time.perf_counter() - t)
    faiss.omp_set_num_threads(threads)
    t = time.perf_counter()
    results = gallery.identify_many(queries, k=k)
    batch_s = time.perf_counter() - t
    _, top1 = index.search(queries, 1)
    subject_top1 = np.mean([r.matches[0].subject == f"id{t:07d}" for r, t in zip(results, truth)])
    return {
        "search_p50_ms": percentile_ms(search, 50),
        "search_p99_ms": percentile_ms(search, 99),
        "identify_p50_ms": percentile_ms(identify, 50),
        "identify_p99_ms": percentile_ms(identify, 99),
        "batch_qps": round(len(queries) / batch_s, 1),
        "subject_top1": round(float(subject_top1), 4),
        "_top1": top1[:, 0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100,000 identities")
    parser.add_argument("--per-subject", type=int, default=10)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--queries", type=int, default=1000, help="held-out queries (batched throughput, recall)")
    parser.add_argument("--single", type=int, default=200, help="queries timed one at a time")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--nlist", type=int, default=1024)
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=40)
    parser.add_argument("--ef-search", type=int, default=256)
    parser.add_argument("--kinds", default="exact,ivf,hnsw")
    parser.add_argument("--threads", type=int, default=0, help="FAISS threads for builds and batches (0: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="where the gallery is written (default: a temporary folder, removed)")
    parser.add_argument("--reuse", action="store_true", help="measure the gallery already in --workdir as it is")
    parser.add_argument("--nprobe-sweep", default="", help="also measure IVF at these nprobe values, e.g. 8,32")
    parser.add_argument("--ef-search-sweep", default="", help="also measure HNSW at these ef_search values")
    parser.add_argument("--json", help="also write the JSON here")
    args = parser.parse_args()
    if args.reuse and not args.workdir:
        parser.error("--reuse needs --workdir (the folder of an earlier run)")
    threads = args.threads or faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)

    n_subjects = max(10, int(round(100_000 * args.scale)))
    options = {
        "exact": {},
        "ivf": {"nlist": args.nlist, "nprobe": args.nprobe},
        "hnsw": {"M": args.hnsw_m, "ef_construction": args.ef_construction, "ef_search": args.ef_search},
    }
    kinds = args.kinds.split(",")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_gallery_"))
    path = work / "gallery"
    started = time.perf_counter()
    centres = make_centres(n_subjects, args.dim, args.seed)
    rng = np.random.default_rng(args.seed + 2)
    truth = rng.integers(0, n_subjects, args.queries)
    queries = (centres[truth] + args.noise * rng.standard_normal((args.queries, args.dim), dtype=np.float32)).astype(
        np.float32
    )
    enroll_info: dict[str, Any] | None = None
    report: dict[str, Any] = {}
    try:
        if args.reuse:  # measure the gallery left by an earlier --workdir run, as it is (no enrolment, no build)
            with Gallery.open(path) as g:
                n, kinds = len(g), [g.index_kind]
                reference = exact_top1(g, queries)
        else:
            enroll_info, n = bulk_enroll(path, centres, args)
            reference = None
        del centres
        for kind in kinds:
            build_s = None  # exact: built while enrolling (enroll.seconds + enroll.save_s)
            if not args.reuse and (kind != "exact" or report):
                with Gallery.open(path) as g:
                    t = time.perf_counter()
                    g.reindex(kind, **options[kind])
                    build_s = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            g = Gallery.open(path)
            open_s = time.perf_counter() - t
            info = g.info()
            row: dict[str, Any] = {
                "params": g.index_options,
                "stage": info["index_stage"],
                "build_s": build_s,
                "open_s": round(open_s, 2),
                "index_bytes": info["index_file_bytes"],
                "rss_mb": round(rss_mb(), 1),
            }
            row.update(measure(g, queries, truth, args.single, args.k, threads))
            top1 = row.pop("_top1")
            if kind == "exact":
                reference = top1
            row["recall_at_1"] = None if reference is None else round(float(np.mean(top1 == reference)), 4)
            report[kind] = row
            print(json.dumps({kind: row}), flush=True)
            key = {"ivf": "nprobe", "ivfpq": "nprobe", "hnsw": "ef_search"}.get(kind)
            values = {"nprobe": args.nprobe_sweep, "ef_search": args.ef_search_sweep}.get(key or "", "")
            for value in (int(v) for v in values.split(",") if v):
                assert key is not None
                g.tune(**{key: value})
                swept = measure(g, queries, truth, args.single, args.k, threads)
                top1 = swept.pop("_top1")
                swept["recall_at_1"] = None if reference is None else round(float(np.mean(top1 == reference)), 4)
                report[f"{kind}@{key}={value}"] = swept
                print(json.dumps({f"{kind}@{key}={value}": swept}), flush=True)
            g.close()
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    result = {
        "benchmark": "bench_gallery",
        "setting": {
            "identities": n_subjects,
            "per_subject": args.per_subject,
            "vectors": n,
            "dim": args.dim,
            "metric": "euc",
            "noise": args.noise,
            "queries": args.queries,
            "single_queries_timed": args.single,
            "k": args.k,
            "faiss": faiss.__version__,
            "faiss_threads": {"build_and_batch": threads, "single_query": 1},
            "cpus": os.cpu_count(),
            "machine": platform.processor() or platform.machine(),
            "note": "2-core machine shared with other jobs; run under nice -n 10; timings are noisy",
        },
        "enroll": enroll_info,
        "reference": "exact (IndexFlatL2): recall_at_1 is agreement with its top-1 sequence",
        "indexes": report,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "total_s": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
