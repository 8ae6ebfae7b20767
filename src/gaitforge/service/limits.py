"""Bounds on what the HTTP service accepts, the error it answers with, and subject-name validation.

The bounds on one silhouette input and the subject-name rule are not defined here: they are the command line's
and the Python API's too (:class:`~gaitforge.io.silhouettes.InputLimits`, :mod:`gaitforge.retrieval.names`);
this module turns their refusals into JSON errors naming the request field.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gaitforge.io.silhouettes import InputLimits, InputRefused
from gaitforge.retrieval.names import SubjectNameError, check_subject_name

__all__ = ["ServiceError", "ServiceLimits", "check_subject", "refused_as", "service_error_of"]

MIB = 2**20
_INPUT = InputLimits()


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
        min_frames: Frames of a sequence that must hold a silhouette (fewer: 422 ``too_few_frames``).
        max_queue: Requests allowed to wait for or run model inference at once; more are answered 503.
        inference_threads: Threads running decoding and model inference (off the event loop).
        max_token_failures: With access tokens, requests with a missing or wrong token one client address may make
            per minute; past it the address gets 429 for the rest of the minute, valid token or not.
    """

    max_upload_bytes: int = 64 * MIB
    max_frames: int = _INPUT.max_frames
    max_archive_members: int = 4096
    max_uncompressed_bytes: int = 512 * MIB
    max_frame_side: int = _INPUT.max_frame_side
    max_video_pixels: int = _INPUT.max_video_pixels
    max_k: int = 50
    max_subject_length: int = _INPUT.max_subject_length
    max_queue: int = 32
    inference_threads: int = 2
    max_token_failures: int = 20
    min_frames: int = _INPUT.min_frames

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ServiceLimits.{f.name} is {value!r}; expected an integer >= 1")
        self.input_limits()  # min_frames <= max_frames

    def input_limits(self) -> InputLimits:
        """The bounds shared with the command line (:class:`~gaitforge.io.silhouettes.InputLimits`)."""
        return InputLimits(
            max_frames=self.max_frames,
            max_frame_side=self.max_frame_side,
            max_video_pixels=self.max_video_pixels,
            min_frames=self.min_frames,
            max_subject_length=self.max_subject_length,
        )

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


def service_error_of(exc: InputRefused, field: str | None) -> ServiceError:
    """The JSON error of an input refusal: 413 for a size bound, 422 otherwise; same ``code`` and message."""
    return ServiceError(413 if exc.too_large else 422, exc.code, exc.message, field, exc.limit)


@contextlib.contextmanager
def refused_as(field: str) -> Iterator[None]:
    """Turn an :class:`~gaitforge.io.silhouettes.InputRefused` raised inside into a :class:`ServiceError`."""
    try:
        yield
    except InputRefused as exc:
        raise service_error_of(exc, field) from exc


def check_subject(name: object, limits: ServiceLimits, field: str = "subject") -> str:
    """Check a subject name by the rule of every entry point (:func:`~gaitforge.retrieval.names.check_subject_name`).

    Returns:
        The name normalised to NFKC (full-width letters become ASCII).

    Raises:
        ServiceError: 422 ``missing_field`` (absent or empty) or ``invalid_subject`` (what the rule refuses: over
            ``max_subject_length`` characters, control characters, slashes, ``..``, mixed look-alike scripts).
    """
    if not isinstance(name, str) or not name:
        raise ServiceError(422, "missing_field", f"field '{field}': a subject name is required", field)
    try:
        return check_subject_name(name, f"field '{field}'", limits.max_subject_length)
    except SubjectNameError as exc:
        raise service_error_of(exc, field) from None
