"""CCGR (Zou et al., "Cross-Covariate Gait Recognition: A Benchmark", AAAI 2024): 54 walking conditions × all views.

The full CCGR test set has no GALLERY_SET list (that is CCGR-MINI's partition, see ``ccgr-mini``); its
evaluator (the CCGR authors' ``CCGR_EVA.py`` shipped for OpenGait) scores a grid instead:

* for every probe condition p, gallery condition g, probe view v1 and gallery view v2, the cell
  ``acc[p, g, v1, v2]`` = ``round(100 * hits / probes, 2)``: probes of condition p at view v1 whose true
  identity is among the k nearest gallery sequences of condition g at view v2 (k = 1 and 5);
* ``acc_all[p, g]``: the identical-view cells removed, the mean over gallery views, then over probe views;
* **hard** (the default, gallery = all 54 conditions): per gallery condition g, the mean of ``acc_all[p, g]``
  over the other 53 probe conditions; ``Rank-k hard`` is the mean of those over g, ``Rank-k easy`` the value
  for g = ``NM1``;
* **easy** (the evaluator's quick ``--easy`` mode, gallery = ``NM1`` only): ``Rank-k easy`` is the mean of
  ``acc_all[p, NM1]`` over all 54 probe conditions, NM1 included (its cells are cross-view only). This is not
  the same number as the hard run's ``Rank-k easy``, which leaves the NM1 probe condition out.

Departures, noted in the result when they occur: a cell without probes or without gallery rows is undefined
(NaN) and the means run over the defined cells (the evaluator stores 0 or NaN there), and a cell whose
gallery has fewer than 5 rows is scored (the evaluator's rank-5 slicing fails and leaves it at 0). Distances
are gaitforge's part distances under the chosen metric (the evaluator's default ``dist_model=1`` is the
part-averaged euc distance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import EvalData
from ..results import EvaluationResult
from ..streaming import FirstMatchReducer, encode_jointly
from .base import Protocol, ScoreOptions, SkipLog, TypeSet, require_rows
from .grid import cell_accuracy, de_diag, nan_mean, sorted_views

__all__ = ["CCGR_CONDITIONS", "CrossCovariateGrid"]

_KEY = "scalar/test_accuracy/"

#: The 54 walking conditions (sequence types) of CCGR, in the evaluator's order; NM1 is the easy gallery.
CCGR_CONDITIONS: tuple[str, ...] = tuple(
    "NM1 NM2 SU1 UB1 BK1 PK1 SD1 BG1 BGHV1 BX1 BXHV1 BXHVBG1 BXBGCL1 CL1 CLPK1 CLUB1 CLUBBG1 CLUBBGSD1 "
    "BGCRCL1 BGCRCLSU1 BGCRCLCVUB1 BGCRCLCV1 CV1 CVBXHV1 CVBXBG1 BGCR1 CR1 UBBGSD1 SF1 SFUBBG1 SFCL1 "
    "SFUBBGCL1 BMCL1 BMCLBG1 BMCLBGBX1 BM1 ASBGCLBXCV1 ASBXHVCL1 ASBX1 AS1 DN1 DNBK1 DNBKBG1 DNBKBGCL1 "
    "ATUBBGCLBG1 ATBGCL1 ATBG1 AT1 DT1 DTBXHV1 DTBXHVCL1 DTBXCLBG1 FD1 CD1".split()
)


@dataclass(frozen=True)
class CrossCovariateGrid(Protocol):
    """Condition × condition × view × view rank-k grid, reduced to CCGR's easy and hard figures.

    Attributes:
        conditions: Probe conditions (sequence types), in order; the first is the easy gallery.
        hard: Gallery = every condition (hard and easy figures); ``False``: gallery = the first condition
            only (the evaluator's quick easy mode).
        ranks: The k of the reported rank-k figures.
    """

    conditions: tuple[str, ...] = CCGR_CONDITIONS
    hard: bool = True
    ranks: tuple[int, ...] = (1, 5)

    family = "ccgr"

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        conds = list(self.conditions)
        gallery_conds = conds if self.hard else conds[:1]
        view_list = sorted_views(data.views)
        n_views = len(view_list)
        probe_mask = np.isin(data.types, conds)
        gallery_mask = np.isin(data.types, gallery_conds)
        require_rows(gallery_mask, "gallery", data, [TypeSet(tuple(gallery_conds))])
        require_rows(probe_mask, "probe", data, [TypeSet(tuple(conds))])
        if (~probe_mask).any():
            log.skip(
                "rows",
                int((~probe_mask).sum()),
                "sequence type is not one of the CCGR walking conditions",
                types=sorted(set(data.types[~probe_mask].tolist()))[:20],
            )
        # gallery sorted by (condition, view): one column group per (g, v2)
        cond_code = {c: i for i, c in enumerate(gallery_conds)}
        view_code = {v: i for i, v in enumerate(view_list)}
        g_rows = np.flatnonzero(gallery_mask)
        g_cell = np.array(
            [cond_code[t] * n_views + view_code[v] for t, v in zip(data.types[g_rows], data.views[g_rows])],
            dtype=np.int64,
        )
        order = np.argsort(g_cell, kind="stable")
        g_rows, g_cell = g_rows[order], g_cell[order]
        bounds = np.searchsorted(g_cell, np.arange(len(gallery_conds) * n_views + 1))
        groups = [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(bounds) - 1)]
        sizes = np.diff(bounds).reshape(len(gallery_conds), n_views)
        p_rows = np.flatnonzero(probe_mask)
        q_lab, g_lab = encode_jointly(data.labels[p_rows], data.labels[g_rows])
        red = FirstMatchReducer(q_lab, g_lab, groups)
        self._scan(data, options, [red], p_rows, g_rows)

        # acc[k][p, g, v1, v2]
        p_types, p_views = data.types[p_rows], data.views[p_rows]
        acc = {k: np.full((len(conds), len(gallery_conds), n_views, n_views), np.nan) for k in self.ranks}
        for p, cond in enumerate(conds):
            for v1, view in enumerate(view_list):
                first = red.first[(p_types == cond) & (p_views == view)]
                for k in self.ranks:
                    cells = cell_accuracy(first, k, sizes.reshape(-1))  # [G * V]
                    acc[k][p, :, v1, :] = cells.reshape(len(gallery_conds), n_views)
        undefined = int(np.isnan(acc[self.ranks[0]]).sum())
        if undefined:
            log.note(
                f"{undefined} of {acc[self.ranks[0]].size} condition/view cells have no probe or no gallery "
                f"rows; they are left out of the means (the evaluator stores 0 or NaN there)"
            )
        small = int((sizes < max(self.ranks)).sum())
        if small:
            log.note(
                f"{small} gallery cells hold fewer than {max(self.ranks)} rows; scored here (the evaluator "
                f"leaves those at 0)"
            )

        figures, extra = {}, {}
        for k in self.ranks:
            per_cond = np.array(  # acc_all[p, g]
                [[nan_mean(de_diag(acc[k][p, g])) for g in range(len(gallery_conds))] for p in range(len(conds))]
            )
            if self.hard:
                per_gallery = de_diag(per_cond.T)  # [G]: mean over the other probe conditions
                figures[f"{_KEY}Rank-{k} hard"] = nan_mean(per_gallery)
                figures[f"{_KEY}Rank-{k} easy"] = float(per_gallery[0])
                extra.update({f"hard/{c}/Rank-{k}": float(v) for c, v in zip(gallery_conds, per_gallery)})
            else:
                figures[f"{_KEY}Rank-{k} easy"] = nan_mean(per_cond[:, 0])
            extra.update({f"easy/{c}/Rank-{k}": float(v) for c, v in zip(conds, per_cond[:, 0])})
        if len(conds) > 1:
            extra[f"{conds[1]}-vs-{conds[0]}/Rank-1 per probe view"] = de_diag(acc[self.ranks[0]][1, 0]).tolist()
        counts = {"probes": int(p_rows.size), "gallery": int(g_rows.size), "views": n_views}
        settings = {"gallery_conditions": "all" if self.hard else conds[0]}
        return self._result(options, log, settings, figures=figures, extra=extra, counts=counts)
