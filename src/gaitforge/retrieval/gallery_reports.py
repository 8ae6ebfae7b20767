"""What a :class:`~gaitforge.retrieval.gallery.Gallery` says about itself: open-set calibration (leave-one-out
distances over the enrolled sequences, the threshold at a false-accept rate), the index check against the catalog,
and the summary. ``Gallery`` inherits these; the storage, locking and mutations stay in ``gallery.py``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gaitforge.retrieval.calibration import calibrate_threshold
from gaitforge.retrieval.catalog import DB_NAME
from gaitforge.retrieval.snapshot import read_manifest
from gaitforge.retrieval.types import Calibration
from gaitforge.retrieval.vectors import pairwise_distances

if TYPE_CHECKING:
    from gaitforge.retrieval.catalog import Catalog
    from gaitforge.retrieval.live_index import LiveIndex

__all__ = ["GalleryReports"]

logger = logging.getLogger("gaitforge.retrieval.gallery")


class GalleryReports:
    """Calibration, verification and summary of a gallery (``Gallery`` provides the state declared here)."""

    if TYPE_CHECKING:
        path: Path
        dim: int
        metric: str
        _catalog: Catalog
        _live: LiveIndex
        _meta: dict[str, Any]
        _mutex: threading.RLock

        @property
        def index_kind(self) -> str: ...
        @property
        def index_options(self) -> dict[str, Any]: ...
        def _sync(self) -> None: ...
        def _set_meta(self, values: dict[str, Any]) -> None: ...

    # -- open set ----------------------------------------------------------------------------------------

    def calibrate(self, genuine: np.ndarray, impostor: np.ndarray, far: float = 0.01) -> Calibration:
        """Set :attr:`threshold` at the false-accept rate ``far`` from genuine / impostor distances.

        See :mod:`~gaitforge.retrieval.calibration` for the distances (``leave_one_out_distances`` on a held-out
        labelled set, or :meth:`leave_one_out_distances` on the gallery itself).
        """
        result = calibrate_threshold(genuine, impostor, far)
        self._set_meta({"threshold": result.threshold, "calibration": result.to_dict()})
        logger.info("threshold %.4f at FAR %.4f (TAR %.4f)", result.threshold, result.far, result.tar)
        return result

    def leave_one_out_distances(self, max_probes: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Genuine / impostor best distances with enrolled sequences as probes (each left out of its own search).

        Up to ``max_probes`` sequences are drawn at random. Genuine: distance to the closest *other* sequence of the
        probe's subject (subjects with one sequence give none); impostor: distance to the closest other subject,
        as :meth:`identify` would report it if the probe's subject were not enrolled.

        Returns:
            ``(genuine, impostor)`` float64 arrays.
        """
        with self._mutex:
            self._sync()
            with self._catalog.read():
                ids = self._catalog.live_ids()
                pick = np.sort(np.random.default_rng(seed).permutation(ids)[:max_probes])
                owner = {i: s for i, (s, _) in self._catalog.lookup(pick).items()}
                by_subject: dict[str, tuple[np.ndarray, np.ndarray]] = {}
                for name in sorted(set(owner.values())):
                    chunks = list(self._catalog.iter_vectors(self.dim, subject=name))
                    by_subject[name] = (np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]))
            if self._catalog.count_subjects() < 2:
                raise ValueError(f"{self.path}: leave-one-out calibration needs at least two enrolled subjects")
            probes = np.stack([by_subject[owner[int(i)]][1][by_subject[owner[int(i)]][0] == i][0] for i in pick])
            found = self._live.search_subjects(probes, 2, exclude=[int(i) for i in pick])
        genuine, impostor = [], []
        for i, probe, matches in zip(pick, probes, found):
            own_ids, own_vectors = by_subject[owner[int(i)]]
            others = own_vectors[own_ids != i]
            if len(others):
                genuine.append(float(pairwise_distances(probe[None], others, self.metric).min()))
            other = [m.distance for m in matches if m.subject != owner[int(i)]]
            if other:
                impostor.append(other[0])
        return np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64)

    # -- housekeeping ------------------------------------------------------------------------------------

    def verify(self) -> dict[str, int]:
        """Check that the index holds exactly the committed sequences; ValueError naming the difference."""
        with self._mutex:
            self._sync()
            assert self._live.index is not None
            with self._catalog.read():
                live = self._catalog.live_ids()
            have = self._live.index.ids()
        missing, extra = np.setdiff1d(live, have), np.setdiff1d(have, live)
        if missing.size or extra.size:
            raise ValueError(
                f"{self.path}: index differs from the catalog: {missing.size} committed sequences missing "
                f"(e.g. {missing[:5].tolist()}), {extra.size} extra (e.g. {extra[:5].tolist()})"
            )
        return {"sequences": int(live.size), "generation": self._live.generation}

    def info(self) -> dict[str, Any]:
        """Summary: folder, dim, metric, index, counts, threshold, calibration, model, index file."""
        with self._mutex:
            self._sync()
            assert self._live.index is not None
            manifest = read_manifest(self.path) or {}
            index_file = self.path / manifest["file"] if manifest.get("file") else None
            return {
                "path": str(self.path),
                "dim": self.dim,
                "metric": self.metric,
                "index": self.index_kind,
                "index_options": self.index_options,
                "index_stage": self._live.index.stage,
                "subjects": self._catalog.count_subjects(),
                "sequences": self._catalog.count_sequences(),
                "generation": self._live.generation,
                "saved_generation": manifest.get("generation"),
                "index_file_bytes": index_file.stat().st_size if index_file and index_file.exists() else None,
                "database_bytes": (self.path / DB_NAME).stat().st_size,
                "threshold": self._meta.get("threshold"),
                "calibration": self._meta.get("calibration"),
                "model": self._meta.get("model"),
                "created": self._meta.get("created"),
            }
