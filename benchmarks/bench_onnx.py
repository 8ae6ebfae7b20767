"""CPU latency per sequence of every registered model at its real (full) size: PyTorch eager vs ONNX Runtime.

Setting: one sequence of 30 frames (``--frames``) at the modality's default frame shape (silhouettes 64x44,
skeleton maps 2x64x44, COCO-17 keypoints, 17x64x48 heatmaps), the model's default constructor arguments (the
peer's widths) with deterministic non-trivial weights (:func:`gaitforge.interop.fixture_weights.fill_with_recipe`),
eval mode. Both engines get the same intra-op thread count (``--threads``; ONNX Runtime with one inter-op thread).

* ``torch_ms``: ``model.embed`` under ``torch.inference_mode`` (the reference, measured in the same run);
* ``onnx_ms``: :class:`gaitforge.export.OnnxEmbedder` on the graph from :func:`gaitforge.export.export_onnx`
  (TorchScript exporter, dynamic batch and length where the model allows);
* ``speedup``: ``torch_ms / onnx_ms`` (above 1: ONNX Runtime is faster);
* ``max_abs_diff``: ``max |ONNX - PyTorch|`` on the timed input, with ``max_abs`` the embeddings' magnitude.

Runs of the two engines are interleaved (PyTorch, ONNX, PyTorch, ...) so that a change in machine load hits
both; medians are reported. Prints one JSON object; ``--json PATH`` also writes it (atomically).

Usage: ``nice -n 10 python benchmarks/bench_onnx.py [--threads 1] [--repeats 5] [--models gaitbase gaitset]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def bench_model(name: str, frames: int, threads: int, repeats: int, warmup: int, workdir: Path) -> dict:
    """Export one full-size model and time both engines on the same input."""
    from gaitforge.export import OnnxEmbedder, export_onnx
    from gaitforge.export.spec import example_frames
    from gaitforge.interop.fixture_weights import fill_with_recipe
    from gaitforge.models import create_model

    torch.manual_seed(0)
    model = create_model(name)
    fill_with_recipe(model, salt="bench-onnx")
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    t0 = time.perf_counter()
    report = export_onnx(model, workdir / f"{name}.onnx", check=False)
    export_s = time.perf_counter() - t0
    fixed = report.inputs[0].shape[1]
    t = fixed if isinstance(fixed, int) else frames
    rng = np.random.default_rng(0)
    arrays = {s.name: example_frames(s, 1, t, rng) for s in report.inputs}
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    embedder = OnnxEmbedder(report.path, providers=["CPUExecutionProvider"], threads=threads)

    def run_torch() -> np.ndarray:
        with torch.inference_mode():
            return model.embed(tensors).numpy()

    def run_onnx() -> np.ndarray:
        return embedder(arrays)

    for _ in range(warmup):
        run_torch(), run_onnx()
    times: dict[str, list[float]] = {"torch": [], "onnx": []}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for key, fn in (("torch", run_torch), ("onnx", run_onnx)):
            start = time.perf_counter()
            outputs[key] = fn()
            times[key].append(time.perf_counter() - start)
    expected, got = outputs["torch"], outputs["onnx"]
    torch_ms, onnx_ms = (1000 * statistics.median(times[k]) for k in ("torch", "onnx"))
    return {
        "inputs": [s.describe() for s in report.inputs],
        "frames": t,
        "parameters": params,
        "dynamic_axes": list(report.dynamic_axes),
        "opset": report.opset,
        "onnx_mb": round(report.size_bytes / 1e6, 2),
        "export_s": round(export_s, 2),
        "torch_ms": round(torch_ms, 2),
        "onnx_ms": round(onnx_ms, 2),
        "speedup": round(torch_ms / onnx_ms, 3),
        "torch_ms_all": [round(1000 * v, 2) for v in times["torch"]],
        "onnx_ms_all": [round(1000 * v, 2) for v in times["onnx"]],
        "max_abs_diff": float(np.abs(got - expected).max()),
        "max_abs": float(np.abs(expected).max()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="registered names (default: all)")
    parser.add_argument("--frames", type=int, default=30, help="frames per sequence (default 30)")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for both engines (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per engine (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per engine first (default 1)")
    parser.add_argument("--json", type=Path, help="also write the JSON object here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import onnxruntime

    from gaitforge.models import list_models

    torch.set_num_threads(args.threads)
    names = args.models or list_models()
    load_start = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench_onnx_") as tmp:
        for name in names:
            print(f"[bench_onnx] {name} ...", file=sys.stderr, flush=True)
            try:
                results[name] = bench_model(name, args.frames, args.threads, args.repeats, args.warmup, Path(tmp))
            except Exception as exc:  # one model's failure is a result, not the end of the run
                results[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    speedups = [r["speedup"] for r in results.values() if "speedup" in r]
    out = {
        "benchmark": "onnx_vs_torch_cpu_latency",
        "setting": {
            "batch": 1,
            "frames": args.frames,
            "threads": args.threads,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "statistic": "median over repeats, engines interleaved",
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "niceness": os.nice(0),
            "load_average_start": [round(v, 2) for v in load_start],
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
            "seconds": round(time.perf_counter() - started, 1),
        },
        "reference": "torch_ms: PyTorch eager model.embed in the same process, same threads, same input",
        "models": results,
        "summary": {
            "models": len(results),
            "failed": sorted(n for n, r in results.items() if "error" in r),
            "geomean_speedup": round(float(np.exp(np.mean(np.log(speedups)))), 3) if speedups else None,
        },
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        from gaitforge.utils.atomic import atomic_write_text

        atomic_write_text(args.json, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
