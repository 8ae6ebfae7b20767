"""Request bodies of the service: a multipart form read under a size limit, and uploads turned into silhouettes.

An upload is a video (people tracked and segmented by :mod:`gaitforge.preprocess.video`, one sequence per track)
or a silhouette sequence: a ``.zip`` of PNG frames, an ``.npz`` (array ``sil``, or its only array) or a ``.npy``
of uint8 ``[T, H, W]``. Silhouettes come out pretreated (uint8 ``[T, 64, 64]``; square 64 / 128 px frames are
taken as already pretreated) and checked by :func:`gaitforge.io.silhouettes.prepare_silhouettes`, the function the
command line and :class:`~gaitforge.retrieval.Recognizer` use: no silhouette is 422 ``no_silhouette``, fewer than
``min_frames`` frames holding one 422 ``too_few_frames``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import numpy as np
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from gaitforge.io.silhouettes import check_video, prepare_silhouettes
from gaitforge.retrieval.inputs import VIDEO_SUFFIXES
from gaitforge.service.archives import read_npy, read_npz, read_png_zip
from gaitforge.service.limits import ServiceError, ServiceLimits, refused_as

__all__ = [
    "UploadedSequence",
    "decode_upload",
    "form_bool",
    "form_file",
    "form_int",
    "form_text",
    "read_form",
    "upload_kind",
]

#: Declared content types accepted per upload kind (an absent one is accepted; the content is checked anyway).
_ZIP_TYPES = {"application/zip", "application/x-zip-compressed", "application/x-zip", "application/octet-stream"}
_CONTENT_TYPES = {
    "zip": _ZIP_TYPES,
    "npz": _ZIP_TYPES | {"application/x-npz"},
    "npy": {"application/octet-stream", "application/x-npy"},
    "video": {"application/octet-stream", "application/mp4"},  # and any video/*
}


@dataclass
class UploadedSequence:
    """One silhouette sequence from an upload.

    Attributes:
        name: Upload file name (``name#trackN`` for a video track).
        sil: Pretreated silhouettes uint8 ``[T, S, S]`` (``S`` 64 or 128).
        provenance: What to record at enrolment (upload name, kind, frames, track, time).
    """

    name: str
    sil: np.ndarray
    provenance: dict[str, Any]


def _too_large(limits: ServiceLimits, size: str) -> ServiceError:
    return ServiceError(
        413,
        "upload_too_large",
        f"field 'file': the request body is {size} bytes, over the limit of {limits.max_upload_bytes} bytes "
        f"({limits.max_upload_bytes / 2**20:g} MiB, max_upload_bytes)",
        "file",
        limits.max_upload_bytes,
    )


async def read_form(request: Request, limits: ServiceLimits, allowed: set[str]) -> FormData:
    """Parse a ``multipart/form-data`` body, counting bytes as they arrive and stopping past the limit.

    A ``Content-Length`` over the limit is refused before anything is read; a body without one (chunked) is
    refused as soon as the bytes received pass ``max_upload_bytes``. At most one file and 16 text fields of 4 KiB;
    a field sent twice (two ``subject`` values: which one would be enrolled?) is refused.

    Args:
        request: The request.
        limits: Bounds.
        allowed: Field names this endpoint accepts (others are refused, naming the field).

    Raises:
        ServiceError: 415 not multipart, 413 too large, 400 malformed, 422 unknown or repeated field.
    """
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise ServiceError(
            415,
            "unsupported_media_type",
            f"field 'body': content type is {ctype or 'absent'!r}; expected multipart/form-data with fields "
            f"{', '.join(sorted(allowed))}",
            "body",
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ServiceError(
                400, "invalid_header", f"field 'body': Content-Length is {declared!r}; expected a byte count", "body"
            )
        if int(declared) > limits.max_upload_bytes:
            raise _too_large(limits, declared)

    async def counted() -> AsyncIterator[bytes]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limits.max_upload_bytes:
                raise _too_large(limits, f"more than {total - len(chunk)}")
            yield chunk

    parser = MultiPartParser(request.headers, counted(), max_files=1, max_fields=16, max_part_size=4096)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ServiceError(
            400, "invalid_multipart", f"field 'body': malformed multipart form ({exc.message})", "body"
        ) from exc
    unknown = sorted(set(form.keys()) - allowed)
    if unknown:
        await form.close()
        raise ServiceError(
            422,
            "unknown_field",
            f"field '{unknown[0]}': not a field of this request; expected some of {', '.join(sorted(allowed))}",
            unknown[0],
        )
    repeated = sorted(key for key in set(form.keys()) if len(form.getlist(key)) > 1)
    if repeated:
        await form.close()
        raise ServiceError(
            422,
            "duplicate_field",
            f"field '{repeated[0]}': sent {len(form.getlist(repeated[0]))} times; expected it once",
            repeated[0],
        )
    return form


def form_file(form: FormData, field: str = "file") -> UploadFile:
    """The uploaded file in ``field`` (422 when missing or sent as text)."""
    value = form.get(field)
    if value is None:
        raise ServiceError(422, "missing_field", f"field '{field}': an uploaded file is required", field)
    if not isinstance(value, UploadFile):
        raise ServiceError(422, "invalid_field", f"field '{field}': expected a file upload, got a text value", field)
    return value


def form_text(form: FormData, field: str) -> str | None:
    """A text field (None when absent; 422 when a file was sent instead)."""
    value = form.get(field)
    if value is not None and not isinstance(value, str):
        raise ServiceError(422, "invalid_field", f"field '{field}': expected a text value, got a file", field)
    return value


def form_int(form: FormData, field: str, default: int | None, low: int, high: int) -> int | None:
    """An integer field within ``[low, high]`` (``default`` when absent or empty)."""
    text = form_text(form, field)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise ServiceError(422, "invalid_field", f"field '{field}': {text!r} is not an integer", field) from None
    if not low <= value <= high:
        raise ServiceError(
            422, "invalid_field", f"field '{field}': {value} is out of range; expected {low} to {high}", field, high
        )
    return value


def form_bool(form: FormData, field: str) -> bool:
    """A checkbox-style field: ``true``/``1``/``on``/``yes`` or ``false``/``0``/``off``/``no`` (absent: False)."""
    text = (form_text(form, field) or "").strip().lower()
    if text in ("", "false", "0", "off", "no"):
        return False
    if text in ("true", "1", "on", "yes"):
        return True
    raise ServiceError(422, "invalid_field", f"field '{field}': {text!r} is not a boolean (true/false)", field)


def upload_kind(upload: UploadFile, field: str = "file") -> str:
    """``"zip"``, ``"npz"``, ``"npy"`` or ``"video"`` from the file name, checked against the declared type."""
    suffix = PurePath(upload.filename or "").suffix.lower()
    kind = {".zip": "zip", ".npz": "npz", ".npy": "npy"}.get(suffix) or ("video" if suffix in VIDEO_SUFFIXES else "")
    if not kind:
        raise ServiceError(
            415,
            "unsupported_media_type",
            f"field '{field}': file {upload.filename!r} is of no supported kind; expected a .zip of PNG frames, an "
            f".npz / .npy of uint8 [T, H, W] silhouettes, or a video ({', '.join(sorted(VIDEO_SUFFIXES))})",
            field,
        )
    ctype = (upload.content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in _CONTENT_TYPES[kind] and not (kind == "video" and ctype.startswith("video/")):
        raise ServiceError(
            415,
            "unsupported_media_type",
            f"field '{field}': content type {ctype!r} does not match a {suffix} file; expected one of "
            f"{', '.join(sorted(_CONTENT_TYPES[kind]))}{' or video/*' if kind == 'video' else ''}",
            field,
        )
    return kind


def _pretreated(frames: list[np.ndarray] | np.ndarray, limits: ServiceLimits, field: str) -> np.ndarray:
    """uint8 ``[T, S, S]``, checked and pretreated (:func:`~gaitforge.io.silhouettes.prepare_silhouettes`)."""
    with refused_as(field):
        return prepare_silhouettes(frames, f"field '{field}'", limits.input_limits())


def _short_name(upload: UploadFile) -> str:
    return PurePath(upload.filename or "upload").name[-128:]


def decode_upload(upload: UploadFile, limits: ServiceLimits, field: str = "file") -> list[UploadedSequence]:
    """Turn an uploaded file into pretreated silhouette sequences (blocking: call it off the event loop).

    Raises:
        ServiceError: wrong kind or content (415 / 422), a limit passed (413), nothing walking in it (422).
    """
    kind = upload_kind(upload, field)
    name = _short_name(upload)
    fh = upload.file
    prov: dict[str, Any] = {"upload": name, "kind": kind, "time": time.time()}
    if kind == "video":
        return _video(upload, name, limits, field)
    if kind == "zip":
        frames, names = read_png_zip(fh, limits, field)
        prov.update(first=names[0], last=names[-1])
        raw: list[np.ndarray] | np.ndarray = frames
    else:
        raw = read_npz(fh, limits, field) if kind == "npz" else read_npy(fh, limits, field)
    prov["frames"] = len(raw)
    return [UploadedSequence(name, _pretreated(raw, limits, field), prov)]


def _video(upload: UploadFile, name: str, limits: ServiceLimits, field: str) -> list[UploadedSequence]:
    from gaitforge.preprocess.video import VideoDecodeError, extract_sequences

    suffix = PurePath(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="gaitforge-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.file.seek(0)
        with open(path, "wb") as out:
            shutil.copyfileobj(upload.file, out)
        try:
            with refused_as(field):
                fps = check_video(path, f"field '{field}'", limits.input_limits())
            sequences = extract_sequences(path, end_s=limits.max_frames / fps)  # bounded even if the header lies
        except VideoDecodeError as exc:
            raise ServiceError(
                422, "invalid_video", f"field '{field}': {name!r} cannot be decoded as a video", field
            ) from exc
    if not sequences:
        raise ServiceError(422, "no_person", f"field '{field}': no walking person was tracked in {name!r}", field)
    out = []
    for n, seq in enumerate(sequences):
        track = seq.meta.get("track_id", n)
        frame_indices = seq.meta.get("frame_indices") or [None]
        prov = {
            "upload": name,
            "kind": "video",
            "track": track,
            "frames": seq.length,
            "fps": seq.meta.get("fps"),
            "first_frame": frame_indices[0],
            "last_frame": frame_indices[-1],
            "time": time.time(),
        }
        sil = _pretreated(seq.modalities["sil"], limits, f"{field}")
        out.append(UploadedSequence(f"{name}#track{track}", sil, prov))
    return out
