"""FAISS vector indexes behind one small interface: add with ids, remove, search, save, load.

Kinds (Johnson, Douze and Jégou, "Billion-scale similarity search with GPUs", IEEE TBD 2019, for FAISS):

* ``exact``: brute force (``IndexFlatL2`` / ``IndexFlatIP`` under ``IndexIDMap2``); removal is immediate.
* ``ivf``: inverted file with flat lists (``IndexIVFFlat``; ``nlist`` k-means cells, ``nprobe`` visited per query).
* ``ivfpq``: inverted file with product-quantised codes (``IndexIVFPQ``; ``m`` sub-quantisers of ``nbits`` bits;
  Jégou, Douze and Schmid, "Product quantization for nearest neighbor search", TPAMI 2011).
  Until ``train_min`` vectors exist, both IVF kinds store vectors exactly (a flat stage); crossing it trains the
  coarse quantiser on what is there and moves the vectors over. Removal is immediate (``remove_ids``).
* ``hnsw``: hierarchical navigable small-world graph (``IndexHNSWFlat``; Malkov and Yashunin, TPAMI 2020). The graph
  cannot delete, so removed ids become tombstones excluded from search by an ``IDSelector``; the owner rebuilds the
  index when :attr:`VectorIndex.dead_fraction` passes ``max_dead_fraction``.

Vectors are float32 ``[N, D]``. The ``cos`` metric normalises every vector and searches by inner product.
Distances come back in the metric's units: ``euc`` Euclidean (not squared), ``cos`` ``1 - cosine``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from gaitforge.retrieval.vectors import check_metric

__all__ = ["INDEX_KINDS", "VectorIndex", "resolve_index_options"]

logger = logging.getLogger(__name__)

INDEX_KINDS = ("exact", "ivf", "ivfpq", "hnsw")

_DEFAULTS: dict[str, dict[str, Any]] = {
    "exact": {},
    # train_min 0: 39 * nlist (FAISS's minimum for k-means); train_size 0: 64 * nlist training vectors
    "ivf": {"nlist": 1024, "nprobe": 16, "train_min": 0, "train_size": 0},
    "ivfpq": {"nlist": 1024, "nprobe": 16, "m": 16, "nbits": 8, "train_min": 0, "train_size": 0},
    "hnsw": {"M": 32, "ef_construction": 40, "ef_search": 256, "max_dead_fraction": 0.2},
}


def resolve_index_options(kind: str, dim: int, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of ``kind`` updated with ``options``; unknown keys and bad values raise ValueError."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"index is {kind!r}; expected one of {', '.join(INDEX_KINDS)}")
    out = dict(_DEFAULTS[kind])
    for key, value in (options or {}).items():
        if key not in out:
            known = ", ".join(sorted(out)) or "none"
            raise ValueError(f"index option {key!r} is unknown for index {kind!r}; known options: {known}")
        expected = type(out[key])
        try:
            out[key] = expected(value)
        except (TypeError, ValueError):
            raise ValueError(f"index option {key!r}: {value!r} is not a {expected.__name__}") from None
    for key in ("nlist", "nprobe", "m", "nbits", "M", "ef_construction", "ef_search"):
        if key in out and out[key] < 1:
            raise ValueError(f"index option {key!r} is {out[key]}; expected >= 1")
    if kind in ("ivf", "ivfpq"):
        out["train_min"] = out["train_min"] or 39 * out["nlist"]
        out["train_size"] = out["train_size"] or 64 * out["nlist"]
        if out["train_min"] < out["nlist"]:
            raise ValueError(f"index option 'train_min' is {out['train_min']}; expected >= nlist ({out['nlist']})")
    if kind == "ivfpq" and dim % out["m"]:
        raise ValueError(f"index option 'm' is {out['m']}; it must divide the vector dim {dim}")
    if kind == "hnsw" and not 0.0 < out["max_dead_fraction"] <= 1.0:
        raise ValueError(f"index option 'max_dead_fraction' is {out['max_dead_fraction']}; expected in (0, 1]")
    return out


def _stage_of(index: faiss.Index) -> str:
    """``flat`` | ``hnsw`` | ``ivf`` | ``ivfpq`` for an index as built or read here."""
    if isinstance(index, faiss.IndexIVFPQ):
        return "ivfpq"
    if isinstance(index, faiss.IndexIVFFlat):
        return "ivf"
    if isinstance(index, faiss.IndexIDMap2):
        inner = faiss.downcast_index(index.index)
        if isinstance(inner, faiss.IndexHNSWFlat):
            return "hnsw"
        if isinstance(inner, faiss.IndexFlat):
            return "flat"
    raise ValueError(f"unsupported FAISS index type {type(index).__name__}")


class VectorIndex:
    """A FAISS index of float32 vectors addressed by int64 ids.

    Args:
        dim: Vector length ``D``.
        metric: ``"euc"`` or ``"cos"``.
        kind: One of :data:`INDEX_KINDS`.
        options: Kind-specific options (see :func:`resolve_index_options`).
    """

    def __init__(self, dim: int, metric: str, kind: str = "exact", options: dict[str, Any] | None = None) -> None:
        if dim < 1:
            raise ValueError(f"dim is {dim}; expected >= 1")
        self.dim, self.metric, self.kind = int(dim), check_metric(metric), kind
        self.options = resolve_index_options(kind, self.dim, options)
        self._faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cos" else faiss.METRIC_L2
        self._dead = np.empty(0, dtype=np.int64)  # hnsw tombstones, sorted
        self._selector: Any = None
        self._index = self._new_hnsw() if kind == "hnsw" else self._new_flat()
        self.stage = _stage_of(self._index)

    # -- construction ------------------------------------------------------------------------------------

    def _new_flat(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlat(self.dim, self._faiss_metric))

    def _new_hnsw(self) -> faiss.Index:
        inner = faiss.IndexHNSWFlat(self.dim, self.options["M"], self._faiss_metric)
        inner.hnsw.efConstruction = self.options["ef_construction"]
        return faiss.IndexIDMap2(inner)

    def _new_ivf(self) -> faiss.Index:
        o = self.options
        quantizer = faiss.IndexFlat(self.dim, self._faiss_metric)
        if self.kind == "ivfpq":
            index = faiss.IndexIVFPQ(quantizer, self.dim, o["nlist"], o["m"], o["nbits"], self._faiss_metric)
        else:
            index = faiss.IndexIVFFlat(quantizer, self.dim, o["nlist"], self._faiss_metric)
        return index  # the Python wrapper keeps the quantiser alive (referenced_objects)

    @classmethod
    def load(
        cls, path: str | Path, dim: int, metric: str, kind: str, options: dict[str, Any] | None = None
    ) -> VectorIndex:
        """Read an index written by :meth:`save`; ValueError when it does not fit ``dim``/``metric``/``kind``."""
        out = cls(dim, metric, kind, options)
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise ValueError(f"{path}: not a readable FAISS index ({str(exc).splitlines()[0]})") from exc
        stage = _stage_of(index)
        allowed = {"exact": {"flat"}, "ivf": {"flat", "ivf"}, "ivfpq": {"flat", "ivfpq"}, "hnsw": {"hnsw"}}[kind]
        if index.d != out.dim or index.metric_type != out._faiss_metric or stage not in allowed:
            raise ValueError(
                f"{path}: FAISS index ({stage}, d={index.d}, metric_type={index.metric_type}) does not match the "
                f"gallery ({kind}, dim={out.dim}, metric={metric})"
            )
        out._index, out.stage = index, stage
        return out

    def save(self, path: str | Path) -> None:
        """Write the index (ids, vectors, graph or lists) to ``path`` (callers make it atomic)."""
        faiss.write_index(self._index, str(path))

    # -- contents ----------------------------------------------------------------------------------------

    @property
    def ntotal(self) -> int:
        """Vectors held, tombstoned ones included."""
        return int(self._index.ntotal)

    @property
    def live_count(self) -> int:
        """Vectors that can be returned by :meth:`search`."""
        return self.ntotal - int(self._dead.size)

    @property
    def dead_fraction(self) -> float:
        """Fraction of held vectors that are tombstones (``hnsw`` only; 0 for the others)."""
        return float(self._dead.size) / self.ntotal if self.ntotal else 0.0

    @property
    def needs_rebuild(self) -> bool:
        """True when an ``hnsw`` index holds more tombstones than ``max_dead_fraction`` allows."""
        return self.kind == "hnsw" and self.dead_fraction > self.options["max_dead_fraction"]

    def ids(self) -> np.ndarray:
        """int64 ids of the live vectors, ascending."""
        if self.stage in ("ivf", "ivfpq"):
            lists = self._index.invlists
            parts = [
                faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                for i in range(lists.nlist)
                if lists.list_size(i)
            ]
            ids = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        else:
            ids = faiss.vector_to_array(self._index.id_map)
        ids = np.sort(ids.astype(np.int64))
        return np.setdiff1d(ids, self._dead, assume_unique=True) if self._dead.size else ids

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float32, order="C", copy=True).reshape(-1, self.dim)
        if self.metric == "cos":
            faiss.normalize_L2(x)
        return x

    def train(self, sample: np.ndarray) -> bool:
        """Train an empty IVF index on ``sample`` ``[n, D]``; returns False (and stays flat) for too few vectors."""
        if self.kind not in ("ivf", "ivfpq") or self.stage != "flat":
            return False
        if self.ntotal:
            raise ValueError("train: the index already holds vectors; train before adding")
        if len(sample) < self.options["train_min"]:
            return False
        index = self._new_ivf()
        x = self._prepare(sample)
        if len(x) > self.options["train_size"]:
            x = x[np.random.default_rng(0).choice(len(x), self.options["train_size"], replace=False)]
        index.train(x)
        self._index, self.stage = index, self.kind
        logger.info("trained %s (nlist=%d) on %d vectors", self.kind, self.options["nlist"], len(x))
        return True

    def _train_from_contents(self) -> None:
        """Flat stage → IVF: train on the held vectors and move them into the lists."""
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vectors = self._index.index.reconstruct_n(0, self.ntotal)  # [n, D], already prepared
        index = self._new_ivf()
        sample = vectors
        if len(sample) > self.options["train_size"]:
            sample = sample[np.random.default_rng(0).choice(len(sample), self.options["train_size"], replace=False)]
        index.train(sample)
        index.add_with_ids(vectors, ids)
        self._index, self.stage = index, self.kind
        logger.info("gallery index trained: %s with nlist=%d on %d vectors", self.kind, self.options["nlist"], len(ids))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` ``[N, D]`` under ``ids`` ``[N]`` (new, unique int64 ids)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        x = self._prepare(vectors)
        if len(ids) != len(x):
            raise ValueError(f"add: {len(ids)} ids for {len(x)} vectors")
        if not len(ids):
            return
        self._index.add_with_ids(x, ids)
        if self.stage == "flat" and self.kind in ("ivf", "ivfpq") and self.ntotal >= self.options["train_min"]:
            self._train_from_contents()

    def remove(self, ids: np.ndarray) -> int:
        """Remove ``ids`` (absent ones are ignored); returns how many were removed (tombstoned for ``hnsw``)."""
        ids = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))
        if not ids.size or not self.ntotal:
            return 0
        if self.stage != "hnsw":
            return int(self._index.remove_ids(ids))
        present = np.intersect1d(ids, faiss.vector_to_array(self._index.id_map).astype(np.int64))
        new = np.setdiff1d(present, self._dead, assume_unique=True)
        if new.size:
            self._dead = np.union1d(self._dead, new)
            self._selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(self._dead))
        return int(new.size)

    # -- search ------------------------------------------------------------------------------------------

    def _params(self) -> Any:
        if self.stage in ("ivf", "ivfpq"):
            return faiss.SearchParametersIVF(nprobe=min(self.options["nprobe"], self.options["nlist"]))
        if self.stage == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=self.options["ef_search"])
            if self._selector is not None:
                params.sel = self._selector
            return params
        return None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest live vectors of each query.

        Args:
            queries: ``[Q, D]``.
            k: Neighbours per query (capped at :attr:`live_count`).

        Returns:
            ``(distances [Q, k'] float32, ids [Q, k'] int64)``, closest first; missing neighbours (approximate indexes
            may return fewer than asked) have id -1 and distance ``inf``.
        """
        x = self._prepare(queries)
        k = min(int(k), self.live_count)
        if k < 1:
            return np.empty((len(x), 0), np.float32), np.empty((len(x), 0), np.int64)
        params = self._params()
        dist, ids = self._index.search(x, k, params=params) if params is not None else self._index.search(x, k)
        if self.metric == "cos":
            dist = np.maximum(1.0 - dist, 0.0)
        else:
            dist = np.sqrt(np.maximum(dist, 0.0))
        dist = np.where(ids < 0, np.inf, dist).astype(np.float32)
        return dist, ids.astype(np.int64)
