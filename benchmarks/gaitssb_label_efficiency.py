"""Label efficiency: GaitSSB fine-tuning from the label-free pre-training checkpoint vs from scratch, 10 % / 100 %.

A small labelled mannequin world (``--subjects`` people, CASIA-B's six normal walks plus one bag and one coat walk,
six views) is made once; the 10 % arm keeps every ``1/0.1``-th training sequence of each subject (at least two per
subject, so P×K batches still form). Four short runs of ``gaitssb_finetune`` (same recipe, same iterations):

* ``pretrained``: warm start from ``--pretrain`` (``train.init_from``; predictor skipped; stem and layer1 frozen as
  in the peer's recipe);
* ``pretrainedall``: the same warm start with nothing frozen (separates the pre-training from the freezing);
* ``scratch``: random initialisation, nothing frozen (a frozen random stem would handicap it).

Each is scored on the world's test subjects by the CASIA-B protocol (Rank-1 NM / BG / CL, mean). The pre-training
world (``unlabelled``: realistic bodies and clothes, other cameras) differs from this one, so this is transfer across
worlds as well as label efficiency.

Usage::

    python benchmarks/gaitssb_label_efficiency.py --pretrain RUN/checkpoints/ckpt-0000600.pt \\
        --work /tmp/labeff --iterations 300 --out benchmarks/results/gaitssb_label_efficiency.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.config import load_config
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter
from gaitforge.engine.evaluate import evaluate_checkpoint
from gaitforge.engine.trainer import train
from gaitforge.synth import get_preset, make_world

VIEWS = ("000", "036", "072", "108", "144", "180")
CONDITIONS = ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "cl-01")


def _labelled_world(work: Path, subjects: int, train_subjects: int) -> Path:
    root = work / "labelled"
    if (root / "index.json").is_file():
        return root
    cfg = get_preset("default", seed=1, n_subjects=subjects, n_train=train_subjects, conditions=CONDITIONS,
                     views=VIEWS, frames=24)
    return Path(make_world(dataclasses.replace(cfg, name="labelled"), work, workers=1))


def _subset(full: Path, work: Path, fraction: float) -> Path:
    """A store with ``fraction`` of each training subject's sequences (every n-th) and every test sequence."""
    out = work / f"labelled_{int(round(fraction * 100))}pct"
    if (out / "index.json").is_file():
        return out
    store = SequenceStore(full)
    part = json.loads((full / "partition.json").read_text())
    train = set(part["TRAIN_SET"])
    step = max(1, int(round(1 / fraction)))
    by_subject: dict[str, list[int]] = {}
    for i, s in enumerate(store.labels("subject")):
        by_subject.setdefault(s, []).append(i)
    with StoreWriter(out) as writer:
        for s, rows in by_subject.items():
            keep = rows if s not in train else rows[::step][: max(2, len(rows[::step]))]
            if s in train and len(keep) < 2:
                keep = rows[:2]
            for i in keep:
                rec = store.record(i)
                n = int(store.lengths([i])[0])
                mods = {m: store.frames(i, m, np.arange(n)) for m in ("sil",)}
                writer.add(Sequence(rec.subject, rec.condition, rec.view, mods, {}))
    (out / "partition.json").write_text(json.dumps(part))
    return out


def _run(store: Path, work: Path, tag: str, pretrain: Path | None, iterations: int) -> dict[str, Any]:
    cfg = load_config("gaitssb_finetune_synth_cpu")
    cfg.data.store = str(store)
    cfg.train.iterations = iterations
    cfg.train.save_every = iterations
    cfg.train.tensorboard = False
    cfg.scheduler.milestones = [int(iterations * 0.8)]
    if pretrain is None:
        cfg.train.init_from, cfg.model.args["frozen"] = "", []
    else:
        cfg.train.init_from = str(pretrain)
        if tag.startswith("pretrainedall"):
            cfg.model.args["frozen"] = []
    t0 = time.perf_counter()
    result = train(cfg, work / tag, progress=False)
    seconds = time.perf_counter() - t0
    scores = evaluate_checkpoint(result.checkpoint, progress=False, out_dir=work / tag / "eval")
    figures = {k: round(float(v), 2) for k, v in scores.figures.items()}
    return {"figures": figures, "train_seconds": round(seconds, 1), "iterations": iterations}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pretrain", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--subjects", type=int, default=40)
    ap.add_argument("--train-subjects", type=int, default=24)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--arms", nargs="*", default=["pretrained-10", "scratch-10", "pretrained-100", "scratch-100"])
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    full = _labelled_world(a.work, a.subjects, a.train_subjects)
    stores = {100: full, 10: _subset(full, a.work, 0.1)}
    results: dict[str, Any] = json.loads(a.out.read_text()) if a.out.is_file() else {}
    results.update({"pretrain": str(a.pretrain), "world": {"subjects": a.subjects, "train": a.train_subjects,
                                                           "conditions": list(CONDITIONS), "views": list(VIEWS)}})
    for arm in a.arms:
        kind, pct = arm.split("-")
        store = stores[int(pct)]
        n_train = len(SequenceStore(store).select(subjects=set(json.loads((store / "partition.json").read_text())
                                                               ["TRAIN_SET"])))
        res = _run(store, a.work, arm, a.pretrain if kind.startswith("pretrained") else None, a.iterations)
        results[arm] = dict(res, train_sequences=n_train)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(arm, json.dumps(results[arm]), flush=True)


if __name__ == "__main__":
    main()
