"""Scoliosis screening on the synthetic scoliosis world: ScoNet vs chance vs a training-free silhouette heuristic.

All three are scored by the same Scoliosis1K protocol (``gaitforge.evaluation``: accuracy, per-class and macro
precision / recall / F1) on the world's TEST_SET:

* ScoNet: the ``embeddings.npz`` (class logits) that ``gaitforge train ... --eval`` or ``gaitforge eval`` wrote;
* chance: the training split's majority class for every test sequence, and a uniform random guess (mean of
  ``--draws`` seeded draws);
* heuristic: :func:`gaitforge.evaluation.posture.trunk_asymmetry` (absolute), two thresholds fitted on TRAIN_SET.

Usage::

    python benchmarks/scoliosis_screening.py --store runs/synth-seed0/scoliosis \\
        --sconet runs/sconet_scoliosis_synth_cpu/eval/embeddings.npz --out benchmarks/results/scoliosis_screening.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.data.store import SequenceStore
from gaitforge.engine.data_setup import load_partition
from gaitforge.evaluation import score_embeddings
from gaitforge.evaluation.posture import fit_thresholds, predict_grades, trunk_asymmetry
from gaitforge.models.sconet import SCOLIOSIS_STATUSES

CLASSES = list(SCOLIOSIS_STATUSES)


def _figures(pred: np.ndarray, true_types: np.ndarray) -> dict[str, Any]:
    """Protocol figures of class ids ``pred`` against status strings (one-hot logits through the protocol)."""
    n = pred.size
    logits = np.zeros((n, 3, 1), np.float32)
    logits[np.arange(n), pred, 0] = 1.0
    r = score_embeddings("scoliosis1k", logits, ["s"] * n, true_types, ["v"] * n)
    out = {k.split("/")[1].replace("test_", ""): round(float(v), 2) for k, v in r.figures.items()}
    for c in CLASSES:
        for m in ("precision", "recall", "f1"):
            out[f"{c}/{m}"] = round(float(r.extra[f"{c}/{m}"]), 2)
    out["confusion"] = np.asarray(r.extra["confusion_matrix"]).tolist()
    return out


def _features(store: SequenceStore, indices: list[int]) -> np.ndarray:
    lengths = store.lengths(indices)
    return np.array(
        [abs(trunk_asymmetry(store.frames(i, "sil", np.arange(int(n))))) for i, n in zip(indices, lengths)]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, type=Path)
    ap.add_argument("--sconet", type=Path, nargs="*", default=[], help="embeddings.npz of ScoNet runs")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()

    t0 = time.perf_counter()
    store = SequenceStore(a.store)
    part = load_partition(a.store / "partition.json")
    train_idx = store.select(subjects=set(part.train))
    test_idx = store.select(subjects=set(part.test))
    train_types = np.array(store.labels("condition", train_idx))
    test_types = np.array(store.labels("condition", test_idx))
    y_train = np.array([CLASSES.index(t) for t in train_types])

    result: dict[str, Any] = {
        "store": str(a.store),
        "train_sequences": len(train_idx),
        "test_sequences": len(test_idx),
        "test_per_class": {c: int((test_types == c).sum()) for c in CLASSES},
    }
    majority = int(np.bincount(y_train, minlength=3).argmax())
    result["chance_majority"] = dict(_figures(np.full(len(test_idx), majority), test_types), predicts=CLASSES[majority])
    rng = np.random.default_rng(0)
    draws = [_figures(rng.integers(0, 3, len(test_idx)), test_types) for _ in range(a.draws)]
    result["chance_uniform"] = {
        k: round(float(np.mean([d[k] for d in draws])), 2) for k in draws[0] if k != "confusion"
    }
    result["chance_uniform"]["draws"] = a.draws

    f_train, f_test = _features(store, train_idx), _features(store, test_idx)
    thresholds = fit_thresholds(f_train, y_train)
    result["heuristic"] = dict(
        _figures(predict_grades(f_test, thresholds), test_types),
        thresholds=[round(t, 5) for t in thresholds],
        train_accuracy=round(100 * float(np.mean(predict_grades(f_train, thresholds) == y_train)), 2),
        feature_mean_by_class={c: round(float(f_test[test_types == c].mean()), 5) for c in CLASSES},
    )
    for n, path in enumerate(a.sconet):
        z = np.load(path, allow_pickle=False)
        pred = np.argmax(z["embeddings"].mean(-1), -1)
        result[f"sconet_{n}"] = dict(_figures(pred, np.asarray(z["types"]).astype(str)), source=str(path))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items()}, indent=1)[:4000])


if __name__ == "__main__":
    main()
