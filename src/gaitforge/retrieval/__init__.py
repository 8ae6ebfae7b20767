"""Retrieval: embed sequences with a trained model, enroll them in a persistent gallery, identify probes.

Five-line use::

    from gaitforge.retrieval import Gallery, Recognizer

    rec = Recognizer.from_checkpoint("runs/gaitbase")
    with Gallery.open_or_create("gallery", dim=rec.dim, metric=rec.metric) as gallery:
        gallery.enroll("alice", rec.embed_folder("alice_walk/"), provenance={"source": "alice_walk/"})
        print(gallery.identify(rec.embed_folder("unknown_walk/"), k=5))

:class:`Recognizer` (torch) is imported on first use, so the gallery alone needs only NumPy, FAISS and SQLite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gaitforge.retrieval.calibration import calibrate_threshold, leave_one_out_distances, pair_distances
from gaitforge.retrieval.gallery import Gallery, GalleryError
from gaitforge.retrieval.lock import LockTimeout
from gaitforge.retrieval.names import SubjectNameError, check_subject_name
from gaitforge.retrieval.types import Calibration, Identification, Match, SubjectInfo
from gaitforge.retrieval.vector_index import INDEX_KINDS
from gaitforge.retrieval.vectors import flatten_embeddings, pairwise_distances

if TYPE_CHECKING:
    from gaitforge.retrieval.recognizer import Recognizer

__all__ = [
    "INDEX_KINDS",
    "Calibration",
    "Gallery",
    "GalleryError",
    "Identification",
    "LockTimeout",
    "Match",
    "Recognizer",
    "SubjectInfo",
    "SubjectNameError",
    "calibrate_threshold",
    "check_subject_name",
    "flatten_embeddings",
    "leave_one_out_distances",
    "pair_distances",
    "pairwise_distances",
]


def __getattr__(name: str) -> Any:
    if name == "Recognizer":
        from gaitforge.retrieval.recognizer import Recognizer

        return Recognizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
