"""Bounds on what the HTTP service accepts, the error it answers with, and subject-name validation."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ServiceError", "ServiceLimits", "check_subject"]

MIB = 2**20
#: Subject names: letters/digits (any script) first, then letters, digits, ``_ . -`` and inner spaces.
_SUBJECT = re.compile(r"\w(?:[\w.\- ]*[\w.\-])?")


@dataclass(frozen=True)
class ServiceLimits:
    """What one request may carry; every bound is enforced with a 4xx JSON error naming the field and the limit.

    Attributes:
        max_upload_bytes: Request body size, counted while the body streams in (``Content-Length`` is checked
            before reading anything).
        max_frames: Frames in one uploaded silhouette sequence, and video frames processed per upload.
        max_archive_members: Members of an uploaded ``.zip`` / ``.npz``.
        max_uncompressed_bytes: Total uncompressed size of an archive's members (zip-bomb bound), checked on the
            declared sizes and again while decompressing.
        max_frame_side: Width and height of an uploaded silhouette frame, checked from the PNG / ``.npy`` header
            before decoding.
        max_video_pixels: Frame area of an uploaded video (``width * height``).
        max_k: Largest ``k`` (matches per probe) of an identify request.
        max_subject_length: Characters in a subject name.
        max_queue: Requests allowed to wait for or run model inference at once; more are answered 503.
        inference_threads: Threads running decoding and model inference (off the event loop).
        max_token_failures: With access tokens, requests with a missing or wrong token one client address may make
            per minute; past it the address gets 429 for the rest of the minute, valid token or not.
    """

    max_upload_bytes: int = 64 * MIB
    max_frames: int = 2000
    max_archive_members: int = 4096
    max_uncompressed_bytes: int = 512 * MIB
    max_frame_side: int = 1024
    max_video_pixels: int = 1920 * 1080
    max_k: int = 50
    max_subject_length: int = 64
    max_queue: int = 32
    inference_threads: int = 2
    max_token_failures: int = 20

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ServiceLimits.{f.name} is {value!r}; expected an integer >= 1")

    def to_dict(self) -> dict[str, int]:
        """Plain dict (JSON-ready; shown by ``GET /api/v1/info``)."""
        return dataclasses.asdict(self)


class ServiceError(Exception):
    """A request the service refuses: HTTP ``status`` with a JSON body naming the field and the limit.

    Args:
        status: HTTP status (4xx for the client's fault, 503 when busy).
        code: Short machine-readable reason (``"upload_too_large"``, ``"invalid_subject"``, ...).
        message: Human-readable explanation (names the field, the limit and what was expected).
        field: The request field at fault (``"file"``, ``"subject"``, ``"k"``, ``"body"``, ...).
        limit: The bound that was exceeded, when one was.
    """

    def __init__(self, status: int, code: str, message: str, field: str | None = None, limit: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.limit = limit

    def to_dict(self) -> dict[str, Any]:
        """``{"error": {"status", "code", "field", "limit", "message"}}``."""
        return {
            "error": {
                "status": self.status,
                "code": self.code,
                "field": self.field,
                "limit": self.limit,
                "message": self.message,
            }
        }


def check_subject(name: object, limits: ServiceLimits, field: str = "subject") -> str:
    """Validate a subject name; returns it unchanged or raises a 422 :class:`ServiceError`.

    Allowed: 1 to ``max_subject_length`` characters; letters and digits of any script, ``_``, ``.``, ``-`` and
    inner spaces; starting with a letter, digit or ``_``. No slashes, control characters or surrounding spaces.
    """
    if not isinstance(name, str) or not name:
        raise ServiceError(422, "missing_field", f"field '{field}': a subject name is required", field)
    if len(name) > limits.max_subject_length:
        raise ServiceError(
            422,
            "invalid_subject",
            f"field '{field}': subject name has {len(name)} characters; the limit is {limits.max_subject_length}",
            field,
            limits.max_subject_length,
        )
    if not _SUBJECT.fullmatch(name):
        raise ServiceError(
            422,
            "invalid_subject",
            f"field '{field}': subject name {name!r} is not allowed; expected letters, digits, '_', '.', '-' and "
            "inner spaces, starting with a letter, digit or '_'",
            field,
        )
    return name
