"""The tables of ``docs/store.md`` from a ``bench_store_scale.py`` JSON result.

Sequences per second (medians of the rounds) per reader and setting, each with its ratio to the field's pickles in
the same setting, the peak RSS, and the whole-epoch sweeps. Usage::

    python benchmarks/render_store_scale.py benchmarks/results/store_scale.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

#: reader → its line in the tables
NAMES = {
    "pickle": "pickle per sequence (the field's loader)",
    "pickle_ra": "pickle, files announced ahead",
    "store": "store, `frames` per item",
    "store_ra": "store raw, `read_batch` + read-ahead",
    "store_lz4_ra": "store lz4, `read_batch` + read-ahead",
    "store_lz4hc_batch": "store lz4hc, `read_batch`",
    "store_lz4hc_ra": "store lz4hc, `read_batch` + read-ahead",
    "store_lz4hc_loader": "store lz4hc, `make_train_loader`'s path",
}
SETTINGS = [("cold", 0), ("cold", 2), ("warm", 0), ("warm", 2)]


def _cell(rate: float, ref: float | None) -> str:
    text = f"{rate:,.0f}"
    return text if ref is None else f"{text} ({rate / ref:.2f}×)"


def _readers(scale: dict[str, Any], prefix: str = "") -> list[str]:
    seen = []
    for key in scale:
        if key.startswith(prefix) and "_workers" in key and (prefix or not key.startswith("sweep_")):
            reader = key[len(prefix) :].rsplit("_workers", 1)[0]
            if reader not in seen:
                seen.append(reader)
    return sorted(seen, key=lambda r: list(NAMES).index(r) if r in NAMES else len(NAMES))


def scale_table(count: str, scale: dict[str, Any]) -> str:
    """One scale's reads: readers × (cold/warm, 0/2 workers), and peak RSS."""
    head = f"| {int(count) // 1000}k sequences | " + " | ".join(f"{p}, {w} workers" for p, w in SETTINGS)
    lines = [head + " | peak RSS |", "| --- |" + " ---: |" * (len(SETTINGS) + 1)]
    for reader in _readers(scale):
        cells = []
        for phase, workers in SETTINGS:
            got = scale.get(f"{reader}_workers{workers}")
            ref = scale.get(f"pickle_workers{workers}")
            if got is None:
                cells.append("–")
                continue
            base = None if reader == "pickle" or ref is None else ref[phase]["sequences_per_s"]
            cells.append(_cell(got[phase]["sequences_per_s"], base))
        rss = max(scale[k]["peak_rss_mb"] for k in scale if k.startswith(f"{reader}_workers"))
        lines.append(f"| {NAMES.get(reader, reader)} | " + " | ".join(cells) + f" | {rss} MB |")
    return "\n".join(lines)


def sweep_table(scales: dict[str, Any]) -> str:
    """Whole epochs: readers × (scale, epoch)."""
    counts = [c for c in scales if any(k.startswith("sweep_") for k in scales[c])]
    if not counts:
        return ""
    workers = {k.rsplit("_workers", 1)[1] for c in counts for k in scales[c] if k.startswith("sweep_")}
    cols = [(c, e) for c in counts for e in ("epoch1", "epoch2")]
    head = f"| epochs, {'/'.join(sorted(workers))} workers | " + " | ".join(
        f"{int(c) // 1000}k: epoch {e[-1]}" for c, e in cols
    )
    lines = [head + " |", "| --- |" + " ---: |" * len(cols)]
    readers: list[str] = []
    for c in counts:
        readers += [r for r in _readers(scales[c], "sweep_") if r not in readers]
    for reader in readers:
        cells = []
        for c, e in cols:
            got = next((v for k, v in scales[c].items() if k.startswith(f"sweep_{reader}_workers")), None)
            ref = next((v for k, v in scales[c].items() if k.startswith("sweep_pickle_workers")), None)
            if got is None:
                cells.append("–")
                continue
            base = None if reader == "pickle" or ref is None else ref[e]["sequences_per_s"]
            cells.append(_cell(got[e]["sequences_per_s"], base))
        lines.append(f"| {NAMES.get(reader, reader)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    parts = [scale_table(c, s) for c, s in sorted(result["scales"].items(), key=lambda kv: -int(kv[0]))]
    sweeps = sweep_table(result["scales"])
    return "\n\n".join(parts + ([sweeps] if sweeps else []))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", type=Path, help="a bench_store_scale.py JSON result")
    print(render(json.loads(ap.parse_args().result.read_text())))


if __name__ == "__main__":
    main()
