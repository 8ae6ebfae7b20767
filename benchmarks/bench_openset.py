"""Open-set identification with a calibrated threshold: TAR at a fixed FAR, on a trained model's embeddings.

Input: the ``embeddings.npz`` that ``gaitforge eval`` writes (``embeddings [N,C,P]``, ``labels``, ``types``,
``views``) for a CASIA-B-style test set. The test subjects are split (seeded) into *enrolled* and *unknown* halves.

* Gallery: every enrolled subject's ``nm-01..04`` sequences (all views) in a :class:`gaitforge.retrieval.Gallery`
  (exact index).
* Calibration, on held-out data: ``nm-05`` probes. Genuine = best distance of an enrolled subject's probe,
  impostor = best distance of an unknown subject's probe; the threshold is set at each target FAR.
* Test: ``nm-06``, ``bg-*`` and ``cl-*`` probes, never seen in calibration. For each condition: the measured FAR
  (unknown probes accepted), TAR (enrolled probes accepted *and* identified correctly, i.e. the detection-and-
  identification rate) and the closed-set Rank-1 of the enrolled probes as the reference from the same run.

    python benchmarks/bench_openset.py runs/zoo/gaitgl/eval/embeddings.npz --json openset.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from gaitforge.retrieval import Gallery
from gaitforge.retrieval.vectors import flatten_embeddings


def _best(gallery: Gallery, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = gallery.identify_many(vectors, k=1)
    return np.array([r.matches[0].distance for r in ids]), np.array([r.matches[0].subject for r in ids])


def run(npz: Path, metric: str, fars: list[float], seed: int) -> dict:
    d = np.load(npz)
    vec = flatten_embeddings(d["embeddings"], metric)
    labels, types = d["labels"].astype(str), d["types"].astype(str)
    subjects = np.unique(labels)
    rng = np.random.default_rng(seed)
    enrolled = set(rng.permutation(subjects)[: len(subjects) // 2].tolist())
    known = np.array([s in enrolled for s in labels])
    gal = known & np.isin(types, ["nm-01", "nm-02", "nm-03", "nm-04"])
    out: dict = {
        "input": str(npz),
        "metric": metric,
        "seed": seed,
        "subjects": {"enrolled": len(enrolled), "unknown": len(subjects) - len(enrolled)},
        "gallery_sequences": int(gal.sum()),
    }
    with tempfile.TemporaryDirectory() as tmp, Gallery.create(Path(tmp) / "g", vec.shape[1], metric) as gallery:
        gallery.enroll_many(labels[gal].tolist(), vec[gal])
        cal = types == "nm-05"
        dist, _ = _best(gallery, vec[cal])
        genuine, impostor = dist[known[cal]], dist[~known[cal]]
        conditions = {"NM": ["nm-06"], "BG": ["bg-01", "bg-02"], "CL": ["cl-01", "cl-02"]}
        tests = {}
        for cond, tlist in conditions.items():
            m = np.isin(types, tlist)
            dist_t, who = _best(gallery, vec[m])
            tests[cond] = (dist_t, who == labels[m], known[m])
        out["closed_set_rank1"] = {c: round(100 * float(ok[k].mean()), 2) for c, (_, ok, k) in tests.items()}
        out["operating_points"] = []
        for far in fars:
            calib = gallery.calibrate(genuine, impostor, far=far)
            row = {"target_far": far, "threshold": round(calib.threshold, 5), "calibration_tar": round(calib.tar, 4)}
            for cond, (dist_t, correct, k) in tests.items():
                accept = dist_t <= calib.threshold
                row[cond] = {
                    "far": round(float(accept[~k].mean()), 4),
                    "tar": round(float((accept & correct)[k].mean()), 4),
                }
            out["operating_points"].append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("embeddings", type=Path)
    ap.add_argument("--metric", default="euc", choices=["euc", "cos"])
    ap.add_argument("--far", type=float, nargs="+", default=[0.01, 0.05, 0.1])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    result = run(args.embeddings, args.metric, args.far, args.seed)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
