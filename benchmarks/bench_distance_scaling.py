"""Cost of the extreme-magnitude guard in the distance step (issue 18, defect 2), against the code before it.

Both versions compute the same probe × gallery part distances (``distance_rows`` on a prepared gallery,
``[N, C, P]`` float32 embeddings of ordinary magnitude, where the guard changes no bit): ``guarded`` is the
current :mod:`gaitforge.evaluation.distance`; ``reference`` is the module as of commit ``074280c`` (before the
guard), read from git and loaded under another name, measured in the same process, interleaved, best of
``--repeats``. ``guard_scans_s`` times the guard's own extra work alone (euc: the magnitude scans; cos: the
guarded normalisation minus F.normalize), which is less noisy than the difference of two totals on a loaded
machine. Also reported: the guarded path on embeddings ×1e17 (euc) and ×1e20 (cos), where the rescaling does
its work. Prints one JSON object.

Usage: ``python benchmarks/bench_distance_scaling.py [--probes 2048] [--gallery 4096] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REFERENCE_COMMIT = "074280c"
ROOT = Path(__file__).resolve().parents[1]


def load_reference():
    """The distance module before the guard, as a module named ``distance_reference``."""
    text = subprocess.run(
        ["git", "show", f"{REFERENCE_COMMIT}:src/gaitforge/evaluation/distance.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "distance_reference.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("distance_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["distance_reference"] = module  # dataclasses look the module up while defining classes
    spec.loader.exec_module(module)
    return module


def timed(module, probe: np.ndarray, gallery: np.ndarray, metric: str) -> float:
    started = time.perf_counter()
    prepared = module.PreparedGallery.from_embeddings(gallery, metric)
    module.distance_rows(probe, prepared)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=2048)
    parser.add_argument("--gallery", type=int, default=4096)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from gaitforge.evaluation import distance as guarded

    reference = load_reference()
    rng = np.random.default_rng(0)
    probe = rng.normal(size=(args.probes, args.channels, args.parts)).astype(np.float32)
    gallery = rng.normal(size=(args.gallery, args.channels, args.parts)).astype(np.float32)
    results = {}
    for metric, factor in (("euc", 1e17), ("cos", 1e20)):
        best = {"reference": float("inf"), "guarded": float("inf"), "guarded_scaled": float("inf")}
        scaled_p, scaled_g = probe * np.float32(factor), gallery * np.float32(factor)
        for _ in range(args.repeats):
            best["reference"] = min(best["reference"], timed(reference, probe, gallery, metric))
            best["guarded"] = min(best["guarded"], timed(guarded, probe, gallery, metric))
            best["guarded_scaled"] = min(best["guarded_scaled"], timed(guarded, scaled_p, scaled_g, metric))
        guard = float("inf")  # the guard's own work: magnitude scans of both sets, nothing else
        for _ in range(args.repeats):
            started = time.perf_counter()
            if metric == "euc":
                guarded.common_scale(probe, gallery)
            else:  # guarded normalisation minus plain F.normalize, on both sets
                for arr in (probe, gallery):
                    guarded._normalize_parts(torch.from_numpy(arr))
                middle = time.perf_counter()
                for arr in (probe, gallery):
                    torch.nn.functional.normalize(torch.from_numpy(arr), dim=1)
                started += 2 * (time.perf_counter() - middle)
            guard = min(guard, max(0.0, time.perf_counter() - started))
        same = np.array_equal(
            reference.distance_rows(probe, reference.PreparedGallery.from_embeddings(gallery, metric)).numpy(),
            guarded.distance_rows(probe, guarded.PreparedGallery.from_embeddings(gallery, metric)).numpy(),
        )
        results[metric] = {
            "reference_s": round(best["reference"], 4),
            "guarded_s": round(best["guarded"], 4),
            f"guarded_x{factor:g}_s": round(best["guarded_scaled"], 4),
            "overhead": round(best["guarded"] / best["reference"] - 1, 4),
            "guard_scans_s": round(guard, 4),
            "guard_scans_fraction_of_reference": round(guard / best["reference"], 4),
            "bit_identical_on_ordinary_inputs": bool(same),
        }
    print(json.dumps({
        "benchmark": "distance_scaling",
        "setting": vars(args),
        "reference_commit": REFERENCE_COMMIT,
        "results": results,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "torch": torch.__version__, "note": "2 cores shared by 8 parallel sessions: loaded"},
    }, indent=1))


if __name__ == "__main__":
    main()
