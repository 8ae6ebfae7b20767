"""Cost of the look-alike subject-name check on bulk enrolment (issue 18), against no check, in the same run.

A new gallery (``--dim``, exact index, autosave off) receives ``--chunks`` transactions of ``--per-chunk`` new
subjects with two sequences each through :meth:`Gallery.enroll_many`. Variants, interleaved, best of
``--repeats``: ``checked`` (as shipped: every name normalised and checked by the subject-name rule, then
:meth:`Gallery._check_lookalikes` against the committed names, their skeletons cached per generation) and
``unchecked`` (both replaced by no-ops: the reference, as before the rule). Prints one JSON object with seconds per
variant and their ratio.

Usage: ``python benchmarks/bench_name_check.py [--chunks 10 --per-chunk 5000 --dim 64 --repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import gaitforge.retrieval.gallery as gallery_module
from gaitforge.retrieval import Gallery


def enroll_all(args: argparse.Namespace, checked: bool) -> float:
    """Seconds to enroll every chunk into a fresh gallery."""
    rng = np.random.default_rng(0)
    original = Gallery._check_lookalikes, gallery_module._check_subject
    if not checked:
        Gallery._check_lookalikes = lambda self, names, gen: {}  # type: ignore[method-assign]
        gallery_module._check_subject = lambda subject: subject  # type: ignore[assignment,return-value]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            gallery = Gallery.create(Path(tmp) / "g", args.dim)
            gallery.autosave = False
            started = time.perf_counter()
            for c in range(args.chunks):
                names = [f"s{c:03d}-{i:06d}" for i in range(args.per_chunk) for _ in range(2)]
                vectors = rng.normal(size=(len(names), args.dim)).astype(np.float32)
                gallery.enroll_many(names, vectors)
            seconds = time.perf_counter() - started
            gallery.close()
    finally:
        Gallery._check_lookalikes, gallery_module._check_subject = original  # type: ignore[method-assign]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--per-chunk", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"checked": [], "unchecked": []}
    for _ in range(args.repeats):
        for variant in times:
            times[variant].append(enroll_all(args, variant == "checked"))
    best = {k: min(v) for k, v in times.items()}
    print(
        json.dumps(
            {
                "benchmark": "name_check",
                "subjects": args.chunks * args.per_chunk,
                "sequences": args.chunks * args.per_chunk * 2,
                "transactions": args.chunks,
                "seconds_best": {k: round(v, 3) for k, v in best.items()},
                "seconds_all": {k: [round(x, 3) for x in v] for k, v in times.items()},
                "checked_over_unchecked": round(best["checked"] / best["unchecked"], 3),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
