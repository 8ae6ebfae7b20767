"""Bounded readers for uploaded silhouette sequences: a ``.zip`` of PNG frames, an ``.npz`` or a ``.npy``.

Nothing is trusted: member counts and declared sizes are checked before anything is decompressed, decompression
stops once the total passes the limit (headers can lie), PNG and ``.npy`` headers are checked (frame size, dtype,
frame count) before their data is decoded, and arrays are read without pickle. Every refusal is a
:class:`~gaitforge.service.limits.ServiceError` naming the field and the limit; the header checks are the ones the
command line makes on files (:mod:`gaitforge.io.silhouettes`).
"""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath
from typing import IO

import cv2
import numpy as np

from gaitforge.io.silhouettes import NPY_HEAD_BYTES, check_frame_count, check_frame_side, npy_header, png_size
from gaitforge.service.limits import ServiceError, ServiceLimits, refused_as

__all__ = ["ZIP_MAGIC", "read_npy", "read_npz", "read_png_zip"]

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_CHUNK = 1 << 16


class _Budget:
    """Uncompressed bytes left for one archive."""

    def __init__(self, limits: ServiceLimits, field: str) -> None:
        self.left = limits.max_uncompressed_bytes
        self.limit = limits.max_uncompressed_bytes
        self.field = field

    def too_large(self, what: str) -> ServiceError:
        return ServiceError(
            413,
            "archive_too_large",
            f"field '{self.field}': {what} more than the limit of {self.limit} uncompressed bytes "
            "(max_uncompressed_bytes)",
            self.field,
            self.limit,
        )

    def read(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int | None = None) -> bytes:
        """Decompress ``info`` (or its first ``size`` bytes), never more than the budget left."""
        overflow = size is None or size > self.left  # would the wanted bytes pass the budget?
        want = self.left + 1 if overflow else int(size)  # type: ignore[arg-type]
        parts, got = [], 0
        with zf.open(info) as fh:
            while got < want:
                chunk = fh.read(min(_CHUNK, want - got))
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
        if overflow and got > self.left:
            raise self.too_large(f"member {info.filename!r} decompresses to")
        self.left -= got
        return b"".join(parts)


def _open_zip(fh: IO[bytes], limits: ServiceLimits, field: str) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open an archive and check its member count, declared total size and encryption."""
    fh.seek(0)
    if fh.read(4) not in ZIP_MAGIC:
        raise ServiceError(415, "unsupported_format", f"field '{field}': the content is not a ZIP archive", field)
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ServiceError(422, "invalid_archive", f"field '{field}': not a valid ZIP archive ({exc})", field) from exc
    if len(infos) > limits.max_archive_members:
        zf.close()
        raise ServiceError(
            413,
            "too_many_members",
            f"field '{field}': archive has {len(infos)} members; the limit is {limits.max_archive_members} "
            "(max_archive_members)",
            field,
            limits.max_archive_members,
        )
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_uncompressed_bytes:
        zf.close()
        raise _Budget(limits, field).too_large(f"archive declares {declared} uncompressed bytes,")
    encrypted = [i.filename for i in infos if i.flag_bits & 0x1]
    if encrypted:
        zf.close()
        raise ServiceError(
            422, "invalid_archive", f"field '{field}': member {encrypted[0]!r} is encrypted; expected plain", field
        )
    return zf, infos


def _skip(info: zipfile.ZipInfo) -> bool:
    """Folders and operating-system clutter (``__MACOSX/``, dot files) are not frames."""
    path = PurePosixPath(info.filename)
    return info.is_dir() or "__MACOSX" in path.parts or path.name.startswith(".")


def read_png_zip(fh: IO[bytes], limits: ServiceLimits, field: str = "file") -> tuple[list[np.ndarray], list[str]]:
    """Frames of a ZIP of PNG silhouettes, in member-name order.

    Args:
        fh: The uploaded file (seekable binary).
        limits: Bounds (members, uncompressed total, frames, frame side).
        field: Request field named in errors.

    Returns:
        ``(frames, names)``: uint8 ``[H, W]`` greyscale frames and their member names.
    """
    zf, infos = _open_zip(fh, limits, field)
    with zf:
        members = sorted((i for i in infos if not _skip(i) and i.filename.lower().endswith(".png")), key=_name_of)
        if not members:
            raise ServiceError(422, "no_frames", f"field '{field}': the archive holds no *.png frames", field)
        _check_frame_count(len(members), limits, field)
        budget = _Budget(limits, field)
        frames = []
        for info in members:
            try:
                data = budget.read(zf, info)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
                raise ServiceError(
                    422, "invalid_archive", f"field '{field}': member {info.filename!r} is damaged ({exc})", field
                ) from exc
            width, height = _png_size(data, info.filename, field)
            _check_side(width, height, f"member {info.filename!r}", limits, field)  # before decoding
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
            if img is None or img.shape != (height, width):
                raise ServiceError(
                    422, "invalid_frame", f"field '{field}': member {info.filename!r} cannot be decoded as a PNG", field
                )
            frames.append(img)
    return frames, [i.filename for i in members]


def _name_of(info: zipfile.ZipInfo) -> str:
    return info.filename


def _png_size(data: bytes, name: str, field: str) -> tuple[int, int]:
    """``(width, height)`` from a PNG member's IHDR chunk (:func:`gaitforge.io.silhouettes.png_size`)."""
    with refused_as(field):
        return png_size(data, f"field '{field}': member {name!r}")


def _check_frame_count(n: int, limits: ServiceLimits, field: str) -> None:
    with refused_as(field):
        check_frame_count(n, f"field '{field}'", limits.input_limits())


def _check_side(width: int, height: int, what: str, limits: ServiceLimits, field: str) -> None:
    with refused_as(field):
        check_frame_side(width, height, f"field '{field}': {what}", limits.input_limits())


def _npy_header(data: bytes, name: str, field: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data offset)`` (:func:`gaitforge.io.silhouettes.npy_header`)."""
    with refused_as(field):
        return npy_header(data, f"field '{field}': {name}")


def _array(data: bytes, name: str, limits: ServiceLimits, field: str) -> np.ndarray:
    shape, fortran, dtype, offset = _npy_header(data, name, field)
    _check_frame_count(shape[0], limits, field)
    _check_side(shape[2], shape[1], f"{name}'s frame", limits, field)
    if shape[0] < 1:
        raise ServiceError(422, "no_frames", f"field '{field}': {name} has no frames", field)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset < nbytes:
        raise ServiceError(
            422,
            "invalid_array",
            f"field '{field}': {name} is truncated ({len(data) - offset} of {nbytes} bytes)",
            field,
        )
    x = np.frombuffer(data, dtype, count=int(np.prod(shape)), offset=offset).reshape(
        shape, order="F" if fortran else "C"
    )
    x = np.ascontiguousarray(x)
    return x.astype(np.uint8) * 255 if dtype == np.bool_ else x


def read_npz(fh: IO[bytes], limits: ServiceLimits, field: str = "file", key: str = "sil") -> np.ndarray:
    """Silhouettes uint8 ``[T, H, W]`` from an ``.npz``: the array ``key``, or its only array (bool → 0/255)."""
    zf, infos = _open_zip(fh, limits, field)
    with zf:
        arrays = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
        if key in arrays:
            info = arrays[key]
        elif len(arrays) == 1:
            info = next(iter(arrays.values()))
        else:
            raise ServiceError(
                422,
                "invalid_array",
                f"field '{field}': the .npz holds arrays {sorted(arrays)}; expected one array, or one named '{key}'",
                field,
            )
        budget = _Budget(limits, field)
        head = budget.read(zf, info, NPY_HEAD_BYTES)
        shape, _, dtype, offset = _npy_header(head, f"array {info.filename!r}", field)
        _check_frame_count(shape[0], limits, field)
        _check_side(shape[2], shape[1], f"array {info.filename!r}'s frame", limits, field)
        budget.left += len(head)
        data = budget.read(zf, info, offset + int(np.prod(shape)) * dtype.itemsize)
    return _array(data, f"array {info.filename!r}", limits, field)


def read_npy(fh: IO[bytes], limits: ServiceLimits, field: str = "file") -> np.ndarray:
    """Silhouettes uint8 ``[T, H, W]`` from a ``.npy`` upload (bool → 0/255)."""
    fh.seek(0)
    head = fh.read(NPY_HEAD_BYTES)
    shape, _, dtype, offset = _npy_header(head, "the .npy", field)
    _check_frame_count(shape[0], limits, field)
    _check_side(shape[2], shape[1], "the .npy's frame", limits, field)
    fh.seek(0)
    return _array(fh.read(offset + int(np.prod(shape)) * dtype.itemsize), "the .npy", limits, field)
