"""Submission protocols: the official GREW and HID test sets have hidden labels, so the output is a file of
predicted gallery ids per probe, uploaded to the challenge server.

* GREW (Zhu et al., ICCV 2021): probes type ``03``, gallery types ``01`` + ``02``; the 20 nearest gallery
  *rows* per probe (an identity may repeat), written as integer ids after the probe's video id (kept in
  ``views``).
* HID (Human Identification at a Distance challenge, CASIA-E based): probes are rows labelled ``probe``, the
  gallery every other row; the nearest gallery label per probe, optionally after k-reciprocal re-ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import EvalData
from ..rerank import k_reciprocal_rerank
from ..results import EvaluationResult
from ..streaming import TopKReducer, scan
from ..submission import format_label, write_submission_csv
from .base import Protocol, ScoreOptions, SkipLog, TypeSet, require_rows

__all__ = ["TopKSubmission", "NearestLabelSubmission"]


def _finish(
    protocol: Protocol,
    options: ScoreOptions,
    log: SkipLog,
    header: list[str],
    rows: list[list[str]],
    counts: dict,
) -> EvaluationResult:
    path = None
    if options.submission_path is not None:
        path = write_submission_csv(options.submission_path, header, rows)
    else:
        log.note("no submission path given: rows are kept in the result only")
    info = {"path": str(path) if path else None, "header": header, "num_rows": len(rows)}
    return protocol._result(
        options,
        log,
        counts=counts,
        submission=info,
        submission_rows=rows,
        settings={"rerank": options.rerank},
    )


@dataclass(frozen=True)
class TopKSubmission(Protocol):
    """k nearest gallery rows per probe.

    Attributes:
        probe: Probe types.
        gallery: Gallery types.
        k: List length.
        id_header: First header cell (the probe's video id, read from ``views``).
        label_style: ``"int"`` (peer: ``int(label)``, leading zeros dropped) or ``"str"``.
    """

    probe: TypeSet = TypeSet(("03",))
    gallery: TypeSet = TypeSet(("01", "02"))
    k: int = 20
    id_header: str = "videoId"
    label_style: str = "int"

    family = "submission"

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        p_mask, g_mask = self.probe.mask(data.types), self.gallery.mask(data.types)
        require_rows(p_mask, "probe", data, [self.probe])
        require_rows(g_mask, "gallery", data, [self.gallery])
        if g_mask.sum() < self.k:
            raise ValueError(
                f"{data.source}: a {self.k}-long submission needs at least {self.k} gallery rows "
                f"(types {self.gallery.describe()}), got {int(g_mask.sum())}"
            )
        log.skip(
            "rows",
            int((~(p_mask | g_mask)).sum()),
            "type is neither probe nor gallery",
            types=sorted(set(data.types[~(p_mask | g_mask)].tolist()))[:20],
        )
        probe_rows, gallery_rows = np.flatnonzero(p_mask), np.flatnonzero(g_mask)
        red = TopKReducer(probe_rows.size, self.k, gallery_rows.size)
        self._scan(data, options, [red], probe_rows, gallery_rows)
        g_labels = [format_label(s, self.label_style) for s in data.labels[gallery_rows].tolist()]
        video_ids = data.views[probe_rows].tolist()
        rows = [[vid, *(g_labels[j] for j in idx)] for vid, idx in zip(video_ids, red.indices.tolist())]
        header = [self.id_header] + [f"rank{i}" for i in range(1, self.k + 1)]
        counts = {"probes": int(probe_rows.size), "gallery": int(gallery_rows.size)}
        return _finish(self, options, log, header, rows, counts)


@dataclass(frozen=True)
class NearestLabelSubmission(Protocol):
    """Nearest gallery label per probe (probes are the rows whose label is ``probe_label``).

    Attributes:
        probe_label: Label value marking probe rows.
        header: CSV header.
        k1, k2, lambda_value: k-reciprocal re-ranking parameters (used with ``rerank=True``).
    """

    probe_label: str = "probe"
    header: tuple[str, str] = ("videoID", "label")
    k1: int = 6
    k2: int = 6
    lambda_value: float = 0.3

    family = "submission"
    supports_rerank = True

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        p_mask = data.labels == self.probe_label
        if not p_mask.any():
            raise ValueError(f"{data.source}: no probe rows (rows whose label is {self.probe_label!r})")
        if p_mask.all():
            raise ValueError(f"{data.source}: no gallery rows (every label is {self.probe_label!r})")
        probe_rows, gallery_rows = np.flatnonzero(p_mask), np.flatnonzero(~p_mask)
        if options.rerank:
            res = k_reciprocal_rerank(
                data.embeddings[probe_rows],
                data.embeddings[gallery_rows],
                options.metric,
                self.k1,
                self.k2,
                self.lambda_value,
                top_k=1,
                memory_limit_mb=options.memory_limit_mb,
            )
            nearest = res.indices[:, 0]
            log.note(
                f"k-reciprocal re-ranking (Zhong et al. 2017) with k1={self.k1}, k2={self.k2}, "
                f"lambda={self.lambda_value}"
            )
        else:
            red = TopKReducer(probe_rows.size, 1, gallery_rows.size)
            scan(
                data.embeddings,
                data.embeddings,
                options.metric,
                [red],
                options.memory_limit_mb,
                options.chunk_rows,
                probe_rows,
                gallery_rows,
            )
            nearest = red.indices[:, 0]
        g_labels = data.labels[gallery_rows]
        rows = [[vid, str(g_labels[j])] for vid, j in zip(data.views[probe_rows].tolist(), nearest.tolist())]
        counts = {"probes": int(probe_rows.size), "gallery": int(gallery_rows.size)}
        return _finish(self, options, log, list(self.header), rows, counts)
