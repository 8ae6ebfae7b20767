"""What one service process holds: the recognizer, the open gallery, and the threads that do the blocking work.

Model inference (decoding, pretreatment, embedding) and searches run on a bounded pool of inference threads,
off the event loop; gallery writes run on one writer thread, so one write at a time in the process (and the
gallery's file lock keeps it to one across processes). At most ``max_queue`` requests wait for inference;
more are answered 503.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from gaitforge.service.limits import ServiceError, ServiceLimits
from gaitforge.service.thumbnails import DATA_URL_PREFIX, sequence_thumbnail
from gaitforge.service.uploads import UploadedSequence, decode_upload

if TYPE_CHECKING:
    from starlette.datastructures import UploadFile

    from gaitforge.retrieval import Gallery, Identification, Recognizer

__all__ = ["ServiceState", "split_thumbnail"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


def split_thumbnail(provenance: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``(provenance without "thumbnail", the thumbnail data URL or None)``."""
    rest = dict(provenance)
    thumb = rest.pop("thumbnail", None)
    return rest, thumb if isinstance(thumb, str) and thumb.startswith(DATA_URL_PREFIX) else None


class ServiceState:
    """The recognizer, the gallery and the worker threads of one service process.

    Args:
        recognizer: Embeds silhouettes (a silhouette model).
        gallery: The open gallery (owned: closed by :meth:`close`).
        limits: Request bounds.
    """

    def __init__(self, recognizer: Recognizer, gallery: Gallery, limits: ServiceLimits) -> None:
        self.recognizer = recognizer
        self.gallery = gallery
        self.limits = limits
        self._infer_pool = ThreadPoolExecutor(limits.inference_threads, thread_name_prefix="gaitforge-infer")
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="gaitforge-write")
        self._pending = 0

    # -- running blocking work -----------------------------------------------------------------------------

    async def infer(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on an inference thread; 503 when ``max_queue`` requests are already waiting."""
        if self._pending >= self.limits.max_queue:
            raise ServiceError(
                503,
                "busy",
                f"the server is busy: {self._pending} requests are waiting for the model (max_queue "
                f"{self.limits.max_queue}); retry shortly",
                None,
                self.limits.max_queue,
            )
        self._pending += 1  # only touched on the event loop thread
        try:
            return await asyncio.get_running_loop().run_in_executor(self._infer_pool, functools.partial(fn, *args))
        finally:
            self._pending -= 1

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a gallery write on the single writer thread."""
        return await asyncio.get_running_loop().run_in_executor(self._write_pool, functools.partial(fn, *args))

    @staticmethod
    async def read(fn: Callable[..., T], *args: Any) -> T:
        """Run a short blocking read (gallery listing, counts) on the default thread pool."""
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))

    # -- the blocking work ---------------------------------------------------------------------------------

    def embed_upload(self, upload: UploadFile) -> tuple[list[UploadedSequence], np.ndarray, list[str]]:
        """Decode an upload, embed its sequences and draw their thumbnails.

        Returns:
            ``(sequences, vectors [N, dim], thumbnails)``.
        """
        items = decode_upload(upload, self.limits)
        sils = [item.sil for item in items]
        vectors = self.recognizer.embed_many(sils, pretreated=True, limits=self.limits.input_limits())  # [N, dim]
        return items, vectors, [sequence_thumbnail(item.sil) for item in items]

    def identify_upload(
        self, upload: UploadFile, k: int
    ) -> tuple[list[UploadedSequence], list[str], list[Identification]]:
        """:meth:`embed_upload`, then the ``k`` closest subjects of each sequence."""
        items, vectors, thumbs = self.embed_upload(upload)
        return items, thumbs, self.gallery.identify_many(vectors, k=k)

    def identify_with_threshold(
        self, upload: UploadFile, k: int
    ) -> tuple[list[UploadedSequence], list[str], list[Identification], float | None]:
        """:meth:`identify_upload` plus the gallery's open-set threshold, read in the same thread hop."""
        return (*self.identify_upload(upload, k), self.gallery.threshold)

    def enroll(self, subject: str, vectors: np.ndarray, provenance: list[dict[str, Any]], replace: bool) -> list[int]:
        """Enroll (or, with ``replace``, re-enroll) ``subject`` in one transaction; returns the new sequence ids."""
        if replace:
            try:
                return self.gallery.update(subject, vectors, provenance)
            except KeyError:
                pass  # not enrolled yet: a plain enrolment
        return self.gallery.enroll(subject, vectors, provenance)

    def remove(self, subject: str) -> int:
        """Remove a subject (404 when not enrolled); returns how many sequences went."""
        try:
            return self.gallery.remove(subject)
        except KeyError:
            raise ServiceError(
                404, "unknown_subject", f"field 'subject': {subject!r} is not enrolled in the gallery", "subject"
            ) from None

    def subject_sequences(self, subject: str) -> list[dict[str, Any]]:
        """A subject's sequences with their thumbnails (404 when not enrolled)."""
        try:
            rows = self.gallery.sequences(subject)
        except KeyError:
            raise ServiceError(
                404, "unknown_subject", f"field 'subject': {subject!r} is not enrolled in the gallery", "subject"
            ) from None
        out = []
        for row in rows:
            prov, thumb = split_thumbnail(row["provenance"])
            out.append(
                {"sequence_id": row["sequence_id"], "created": row["created"], "thumbnail": thumb, "provenance": prov}
            )
        return out

    def describe(self) -> dict[str, Any]:
        """Model, vector size, metric, gallery size, threshold and limits (``GET /api/v1/info``)."""
        info = self.gallery.info()
        model = self.recognizer.describe()
        checkpoint = model.get("checkpoint")
        return {
            "model": {
                "name": model.get("model"),
                "run": model.get("run"),
                "checkpoint": Path(checkpoint).name if checkpoint else None,
                "modalities": list(self.recognizer.modalities),
            },
            "dim": self.recognizer.dim,
            "metric": self.recognizer.metric,
            "gallery": {
                "name": Path(info["path"]).name,
                "subjects": info["subjects"],
                "sequences": info["sequences"],
                "index": info["index"],
            },
            "threshold": info["threshold"],
            "limits": self.limits.to_dict(),
        }

    def close(self) -> None:
        """Finish running work, stop the threads and close the gallery (saving its index)."""
        self._infer_pool.shutdown(wait=True, cancel_futures=True)
        self._write_pool.shutdown(wait=True)
        self.gallery.close()
