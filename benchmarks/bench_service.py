"""Load test of the HTTP service on loopback: identify requests from concurrent clients against a realistic gallery.

Setting (defaults): the GaitBase architecture of ``gaitbase_synth_cpu`` (2048-d ``euc`` vectors; trained for one
iteration on a small synthetic world unless ``--model`` names a run), a gallery of 2,000 subjects × 5 sequences =
10,000 vectors (``exact`` index; synthetic vectors, since only their number and size matter for timing), probes that
are real 30-frame synthetic walks uploaded as ``.npz`` (uint8 ``[30, 64, 64]``), ``k = 5``.

Measured:

* ``reference_in_process``: the service's own identify path (decode the upload, embed, draw thumbnails, search)
  called sequentially in this process, without HTTP — the cost of the work itself, measured in the same run;
* ``http_one_client``: one client sending requests back to back through ``gaitforge serve`` (uvicorn in a
  subprocess): the reference plus HTTP, multipart parsing and JSON. It alternates with the reference in short
  blocks, so that load drifts on a shared machine hit both alike;
* ``http_load``: ``--clients`` concurrent clients (one asyncio ``httpx`` client each) for ``--duration`` seconds:
  throughput, latency p50 / p90 / p99, and the error count (any non-200 answer or transport error; must be zero).

Server and reference use ``--torch-threads`` intra-op threads (default 1; the server has 2 inference threads). The
load generator runs on the same machine as the server and competes with it for the CPU. Prints one JSON
object; ``--json PATH`` also writes it. ``--quick`` runs a small version in about a minute.

Usage: ``nice -n 10 python benchmarks/bench_service.py [--clients 8] [--duration 30] [--json out.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    if not len(ms):
        return {}
    return {
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p90": round(float(np.percentile(ms, 90)), 2),
        "p99": round(float(np.percentile(ms, 99)), 2),
        "max": round(float(ms.max()), 2),
        "mean": round(float(ms.mean()), 2),
    }


def make_probe_world(workdir: Path, frames: int) -> Path:
    """A small synthetic world (4 subjects, one view): training data for the bench run, and the probes."""
    from gaitforge.synth import get_preset, make_world

    preset = get_preset("tiny", seed=0, n_subjects=4, n_train=2, views=("090",), frames=frames)
    return Path(make_world(preset, workdir / "world", workers=1, progress=False))


def build_run(workdir: Path, world: Path) -> Path:
    """A GaitBase of the ``gaitbase_synth_cpu`` architecture trained for one iteration on ``world``."""
    import yaml

    from gaitforge.config import config_from_dict, packaged_config
    from gaitforge.engine.trainer import train

    data = yaml.safe_load(packaged_config("gaitbase_synth_cpu").read_text())
    data["name"] = "bench_service"
    data["data"].update(store=str(world), p=2, k=2, num_workers=0)
    data["train"].update(iterations=1, log_every=1, save_every=1, tensorboard=False)
    data["scheduler"]["warmup_iterations"] = 0
    train(config_from_dict(data), workdir / "run", progress=False)
    return workdir / "run"


def probe_uploads(store: Path, frames: int, n: int) -> list[bytes]:
    """``n`` real walks of ``store`` as ``.npz`` uploads of uint8 ``[frames, 64, 64]``."""
    from gaitforge.data.store import SequenceStore

    s = SequenceStore(store)
    out = []
    for i in range(min(n, len(s))):
        buf = io.BytesIO()
        np.savez_compressed(buf, sil=np.asarray(s.get(i).modalities["sil"])[:frames])
        out.append(buf.getvalue())
    return out


def fill_gallery(path: Path, rec: Any, subjects: int, per_subject: int, seed: int = 0) -> dict[str, Any]:
    from gaitforge.retrieval import Gallery

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with Gallery.create(path, dim=rec.dim, metric=rec.metric) as g:
        g.autosave = False
        g.model = rec.describe()
        step = 500
        for start in range(0, subjects, step):
            names = [f"person{i:06d}" for i in range(start, min(subjects, start + step))]
            centres = rng.standard_normal((len(names), rec.dim), dtype=np.float32)
            vectors = centres[:, None, :] + 0.3 * rng.standard_normal((len(names), per_subject, rec.dim), np.float32)
            g.enroll_many([n for n in names for _ in range(per_subject)], vectors.reshape(-1, rec.dim), {"bench": 1})
        n = len(g)
    return {"subjects": subjects, "sequences": n, "index": "exact", "fill_s": round(time.perf_counter() - t0, 2)}


class InProcess:
    """The service's identify path called in this process, without HTTP (the reference)."""

    def __init__(self, rec: Any, gallery: Path, k: int) -> None:
        from gaitforge.retrieval import Gallery
        from gaitforge.service import ServiceLimits
        from gaitforge.service.state import ServiceState

        self.state = ServiceState(rec, Gallery.open(gallery, read_only=True), ServiceLimits())
        self.k = k
        self.latencies: list[float] = []
        self.wall = 0.0

    def identify(self, data: bytes) -> float:
        from starlette.datastructures import UploadFile

        t0 = time.perf_counter()
        _, _, found = self.state.identify_upload(UploadFile(io.BytesIO(data), filename="probe.npz"), self.k)
        assert len(found) == 1 and len(found[0].matches) == self.k
        return time.perf_counter() - t0

    def run(self, probes: list[bytes], seconds: float) -> None:
        t_end = time.perf_counter() + seconds
        t0 = time.perf_counter()
        while time.perf_counter() < t_end:
            self.latencies.append(self.identify(probes[len(self.latencies) % len(probes)]))
        self.wall += time.perf_counter() - t0

    def result(self) -> dict[str, Any]:
        n = len(self.latencies)
        return {"requests": n, "throughput_rps": round(n / self.wall, 2), "latency_ms": percentiles(self.latencies)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(run: Path, gallery: Path, port: int, log: Path, torch_threads: int) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "gaitforge",
        "-q",
        "serve",
        "--model",
        str(run),
        "--gallery",
        str(gallery),
        "--port",
        str(port),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(torch_threads), "MKL_NUM_THREADS": str(torch_threads)}
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 180 s")


async def load(
    base: str, probes: list[bytes], k: int, clients: int, seconds: float, latencies: list[float], errors: list[str]
) -> float:
    """``clients`` concurrent request loops for ``seconds``, after one warm-up request each; every answer is checked.

    Appends to ``latencies`` (successful requests, seconds) and ``errors``; returns the wall time of the loops.
    """
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one(i: int) -> None:
            files = {"file": ("probe.npz", probes[i % len(probes)], "application/octet-stream")}
            t0 = time.perf_counter()
            try:
                res = await client.post("/api/v1/identify", data={"k": str(k)}, files=files)
                ok = res.status_code == 200 and len(res.json()["probes"][0]["matches"]) == k
                if not ok:
                    errors.append(f"{res.status_code}: {res.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            if ok:
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(one(i) for i in range(clients)))  # warm-up: one request per client
        del latencies[len(latencies) - clients :]
        t_end = time.perf_counter() + seconds

        async def loop(c: int) -> None:
            i = c
            while time.perf_counter() < t_end:
                await one(i)
                i += clients

        t0 = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in range(clients)))
        return time.perf_counter() - t0


def summary(clients: int, wall: float, latencies: list[float], errors: list[str]) -> dict[str, Any]:
    return {
        "clients": clients,
        "duration_s": round(wall, 2),
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "throughput_rps": round(len(latencies) / wall, 2),
        "latency_ms": percentiles(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="run folder or checkpoint (default: build a GaitBase run, one iteration)")
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--per-subject", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the concurrent load")
    parser.add_argument("--single-duration", type=float, default=10.0, help="seconds of the one-client run")
    parser.add_argument("--reference-duration", type=float, default=10.0, help="seconds of the in-process run")
    parser.add_argument("--probe-frames", type=int, default=30)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=1, help="intra-op threads, server and reference alike")
    parser.add_argument("--quick", action="store_true", help="200 subjects, 5 s runs")
    parser.add_argument("--json", help="also write the JSON here")
    args = parser.parse_args()
    if args.quick:
        args.subjects, args.duration, args.single_duration, args.reference_duration = 200, 5.0, 3.0, 3.0

    import torch

    from gaitforge.retrieval import Recognizer

    workdir = Path(tempfile.mkdtemp(prefix="bench_service_"))
    load_start = os.getloadavg()
    try:
        world = make_probe_world(workdir, args.probe_frames)
        run = Path(args.model) if args.model else build_run(workdir, world)
        torch.set_num_threads(args.torch_threads)  # as the server's (after training, which sets its own)
        rec = Recognizer.from_checkpoint(run)
        probes = probe_uploads(world, args.probe_frames, 8)
        gallery = workdir / "gallery"
        gallery_info = fill_gallery(gallery, rec, args.subjects, args.per_subject)
        model = {**rec.describe(), "parameters": sum(p.numel() for p in rec.model.parameters())}
        model.pop("checkpoint", None)
        port = free_port()
        server = start_server(run, gallery, port, workdir / "server.log", args.torch_threads)
        try:
            base = f"http://127.0.0.1:{port}"
            # the reference and the one-client HTTP run alternate in short blocks, so that drifts in the load of
            # the (shared) machine hit both alike; the idle server takes no CPU while the reference runs
            ref = InProcess(rec, gallery, args.k)
            for data in probes[:4]:
                ref.identify(data)  # warm-up
            single_lat: list[float] = []
            single_err: list[str] = []
            single_wall = 0.0
            blocks = max(1, round(args.reference_duration / 2))
            for _ in range(blocks):
                ref.run(probes, args.reference_duration / blocks)
                single_wall += asyncio.run(
                    load(base, probes, args.k, 1, args.single_duration / blocks, single_lat, single_err)
                )
            ref.state.close()
            reference = ref.result()
            single = summary(1, single_wall, single_lat, single_err)
            heavy_lat: list[float] = []
            heavy_err: list[str] = []
            wall = asyncio.run(load(base, probes, args.k, args.clients, args.duration, heavy_lat, heavy_err))
            heavy = summary(args.clients, wall, heavy_lat, heavy_err)
        finally:
            server.terminate()
            server.wait(timeout=60)
        result = {
            "benchmark": "service",
            "setting": {
                "model": model,
                "gallery": gallery_info,
                "probe": {
                    "kind": "npz",
                    "frames": args.probe_frames,
                    "upload_bytes": int(np.mean([len(p) for p in probes])),
                },
                "k": args.k,
                "server": "gaitforge serve (uvicorn, 1 worker process, 2 inference threads) on 127.0.0.1",
                "torch_threads": args.torch_threads,
                "client": "httpx.AsyncClient, one connection per client, same machine as the server",
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_at_start": [round(x, 2) for x in load_start],
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                    "nice": os.nice(0),
                },
            },
            "reference_in_process": reference,
            "http_one_client": single,
            "http_load": heavy,
            "http_overhead_ms_p50": round(single["latency_ms"]["p50"] - reference["latency_ms"]["p50"], 2),
            "load_throughput_vs_reference": round(heavy["throughput_rps"] / reference["throughput_rps"], 3),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        from gaitforge.utils.atomic import atomic_write_text

        atomic_write_text(args.json, text + "\n")


if __name__ == "__main__":
    main()
