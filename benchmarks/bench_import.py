"""Cost of ``import gaitforge`` (the lazy front door) against ``import json`` (the reference), in the same run.

Each sample is a fresh interpreter (``python -X importtime -c "import M"``) and reads the module's cumulative import
time from the interpreter's own report; the variants alternate, and the medians are compared. Also records what
resolving the first front-door name costs (``first_name``: ``gaitforge.create_model``, which imports torch and
the model registry).
Prints one JSON object; ``--json PATH`` also writes it.

Usage: ``python benchmarks/bench_import.py [--rounds 15] [--json benchmarks/results/import.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path


def import_us(statement: str, module: str) -> int:
    """Cumulative microseconds the interpreter reports for ``module`` when running ``statement``."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True
    )
    for line in reversed(run.stderr.splitlines()):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"no import time reported for {module!r}")


def first_name_us() -> int:
    """Microseconds to resolve ``gaitforge.create_model`` in a fresh interpreter (imports torch and the registry)."""
    code = (
        "import time, gaitforge; t = time.perf_counter(); gaitforge.create_model; "
        "print(int((time.perf_counter() - t) * 1e6))"
    )
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    samples: dict[str, list[int]] = {"gaitforge": [], "json": [], "first_name": []}
    for _ in range(args.rounds):
        samples["gaitforge"].append(import_us("import gaitforge", "gaitforge"))
        samples["json"].append(import_us("import json", "json"))
        samples["first_name"].append(first_name_us())
    med = {k: statistics.median(v) / 1000 for k, v in samples.items()}
    result = {
        "benchmark": "import",
        "rounds": args.rounds,
        "median_ms": med,
        "gaitforge_over_json": med["gaitforge"] / med["json"],
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
