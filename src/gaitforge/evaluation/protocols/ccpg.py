"""CCPG, the cloth-changing gait benchmark (Li et al., "An In-Depth Exploration of Person Re-Identification
and Gait Recognition in Cloth-Changing Conditions", CVPR 2023), under both of its protocols.

Four conditions (CL, UP, DN, BG), each with its own probe and gallery types. Views are camera ids cut at the
first ``_`` (``"03_2"`` → ``"03"``; the peer rewrites the caller's list in place, gaitforge does not).

* Gait protocol: rank-1 accuracy per (probe view, gallery view) cell; the peer *returns* the full ``[V, V]``
  matrices (diagonal included) and *logs* the identical-view-excluded means, which go to ``extra``.
* Re-ID protocol: the condition's probes against its whole gallery with entries of the same identity AND view
  removed; probes without a remaining match are skipped; CMC, mAP, mINP. The peer crashes when a probe keeps
  fewer gallery entries than the curve length; gaitforge saturates the curve at the probe's last entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import EvalData
from ..metrics import cmc_from_first_positions
from ..results import EvaluationResult
from ..streaming import FirstMatchReducer, RankingReducer, encode_jointly
from .base import Condition, Protocol, ScoreOptions, SkipLog, require_rows
from .grid import cell_accuracy, de_diag, grouped_gallery, nan_mean, sorted_views
from .retrieval import cmc_float32

__all__ = ["ClothChangingProtocol", "parse_view_prefix"]

_KEY = "scalar/test_accuracy/"


def parse_view_prefix(views: np.ndarray) -> np.ndarray:
    """Camera id of each view string: the part before the first ``_``."""
    return np.array([v.split("_", 1)[0] for v in np.asarray(views).tolist()], dtype=str)


@dataclass(frozen=True)
class ClothChangingProtocol(Protocol):
    """Per-condition galleries; gait (view grid) and re-ID (CMC/mAP/mINP) figures.

    Attributes:
        conditions: Each with probe and gallery types.
        max_rank: Re-ID CMC length (reduced to the gallery size).
        reid_ranks: Re-ID ranks reported in ``extra``.
    """

    conditions: tuple[Condition, ...] = ()
    max_rank: int = 50
    reid_ranks: tuple[int, ...] = (1, 5, 10)

    family = "ccpg"

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        views = parse_view_prefix(data.views)
        view_list = sorted_views(views)
        used = np.zeros(data.num_rows, dtype=bool)
        figures, extra, per_view, cmc = {}, {}, {}, {}
        counts = {"probes": {}, "gallery": {}, "valid_probes": {}}
        for cond in self.conditions:
            p_mask, g_mask = cond.probe.mask(data.types), cond.gallery.mask(data.types)
            used |= p_mask | g_mask
            counts["probes"][cond.name], counts["gallery"][cond.name] = int(p_mask.sum()), int(g_mask.sum())
            if not p_mask.any() or not g_mask.any():
                log.note(
                    f"{cond.name}: no {'probe' if not p_mask.any() else 'gallery'} rows "
                    f"(probe {cond.probe.describe()}, gallery {cond.gallery.describe()}); figures are null"
                )
                figures[f"{_KEY}{cond.name}"] = None
                continue
            probe_rows = np.flatnonzero(p_mask)
            gallery_rows, groups = grouped_gallery(np.flatnonzero(g_mask), views, view_list)
            sizes = np.array([b - a for a, b in groups])
            q_lab, g_lab = encode_jointly(data.labels[probe_rows], data.labels[gallery_rows])
            q_view, g_view = encode_jointly(views[probe_rows], views[gallery_rows])
            grid = FirstMatchReducer(q_lab, g_lab, groups)
            reid = RankingReducer(q_lab, g_lab, q_view, g_view)
            self._scan(data, options, [grid, reid], probe_rows, gallery_rows)

            probe_views = views[probe_rows]
            view_rows = [np.flatnonzero(probe_views == v) for v in view_list]
            acc = np.stack([cell_accuracy(grid.first[rows], 1, sizes) for rows in view_rows])
            if not np.isfinite(acc).all():
                log.note(
                    f"{cond.name}: {int((~np.isfinite(acc)).sum())} view cells have no probes or no gallery "
                    f"rows and are null (the peer fails or yields NaN there)"
                )
            per_probe_view = de_diag(acc)
            figures[f"{_KEY}{cond.name}"] = acc
            extra[f"{cond.name}/gait-R1-excl-identical-view"] = nan_mean(per_probe_view)
            extra[f"{cond.name}/gait-R1-incl-identical-view"] = nan_mean(acc.ravel())
            per_view[cond.name] = {
                "probe_views": view_list,
                "gallery_views": view_list,
                "matrix": acc,
                "accuracy": per_probe_view,
                "num_probes": [int(r.size) for r in view_rows],
            }

            valid = reid.num_rel > 0
            counts["valid_probes"][cond.name] = int(valid.sum())
            log.skip(
                f"{cond.name} re-ID probes",
                int((~valid).sum()),
                "no gallery entry of the same identity at another view; left out of re-ID figures "
                "(as the peer)",
            )
            if not valid.any():
                log.note(f"{cond.name}: no valid re-ID probe; re-ID figures are null")
                continue
            max_rank = min(self.max_rank, gallery_rows.size)
            curve = cmc_float32(cmc_from_first_positions(reid.first[valid], max_rank), int(valid.sum()))
            for k in self.reid_ranks:
                extra[f"{cond.name}/reid-Rank-{k}"] = float(curve[min(k, max_rank) - 1] * np.float32(100))
            extra[f"{cond.name}/reid-mAP"] = float(np.mean(reid.ap[valid]) * 100)
            extra[f"{cond.name}/reid-mINP"] = float(np.mean(reid.inp[valid]) * 100)
            cmc[cond.name] = [float(c * np.float32(100)) for c in curve]
        require_rows(used, "probe or gallery", data, [c.probe for c in self.conditions])
        log.skip(
            "rows",
            int((~used).sum()),
            "sequence type belongs to no condition's probe or gallery set",
            types=sorted(set(data.types[~used].tolist()))[:20],
        )
        return self._result(
            options, log, figures=figures, extra=extra, per_view=per_view, cmc=cmc, counts=counts
        )
