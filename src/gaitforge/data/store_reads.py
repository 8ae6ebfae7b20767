"""Reading parts of store files with ``pread``: bounded memory whatever the amount of data read.

Memory-mapped reads leave every page they touch mapped into the process (its resident size grows with the data
read); ``pread`` copies just the requested bytes into a fresh array and the page cache stays the kernel's.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from gaitforge.data.store_codec import RAW, one_read, read_coded_batch, read_coded_frames
from gaitforge.data.store_format import CHECKSUM_PREFIX, Layout, StoreFormatError

__all__ = ["FileHandles", "read_frames"]

#: Frames are read as one span from the first to the last requested frame when the span is at most this many
#: times the requested frame count; sparser picks are read as runs of consecutive frames.
SPAN_FACTOR = 4


class FileHandles:
    """Read-only file descriptors of one store folder, least recently used ones closed beyond ``limit``.

    Descriptors inherited by a forked process keep working (``pread`` does not move a shared file offset).
    """

    def __init__(self, root: Path, limit: int) -> None:
        self.root, self.limit = root, limit
        self._fds: dict[str, int] = {}
        self._local = threading.local()  # per-thread scratch buffer

    def scratch(self, nbytes: int) -> np.ndarray:
        """A uint8 ``[nbytes]`` work buffer of this thread, reused by later calls (its contents do not survive
        them): a batch read does not allocate (and page-fault in) megabytes each time."""
        buf = getattr(self._local, "buf", None)
        if buf is None or len(buf) < nbytes:
            buf = self._local.buf = np.empty(max(nbytes, 2 * len(buf) if buf is not None else 0), np.uint8)
        return buf[:nbytes]

    def fd(self, name: str) -> int:
        fd = self._fds.pop(name, None)
        if fd is None:
            fd = os.open(self.root / name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            while len(self._fds) >= self.limit:
                os.close(self._fds.pop(next(iter(self._fds))))
        self._fds[name] = fd  # most recently used last
        return fd

    def read_into(self, name: str, out: np.ndarray | memoryview, offset: int) -> None:
        """Fill ``out`` (C-contiguous) with the bytes of ``name`` from ``offset``."""
        view = memoryview(out).cast("B")
        fd = self.fd(name)
        done = os.preadv(fd, [view], offset)
        while done < len(view):  # short reads are legal; zero means end of file
            more = os.preadv(fd, [view[done:]], offset + done)
            if more == 0:
                raise StoreFormatError(
                    f"{self.root / name}: ends at byte {offset + done}; {len(view) - done} more bytes expected "
                    f"from offset {offset} (truncated?)"
                )
            done += more

    def will_need(self, name: str, offset: int, nbytes: int) -> None:
        """Ask the kernel to start reading a byte range into the page cache (returns at once)."""
        if nbytes > 0 and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self.fd(name), offset, nbytes, os.POSIX_FADV_WILLNEED)

    def pread(self, name: str, nbytes: int, offset: int) -> bytes:
        """``nbytes`` bytes of ``name`` from ``offset``."""
        buf = bytearray(nbytes)
        self.read_into(name, memoryview(buf), offset)
        return bytes(buf)

    def checksum(self, name: str, nbytes: int, offset: int, chunk: int = 16 << 20) -> str:
        """``"blake2b128:<hex>"`` of a byte range, read in chunks."""
        h = hashlib.blake2b(digest_size=16)
        buf = bytearray(min(chunk, nbytes))
        view = memoryview(buf)
        done = 0
        while done < nbytes:
            n = min(chunk, nbytes - done)
            self.read_into(name, view[:n], offset + done)
            h.update(view[:n])
            done += n
        return CHECKSUM_PREFIX + h.hexdigest()

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.popitem()[1])

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, TypeError):  # pragma: no cover - interpreter shutdown
            pass


def read_frames(
    handles: FileHandles,
    fname: str,
    offset: int,
    layout: Layout,
    idx: np.ndarray,
    out: np.ndarray | None = None,
    lo: int | None = None,
    hi: int | None = None,
    length: int | None = None,
    extent: int | None = None,
) -> np.ndarray:
    """Frames ``idx`` (int64 ``[n]``, in range, any order, repeats allowed) of the array at ``offset`` in ``fname``,
    into ``out`` (C-contiguous ``[n, *frame_shape]`` of the layout's dtype; a new array by default). ``lo``, ``hi``:
    ``idx.min()``, ``idx.max() + 1`` when the caller has them. ``length``: the array's frame count (needed when
    the layout is compressed); ``extent``: the most bytes the compressed array can span (one read instead of two)."""
    if out is None:
        out = np.empty((len(idx), *layout.frame_shape), layout.dtype)
    if not len(idx):
        return out
    fb = layout.frame_nbytes
    if lo is None or hi is None:
        lo, hi = int(idx.min()), int(idx.max()) + 1
    if layout.codec != RAW:
        if length is None:
            raise ValueError(f"read_frames: {fname} holds {layout.codec} arrays; their frame count is needed")
        if extent is not None and one_read(extent, length):
            read_coded_batch(
                handles, [fname], [offset], np.array([length]), np.array([extent]), [layout.codec], idx[None], out[None]
            )
            return out
        return read_coded_frames(handles, fname, offset, layout, length, idx, out, lo, hi)
    if hi - lo <= SPAN_FACTOR * len(idx):  # dense picks: one read of the span, then a gather
        if hi - lo == len(idx) and (idx[0] == lo) and bool(np.all(np.diff(idx) == 1)):
            handles.read_into(fname, out, offset + lo * fb)  # consecutive frames: straight into the output
            return out
        span = np.empty((hi - lo, *layout.frame_shape), layout.dtype)
        handles.read_into(fname, span, offset + lo * fb)
        np.take(span, idx - lo, axis=0, out=out)
        return out
    uniq, inverse = np.unique(idx, return_inverse=True)
    direct = len(uniq) == len(idx) and bool(np.all(idx[1:] > idx[:-1]))  # strictly increasing: read in place
    got = out if direct else np.empty((len(uniq), *layout.frame_shape), layout.dtype)
    breaks = np.flatnonzero(np.diff(uniq) != 1) + 1  # runs of consecutive frames, one read each
    starts, ends = np.concatenate(([0], breaks)).tolist(), np.concatenate((breaks, [len(uniq)])).tolist()
    flat = got.reshape(len(uniq), -1)
    for s, e in zip(starts, ends):
        handles.read_into(fname, flat[s:e], offset + int(uniq[s]) * fb)
    if not direct:
        np.take(got, inverse.reshape(-1), axis=0, out=out)
    return out
