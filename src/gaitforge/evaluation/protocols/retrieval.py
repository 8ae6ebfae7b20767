"""Retrieval protocols of in-the-wild datasets.

* :class:`PartitionRetrieval` (Gait3D, CCGR-MINI, FreeGait): probe and gallery sets come from the partition
  JSON; CMC Rank-1/5/10, mAP and mINP over the whole gallery, no view exclusion (Zheng et al., "Gait
  Recognition in the Wild with Dense 3D Representations and A Benchmark", CVPR 2022).
* :class:`RealScene` (GREW local check, Zhu et al., "Gait Recognition in the Wild: A Benchmark", ICCV 2021):
  gallery type ``01`` against probe type ``02``, rank-1..20 over *all* probes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import EvalData
from ..metrics import cmc_from_first_positions
from ..results import EvaluationResult
from ..streaming import FirstMatchReducer, RankingReducer, encode_jointly
from .base import Protocol, ScoreOptions, SkipLog, TypeSet, require_rows

__all__ = ["PartitionRetrieval", "RealScene", "cmc_float32", "partition_keys"]

_KEY = "scalar/test_accuracy/"


def cmc_float32(counts: np.ndarray, num_valid: int) -> np.ndarray:
    """The peer's CMC: float32 counts divided in float32 by the number of valid probes."""
    return counts.astype(np.float32) / np.float32(num_valid)


def partition_keys(data: EvalData) -> np.ndarray:
    """``"<label>-<type>-<view>"`` per row, the id format of the partition JSON's probe/gallery lists."""
    return np.char.add(np.char.add(np.char.add(np.char.add(data.labels, "-"), data.types), "-"), data.views)


@dataclass(frozen=True)
class PartitionRetrieval(Protocol):
    """Probe/gallery split from a partition list; CMC, mAP and mINP.

    Attributes:
        partition_key: The partition JSON's list (``"PROBE_SET"`` or ``"GALLERY_SET"``).
        listed_role: What the listed rows are (``"probe"``: the rest is gallery; ``"gallery"``: the reverse).
        ranks: CMC ranks reported under the peer's keys.
        max_rank: Length of the CMC curve (reduced to the gallery size).
    """

    partition_key: str = "PROBE_SET"
    listed_role: str = "probe"
    ranks: tuple[int, ...] = (1, 5, 10)
    max_rank: int = 50

    family = "retrieval"
    uses_partition = True

    def _probe_mask(self, data: EvalData, partition: dict | None) -> np.ndarray:
        if partition is None:
            raise ValueError(
                f"protocol {self.name!r} needs the partition JSON (its {self.partition_key!r} list names the "
                f"{self.listed_role} sequences); pass partition=... / --partition FILE"
            )
        if self.partition_key not in partition:
            raise ValueError(
                f"partition for {self.name!r} has no {self.partition_key!r} list "
                f"(keys: {sorted(partition)}); "
                f"it must list '<label>-<type>-<view>' ids"
            )
        listed = np.isin(partition_keys(data), np.asarray(list(partition[self.partition_key]), dtype=str))
        return listed if self.listed_role == "probe" else ~listed

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        probe_mask = self._probe_mask(data, options.partition)
        if not probe_mask.any() or probe_mask.all():
            side = "probe" if not probe_mask.any() else "gallery"
            raise ValueError(
                f"{data.source}: the partition's {self.partition_key} leaves no {side} rows; ids are "
                f"'<label>-<type>-<view>', e.g. {partition_keys(data)[:1].tolist()}"
            )
        probe_rows, gallery_rows = np.flatnonzero(probe_mask), np.flatnonzero(~probe_mask)
        q_lab, g_lab = encode_jointly(data.labels[probe_rows], data.labels[gallery_rows])
        red = RankingReducer(q_lab, g_lab)
        self._scan(data, options, [red], probe_rows, gallery_rows)
        return self.summarise(red, gallery_rows.size, probe_rows.size, log, options)

    def summarise(
        self, red: RankingReducer, n_gallery: int, n_probe: int, log: SkipLog, options: ScoreOptions
    ) -> EvaluationResult:
        """Figures from a finished :class:`RankingReducer` (shared with CCPG's re-ID protocol)."""
        valid = red.num_rel > 0
        log.skip(
            "probes",
            int((~valid).sum()),
            "identity has no gallery sequence; left out of CMC, mAP and mINP (as the peer)",
        )
        if not valid.any():
            raise ValueError("no probe identity occurs in the gallery; CMC/mAP are undefined")
        max_rank = min(self.max_rank, n_gallery)
        cmc = cmc_float32(cmc_from_first_positions(red.first[valid], max_rank), int(valid.sum()))
        figures = {}
        for k in self.ranks:
            value = cmc[min(k, max_rank) - 1] * np.float32(100)
            figures[f"{_KEY}Rank-{k}"] = float(value)
        if max(self.ranks) > max_rank:
            log.note(
                f"gallery has only {n_gallery} rows: Rank-k for k > {max_rank} equals Rank-{max_rank} "
                f"(the peer fails with an index error)"
            )
        figures[f"{_KEY}mAP"] = float(np.mean(red.ap[valid]) * 100)
        figures[f"{_KEY}mINP"] = float(np.mean(red.inp[valid]) * 100)
        counts = {"probes": int(n_probe), "gallery": int(n_gallery), "valid_probes": int(valid.sum())}
        curve = [float(c * np.float32(100)) for c in cmc]
        return self._result(options, log, figures=figures, cmc={"CMC": curve}, counts=counts)


@dataclass(frozen=True)
class RealScene(Protocol):
    """One probe set against one gallery set; rank-k accuracy over all probes (misses included).

    Attributes:
        probe: Probe types.
        gallery: Gallery types.
        num_rank: Length of the accuracy curve.
        reported: Ranks returned under the peer's keys; the others go to ``extra``.
    """

    probe: TypeSet = TypeSet(("02",))
    gallery: TypeSet = TypeSet(("01",))
    num_rank: int = 20
    reported: tuple[int, ...] = (1, 5)

    family = "real_scene"

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        p_mask, g_mask = self.probe.mask(data.types), self.gallery.mask(data.types)
        require_rows(g_mask, "gallery", data, [self.gallery])
        require_rows(p_mask, "probe", data, [self.probe])
        log.skip(
            "rows",
            int((~(p_mask | g_mask)).sum()),
            f"type is neither probe ({self.probe.describe()}) nor gallery ({self.gallery.describe()})",
            types=sorted(set(data.types[~(p_mask | g_mask)].tolist()))[:20],
        )
        probe_rows, gallery_rows = np.flatnonzero(p_mask), np.flatnonzero(g_mask)
        q_lab, g_lab = encode_jointly(data.labels[probe_rows], data.labels[gallery_rows])
        red = FirstMatchReducer(q_lab, g_lab)
        self._scan(data, options, [red], probe_rows, gallery_rows)
        first = red.first[:, 0]
        log.skip(
            "probes (counted as misses)",
            int((first < 0).sum()),
            "identity has no gallery sequence; kept in the denominator, as the peer",
        )
        n = probe_rows.size
        counts_k = cmc_from_first_positions(first, self.num_rank)
        acc = np.round(counts_k * 100 / n, 2)
        if gallery_rows.size < self.num_rank:
            log.note(
                f"gallery has only {gallery_rows.size} rows: ranks beyond it equal the last rank "
                f"(the peer fails)"
            )
        figures = {f"{_KEY}Rank-{k}": float(acc[k - 1]) for k in self.reported}
        extra = {f"Rank-{k}": float(acc[k - 1]) for k in (10, 20) if k <= self.num_rank}
        counts = {"probes": int(n), "gallery": int(gallery_rows.size)}
        return self._result(
            options, log, figures=figures, extra=extra, cmc={"CMC": acc.tolist()}, counts=counts
        )
