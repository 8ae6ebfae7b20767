"""Indoor multi-view protocols: single-view gallery (CASIA-B, OU-MVLP, CASIA-E, SUSTech1K) and the
cross-view-gallery variant (CASIA-B, OU-MVLP).

Single-view gallery (Yu et al., "A Framework for Evaluating the Effect of View Angle, Clothing and Carrying
Condition on Gait Recognition", ICPR 2006): for every condition, probe view v1 and gallery view v2, the rank-k
accuracy of the condition's probes at v1 against the gallery restricted to v2; identical views are excluded
when averaging. Cross-view gallery (Shen et al., "A Comprehensive Study on the Evaluation of Silhouette-based
Gait Recognition", IEEE T-BIOM 2022): probes of one view against the gallery at all views, with entries of
the same identity AND view removed; Rank-1 over all probes and mAP over probes with a match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import EvalData
from ..results import EvaluationResult
from ..streaming import RankingReducer, encode_jointly
from .base import Condition, Protocol, ScoreOptions, SkipLog, TypeSet, require_rows
from .grid import cell_accuracy, de_diag, first_match_grid, grouped_gallery, nan_mean, sorted_views

__all__ = ["SingleViewGallery", "CrossViewGallery"]

_KEY = "scalar/test_accuracy/"


def _check_views(log: SkipLog, view_list: list[str], known: tuple[str, ...] | None) -> None:
    if known:
        unknown = [v for v in view_list if v not in known]
        if unknown:
            log.note(
                f"views {unknown} are not among the dataset's usual views {list(known)}; "
                f"they are evaluated as "
                f"their own views (as the peer does), which changes the view count used in the averages"
            )


def _unused_rows(log: SkipLog, data: EvalData, used: np.ndarray) -> None:
    if (~used).any():
        log.skip(
            "rows",
            int((~used).sum()),
            "sequence type belongs to no probe or gallery set of the protocol",
            types=sorted(set(data.types[~used].tolist()))[:20],
        )


@dataclass(frozen=True)
class CrossViewGallery(Protocol):
    """Probes of one view against a gallery of all views (same identity + same view removed).

    Attributes:
        conditions: Probe sets, reported as ``<name>-Rank@1`` and ``<name>-mAP``.
        gallery: Gallery types (all views).
        known_views: The dataset's view names (unknown ones are noted, not dropped).
    """

    conditions: tuple[Condition, ...] = ()
    gallery: TypeSet = TypeSet(())
    known_views: tuple[str, ...] | None = None

    family = "cross_view"

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        view_list = sorted_views(data.views)
        _check_views(log, view_list, self.known_views)
        g_mask = self.gallery.mask(data.types)
        require_rows(g_mask, "gallery", data, [self.gallery])
        cond_masks = [c.probe.mask(data.types) for c in self.conditions]
        any_probe = np.logical_or.reduce(cond_masks)
        require_rows(any_probe, "probe", data, [c.probe for c in self.conditions])
        _unused_rows(log, data, g_mask | any_probe)
        probe_rows, gallery_rows = np.flatnonzero(any_probe), np.flatnonzero(g_mask)
        q_lab, g_lab = encode_jointly(data.labels[probe_rows], data.labels[gallery_rows])
        q_view, g_view = encode_jointly(data.views[probe_rows], data.views[gallery_rows])
        red = RankingReducer(q_lab, g_lab, q_view, g_view)
        self._scan(data, options, [red], probe_rows, gallery_rows)

        figures, per_view, counts = {}, {}, {"gallery": int(gallery_rows.size), "probes": {}}
        probe_views = data.views[probe_rows]
        for cond, mask in zip(self.conditions, cond_masks):
            in_cond = mask[probe_rows]
            rank1, m_ap, n_per_view, raw_r1, raw_ap = [], [], [], [], []
            for v in view_list:
                rows = np.flatnonzero(in_cond & (probe_views == v))
                empty = rows[red.num_valid[rows] == 0]
                log.skip(
                    f"{cond.name} probes at view {v}",
                    empty.size,
                    "no gallery entry left after removing same-identity same-view entries (the peer asserts)",
                )
                rows = rows[red.num_valid[rows] > 0]
                n_per_view.append(int(rows.size))
                if rows.size == 0:
                    for lst in (rank1, m_ap, raw_r1, raw_ap):
                        lst.append(np.nan)
                    continue
                acc = np.mean(red.first[rows] == 0)
                with_match = rows[red.num_rel[rows] > 0]
                ap = np.mean(red.ap[with_match]) if with_match.size else np.nan
                raw_r1.append(acc)
                raw_ap.append(ap)
                rank1.append(np.round(acc * 100, 2))
                m_ap.append(np.round(ap * 100, 2))
            missing = [v for v, n in zip(view_list, n_per_view) if n == 0]
            if missing and any(n_per_view):
                log.note(
                    f"{cond.name}: no probes at views {missing}; the peer reports NaN for {cond.name}, "
                    f"gaitforge averages over the {len(view_list) - len(missing)} views that have probes"
                )
            no_match = int(((red.num_rel == 0) & (red.num_valid > 0) & in_cond).sum())
            log.skip(
                f"{cond.name} probes from mAP",
                no_match,
                "no gallery entry of the same identity (counted as Rank-1 misses, left out of mAP, "
                "as the peer)",
            )
            figures[f"{_KEY}{cond.name}-Rank@1"] = nan_mean(np.array(rank1)) if any(n_per_view) else None
            figures[f"{_KEY}{cond.name}-mAP"] = nan_mean(np.array(m_ap)) if any(n_per_view) else None
            per_view[cond.name] = {
                "probe_views": view_list,
                "Rank@1": rank1,
                "mAP": m_ap,
                "num_probes": n_per_view,
                "Rank@1_fraction": raw_r1,
                "mAP_fraction": raw_ap,
            }
            counts["probes"][cond.name] = int(in_cond.sum())
            if not any(n_per_view):
                log.note(f"{cond.name}: no probe rows (types {cond.probe.describe()}); figures are null")
        return self._result(
            options,
            log,
            figures=figures,
            per_view=per_view,
            counts=counts,
            settings={"cross_view_gallery": True},
        )


@dataclass(frozen=True)
class SingleViewGallery(Protocol):
    """Probe view × gallery view grid, identical view excluded from the averages.

    Attributes:
        conditions: Probe sets, reported as ``<name>@R1``.
        gallery: Gallery types.
        num_rank: Ranks per cell (the peer reports R1; SUSTech1K also logs R2..R5, kept in ``extra``).
        cmc_ranks: Length of the CMC curve per condition (``result.cmc``; not computed by the peer): rank-k
            accuracy of each (probe view, gallery view) cell, identical view excluded, averaged like Rank-1.
        drop_views: Views left out of the view list (CASIA-E drops ``270``).
        known_views: The dataset's view names (unknown ones are noted, not dropped).
        cross_view: The cross-view-gallery variant, if the dataset has one.
    """

    conditions: tuple[Condition, ...] = ()
    gallery: TypeSet = TypeSet(())
    num_rank: int = 1
    cmc_ranks: int = 10
    drop_views: tuple[str, ...] = ()
    known_views: tuple[str, ...] | None = None
    cross_view: CrossViewGallery | None = None

    family = "single_view"

    def cross_view_variant(self) -> CrossViewGallery | None:
        return self.cross_view

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        view_list = sorted_views(data.views, self.drop_views)
        _check_views(log, view_list, self.known_views)
        in_views = np.isin(data.views, view_list)
        log.skip(
            "rows", int((~in_views).sum()), f"views {list(self.drop_views)} are excluded by the protocol"
        )
        g_mask = self.gallery.mask(data.types) & in_views
        require_rows(g_mask, "gallery", data, [self.gallery])
        cond_masks = [c.probe.mask(data.types) & in_views for c in self.conditions]
        any_probe = np.logical_or.reduce(cond_masks)
        require_rows(any_probe, "probe", data, [c.probe for c in self.conditions])
        _unused_rows(
            log,
            data,
            self.gallery.mask(data.types)
            | np.logical_or.reduce([c.probe.mask(data.types) for c in self.conditions]),
        )
        probe_rows = np.flatnonzero(any_probe)
        gallery_rows, groups = grouped_gallery(np.flatnonzero(g_mask), data.views, view_list)
        sizes = np.array([b - a for a, b in groups])
        empty_g = [v for v, s in zip(view_list, sizes) if s == 0]
        if empty_g:
            log.note(
                f"no gallery rows at views {empty_g}: those cells are undefined (the peer crashes); "
                f"averages use the defined cells"
            )
        first = first_match_grid(
            data.embeddings,
            data.labels,
            probe_rows,
            gallery_rows,
            groups,
            options.metric,
            options.memory_limit_mb,
            options.chunk_rows,
        )
        absent = ~np.isin(data.labels[probe_rows], data.labels[gallery_rows])
        log.skip(
            "probes (counted as misses)",
            int(absent.sum()),
            "identity has no gallery sequence at any view; every cell counts them as misses, as the peer",
        )

        figures, extra, per_view, cmc = {}, {}, {}, {}
        counts = {
            "gallery": int(gallery_rows.size),
            "gallery_per_view": dict(zip(view_list, sizes.tolist())),
            "probes": {},
        }
        probe_views = data.views[probe_rows]
        for cond, mask in zip(self.conditions, cond_masks):
            in_cond = mask[probe_rows]
            counts["probes"][cond.name] = int(in_cond.sum())
            view_rows = [np.flatnonzero(in_cond & (probe_views == v)) for v in view_list]
            n_per_view = [int(r.size) for r in view_rows]
            entry = {"probe_views": view_list, "gallery_views": view_list, "num_probes": n_per_view}
            if not any(n_per_view):
                log.note(f"{cond.name}: no probe rows (types {cond.probe.describe()}); figures are null")
                figures[f"{_KEY}{cond.name}@R1"] = None
                per_view[cond.name] = entry
                continue
            missing = [v for v, n in zip(view_list, n_per_view) if n == 0]
            if missing:
                log.note(
                    f"{cond.name}: no probes at views {missing}; the peer reports NaN for {cond.name}@R1, "
                    f"gaitforge averages over the probe views that have probes"
                )
            for r in range(1, self.num_rank + 1):
                acc = np.stack([cell_accuracy(first[rows], r, sizes) for rows in view_rows])  # [V, V]
                per_probe_view = de_diag(acc)
                mean = nan_mean(per_probe_view)
                if r == 1:
                    figures[f"{_KEY}{cond.name}@R1"] = mean
                    entry["accuracy"] = per_probe_view
                    entry["matrix"] = acc
                else:
                    extra[f"{cond.name}@R{r}"] = mean
                    entry.setdefault("accuracy_rank_k", {})[f"R{r}"] = per_probe_view
                    entry.setdefault("matrix_rank_k", {})[f"R{r}"] = acc
            per_view[cond.name] = entry
            cmc[cond.name] = [
                nan_mean(de_diag(np.stack([cell_accuracy(first[rows], r, sizes) for rows in view_rows])))
                for r in range(1, self.cmc_ranks + 1)
            ]
        return self._result(
            options,
            log,
            figures=figures,
            extra=extra,
            per_view=per_view,
            cmc=cmc,
            counts=counts,
            settings={"cross_view_gallery": False},
        )
