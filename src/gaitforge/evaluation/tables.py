"""Plain-text tables of an :class:`EvaluationResult`, laid out the way papers print them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import EvaluationResult

__all__ = ["format_result", "grid"]


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    f = float(value)
    return "n/a" if not math.isfinite(f) else f"{f:.{digits}f}"


def grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Right-aligned columns (the first left-aligned)."""
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for r in table:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _single_view(r: EvaluationResult) -> list[str]:
    out = ["Rank-1 (%) per probe view, identical-view cells excluded"]
    views = next((v["probe_views"] for v in r.per_view.values()), [])
    rows = []
    for cond, entry in r.per_view.items():
        acc = entry.get("accuracy", [None] * len(views))
        rows.append([cond, *(_fmt(a) for a in acc), _fmt(r.figures.get(f"scalar/test_accuracy/{cond}@R1"))])
    out.append(grid(["probe view", *views, "mean"], rows))
    ranks = sorted({k.split("@")[1] for k in r.extra if "@R" in k})
    if ranks:
        conds = list(r.per_view)
        rows = [[cond, *(_fmt(r.extra.get(f"{cond}@{k}")) for k in ranks)] for cond in conds]
        out += ["", "Mean rank-k accuracy (%)", grid(["condition", *ranks], rows)]
    return out


def _cross_view(r: EvaluationResult) -> list[str]:
    views = next((v["probe_views"] for v in r.per_view.values()), [])
    rows = []
    for cond, entry in r.per_view.items():
        for metric in ("Rank@1", "mAP"):
            rows.append(
                [
                    f"{cond} {metric}",
                    *(_fmt(a) for a in entry[metric]),
                    _fmt(r.figures.get(f"scalar/test_accuracy/{cond}-{metric}")),
                ]
            )
    return [
        "Cross-view gallery (%) per probe view, same identity + same view removed",
        grid(["probe view", *views, "mean"], rows),
    ]


def _flat(r: EvaluationResult) -> list[str]:
    names = [k.split("/")[-1] for k in r.figures] + [k for k in r.extra if k.startswith("Rank-")]
    values = [*r.figures.values(), *(v for k, v in r.extra.items() if k.startswith("Rank-"))]
    return [grid(names, [[_fmt(v) for v in values]])]


def _ccpg(r: EvaluationResult) -> list[str]:
    header = ["condition", "gait R1 excl.", "gait R1 incl.", "reid R1", "reid R5", "reid R10", "mAP", "mINP"]
    rows = []
    for cond in r.per_view:
        e = r.extra
        rows.append(
            [
                cond,
                _fmt(e.get(f"{cond}/gait-R1-excl-identical-view")),
                _fmt(e.get(f"{cond}/gait-R1-incl-identical-view")),
                *(_fmt(e.get(f"{cond}/reid-{k}")) for k in ("Rank-1", "Rank-5", "Rank-10", "mAP", "mINP")),
            ]
        )
    return ["CCPG (%): gait = view grid rank-1, reid = same id + same view removed", grid(header, rows)]


def _classification(r: EvaluationResult) -> list[str]:
    names = {
        "scalar/test_accuracy/": "accuracy",
        "scalar/test_precision/": "precision (macro)",
        "scalar/test_recall/": "recall (macro)",
        "scalar/test_f1/": "F1 (macro)",
    }
    out = [grid([names[k] for k in r.figures], [[_fmt(v) for v in r.figures.values()]])]
    classes = r.extra.get("classes", [])
    cm = r.extra.get("confusion_matrix")
    if cm is not None:
        rows = [[f"true {c}", *(str(int(x)) for x in row)] for c, row in zip(classes, cm)]
        out += ["", grid(["confusion", *(f"pred {c}" for c in classes)], rows)]
    return out


def _submission(r: EvaluationResult) -> list[str]:
    s = r.submission or {}
    where = s.get("path") or "(not written: no path given)"
    return [
        f"{s.get('num_rows', 0)} probe rows, columns {', '.join(s.get('header', [])[:3])}, ... -> {where}"
    ]


_LAYOUTS = {
    "single_view": _single_view,
    "cross_view": _cross_view,
    "retrieval": _flat,
    "real_scene": _flat,
    "ccgr": _flat,
    "ccpg": _ccpg,
    "classification": _classification,
    "submission": _submission,
}


def format_result(r: EvaluationResult) -> str:
    """Title, the family's table, the counts and any notes."""
    lines = [f"{r.dataset} [{r.protocol}] metric={r.metric}", *_LAYOUTS[r.family](r)]
    skipped = r.counts.get("skipped", [])
    sizes = {k: v for k, v in r.counts.items() if k != "skipped"}
    if sizes:
        lines.append("counts: " + ", ".join(f"{k}={v}" for k, v in sizes.items()))
    for s in skipped:
        lines.append(f"skipped {s['count']} {s['what']}: {s['reason']}")
    for note in r.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
