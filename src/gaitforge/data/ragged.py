"""Ragged per-frame data: frames whose first axis varies (a LiDAR point cloud per frame), in memory and in a store.

In memory a ragged modality is a :class:`RaggedFrames`: all frames' rows back to back (``values``
``[ΣN_t, *row_shape]``) and where each frame starts (``offsets`` int64 ``[T + 1]``). Its ``shape`` is
``(T, None, *row_shape)``: ``None`` marks the axis whose size varies per frame, as in
:data:`gaitforge.data.validation.MODALITY_SHAPES`.

In a store (see :mod:`gaitforge.data.store_format`) a ragged layout has ``frame_shape`` ``[null, *row_shape]``
(an older gaitforge refuses it by name rather than misreading it), and one array is::

    uint32 [T]  rows:  cumulative row count at the end of each frame (frame k has rows[k] - rows[k-1] rows)
    uint32 [T]  ends:  cumulative stored bytes at the end of each frame, counted from the end of this header
    frame blocks       the raw bytes of each frame's rows (codec ``raw``) or one LZ4 block per frame (``lz4``,
                       ``lz4hc``, as in :mod:`gaitforge.data.store_codec`)

so any frames are read (header, then the byte spans of those frames only) and decoded without the others, and the
array's checksum covers header and blocks like every other array's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from lz4 import block as lz4_block

from gaitforge.data.store_codec import CODECS, RAW
from gaitforge.data.store_format import StoreFormatError

if TYPE_CHECKING:
    from gaitforge.data.store_format import Layout
    from gaitforge.data.store_reads import FileHandles

__all__ = [
    "HEADER_DTYPE",
    "RaggedFrames",
    "encode_ragged",
    "ragged_header",
    "ragged_nbytes",
    "read_ragged_frames",
]

HEADER_DTYPE = np.dtype("<u4")
#: Requested frames whose stored bytes lie at most this far apart are read in one ``pread``.
_GAP = 64 << 10


class RaggedFrames:
    """``T`` frames of ``N_t`` rows each (``N_t`` varies), e.g. point clouds ``[N_t, 4]`` (x, y, z, intensity).

    Args:
        values: Every frame's rows back to back, ``[ΣN_t, *row_shape]``.
        offsets: int64 ``[T + 1]``: frame ``k`` is ``values[offsets[k]:offsets[k + 1]]``; ``offsets[0] == 0``,
            non-decreasing, ``offsets[-1] == len(values)``.

    Raises:
        ValueError: offsets that do not describe ``values``.
    """

    __slots__ = ("offsets", "values")

    def __init__(self, values: np.ndarray, offsets: np.ndarray) -> None:
        values, offsets = np.asarray(values), np.asarray(offsets, dtype=np.int64)
        if values.ndim < 1 or offsets.ndim != 1 or len(offsets) < 1:
            raise ValueError(
                f"RaggedFrames: values {values.shape} and offsets {offsets.shape}; expected values [ΣN, ...] and "
                "offsets [T + 1]"
            )
        if offsets[0] != 0 or offsets[-1] != len(values) or bool(np.any(np.diff(offsets) < 0)):
            raise ValueError(
                f"RaggedFrames: offsets run {int(offsets[0])}..{int(offsets[-1])} (non-decreasing: "
                f"{not bool(np.any(np.diff(offsets) < 0))}); expected 0..{len(values)}, non-decreasing"
            )
        self.values, self.offsets = values, offsets

    @classmethod
    def from_frames(cls, frames: Iterable[np.ndarray], dtype: np.dtype | type | None = None) -> RaggedFrames:
        """Frames ``[N_t, *row_shape]`` (same row shape) as one ragged array (cast to ``dtype`` when given)."""
        frames = [np.asarray(f) for f in frames]
        if not frames:
            raise ValueError("RaggedFrames.from_frames: no frames; expected at least one")
        counts = np.array([len(f) for f in frames], np.int64)
        offsets = np.zeros(len(frames) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        values = np.concatenate(frames, axis=0) if len(frames) > 1 else frames[0]
        return cls(values if dtype is None else values.astype(dtype, copy=False), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def shape(self) -> tuple[int | None, ...]:
        """``(T, None, *row_shape)``; ``None``: the axis whose size varies per frame."""
        return (len(self), None, *self.values.shape[1:])

    @property
    def ndim(self) -> int:
        return 1 + self.values.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def row_shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape[1:])

    @property
    def counts(self) -> np.ndarray:
        """Rows per frame, int64 ``[T]``."""
        return np.diff(self.offsets)

    def frame(self, k: int) -> np.ndarray:
        """Frame ``k`` as a view ``[N_k, *row_shape]``."""
        k = int(k) + len(self) if int(k) < 0 else int(k)
        if not 0 <= k < len(self):
            raise IndexError(f"RaggedFrames: frame {k} out of range for {len(self)} frames")
        return self.values[self.offsets[k] : self.offsets[k + 1]]

    def __getitem__(self, k: int) -> np.ndarray:
        return self.frame(k)

    def __iter__(self):  # noqa: ANN204 - an iterator of frames
        return (self.frame(k) for k in range(len(self)))

    def take(self, idx: Sequence[int] | np.ndarray) -> RaggedFrames:
        """Frames ``idx`` (any order, repeats allowed) as a new ragged array."""
        idx = np.asarray(idx, np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"RaggedFrames: frames {idx.min()}..{idx.max()} requested of {len(self)}")
        idx = np.where(idx < 0, idx + len(self), idx)
        counts = self.counts[idx]
        offsets = np.zeros(len(idx) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        rows = np.repeat(self.offsets[idx] - offsets[:-1], counts) + np.arange(offsets[-1])
        return RaggedFrames(self.values[rows], offsets)

    def astype(self, dtype: np.dtype | type) -> RaggedFrames:
        return RaggedFrames(self.values.astype(dtype), self.offsets)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RaggedFrames)
            and np.array_equal(self.offsets, other.offsets)
            and self.values.dtype == other.values.dtype
            and np.array_equal(self.values, other.values)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        c = self.counts
        rng = f"{int(c.min())}..{int(c.max())}" if len(c) else "-"
        return f"RaggedFrames(T={len(self)}, rows per frame {rng}, row_shape={self.row_shape}, dtype={self.dtype})"


def encode_ragged(arr: RaggedFrames, codec: str) -> bytes:
    """The stored bytes of a ragged array (header and frame blocks; little-endian, C-contiguous ``values``)."""
    values = np.ascontiguousarray(arr.values)
    row_nbytes = values.itemsize * int(np.prod(values.shape[1:], dtype=np.int64))
    flat = values.reshape(-1).view(np.uint8)
    rows = arr.offsets[1:]
    if len(rows) and rows[-1] >= 1 << 32:
        raise ValueError(f"encode_ragged: {int(rows[-1])} rows; a ragged array holds fewer than 2**32")
    encode = CODECS[codec]
    if encode is None:
        ends = rows * row_nbytes
        blocks = [flat.tobytes()]
    else:
        parts = [
            encode(flat[int(a) * row_nbytes : int(b) * row_nbytes].tobytes())
            for a, b in zip(arr.offsets[:-1], arr.offsets[1:])
        ]
        ends = np.cumsum([len(p) for p in parts], dtype=np.int64)
        blocks = parts
    if len(ends) and ends[-1] >= 1 << 32:
        raise ValueError(f"encode_ragged: {int(ends[-1])} stored bytes; a ragged array holds at most 4 GiB")
    return rows.astype(HEADER_DTYPE).tobytes() + ends.astype(HEADER_DTYPE).tobytes() + b"".join(blocks)


def ragged_header(
    handles: FileHandles, fname: str, offset: int, length: int, extent: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The checked ``(rows, ends)`` tables (int64 ``[length]`` each) of the ragged array at ``offset``.

    Raises:
        StoreFormatError: tables that are not increasing, or that point past ``extent`` (naming file and byte).
    """
    head = np.empty(2 * length, HEADER_DTYPE)
    handles.read_into(fname, head, offset)
    head = head.astype(np.int64)
    rows, ends = head[:length], head[length:]
    bad = length and (bool(np.any(np.diff(rows) < 0)) or bool(np.any(np.diff(ends) < 0)))
    if bad or (extent is not None and extent > 0 and length and 8 * length + int(ends[-1]) > extent):
        raise StoreFormatError(
            f"{handles.root / fname}: the frame tables of the ragged array at byte {offset} are not increasing or "
            f"point past the array's extent ({extent} bytes) (corrupt ragged array)"
        )
    return rows, ends


def ragged_nbytes(handles: FileHandles, fname: str, offset: int, length: int) -> int:
    """Bytes a ragged array of ``length`` frames takes in its shard (header included)."""
    _, ends = ragged_header(handles, fname, offset, length)
    return 2 * length * HEADER_DTYPE.itemsize + (int(ends[-1]) if length else 0)


def read_ragged_frames(
    handles: FileHandles,
    fname: str,
    offset: int,
    layout: Layout,
    length: int,
    idx: np.ndarray,
    extent: int | None = None,
) -> RaggedFrames:
    """Frames ``idx`` (int64 ``[n]``, in range, any order, repeats allowed) of a ragged array, as a new
    :class:`RaggedFrames`: one read of the header, then one ``pread`` per run of nearby requested frames (only
    those frames' bytes, whatever the array's size), then one decode per distinct frame for compressed codecs.

    Raises:
        StoreFormatError: a corrupt header or frame block, naming the file, the byte and the frame.
    """
    row_shape = tuple(layout.frame_shape[1:])
    row_nbytes = layout.dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
    rows, ends = ragged_header(handles, fname, offset, length, extent)
    raw = layout.codec == RAW
    # the row table must agree with the stored bytes (raw: exactly; LZ4 expands a block at most 255-fold), so a
    # corrupted table cannot make the reader allocate more than the array could hold
    decoded = rows * row_nbytes
    too_many = not raw and length and decoded[-1] > 255 * ends[-1] + 16 * length
    if (raw and not np.array_equal(decoded, ends)) or too_many:
        raise StoreFormatError(
            f"{handles.root / fname}: the row table of the {layout.codec} ragged array at byte {offset} gives "
            f"{int(decoded[-1])} bytes of points for {int(ends[-1])} stored bytes (corrupt ragged array)"
        )
    data = offset + 2 * length * HEADER_DTYPE.itemsize
    uniq, inverse = np.unique(idx, return_inverse=True)
    starts = np.where(uniq > 0, ends[uniq - 1], 0)
    stops = ends[uniq]
    counts = rows[uniq] - np.where(uniq > 0, rows[uniq - 1], 0)
    got = np.empty(int(counts.sum()) * row_nbytes, np.uint8)
    at = np.zeros(len(uniq) + 1, np.int64)
    np.cumsum(counts * row_nbytes, out=at[1:])
    # runs of frames whose stored bytes are close: one read each
    breaks = np.flatnonzero(starts[1:] - stops[:-1] > _GAP) + 1
    run_lo = np.concatenate(([0], breaks)).tolist()
    run_hi = np.concatenate((breaks, [len(uniq)])).tolist()
    decompress = lz4_block.decompress
    for a, b in zip(run_lo, run_hi):
        s0, s1 = int(starts[a]), int(stops[b - 1])
        if raw and b - a == 1 and s1 - s0 == int(at[b] - at[a]):  # one frame whose tables agree: read in place
            handles.read_into(fname, got[at[a] : at[b]], data + s0)
            continue
        span = np.empty(s1 - s0, np.uint8)
        handles.read_into(fname, span, data + s0)
        view = memoryview(span)
        for j in range(a, b):
            lo, hi = int(starts[j]) - s0, int(stops[j]) - s0
            want = int(at[j + 1] - at[j])
            if raw:
                if hi - lo != want:
                    raise StoreFormatError(
                        f"{handles.root / fname}: frame {int(uniq[j])} of the ragged array at byte {offset} spans "
                        f"{hi - lo} bytes; its row table says {want} (corrupt ragged array)"
                    )
                got[at[j] : at[j + 1]] = span[lo:hi]
                continue
            try:
                frame = decompress(view[lo:hi], uncompressed_size=want) if want else b""
            except Exception as exc:  # LZ4BlockError: corrupt block
                raise StoreFormatError(
                    f"{handles.root / fname}: frame {int(uniq[j])} of the {layout.codec} ragged array at byte "
                    f"{offset} does not decode to {want} bytes ({exc})"
                ) from exc
            if len(frame) != want:
                raise StoreFormatError(
                    f"{handles.root / fname}: frame {int(uniq[j])} of the {layout.codec} ragged array at byte "
                    f"{offset} decodes to {len(frame)} bytes; expected {want}"
                )
            got[at[j] : at[j + 1]] = np.frombuffer(frame, np.uint8)
    values = got.view(layout.dtype).reshape(-1, *row_shape)
    part = RaggedFrames(values, at // row_nbytes)
    if len(uniq) == len(idx) and bool(np.all(np.diff(idx) > 0)):
        return part
    return part.take(inverse.reshape(-1))


def decode_ragged_all(handles: FileHandles, fname: str, offset: int, layout: Layout, length: int) -> RaggedFrames:
    """The whole ragged array."""
    return read_ragged_frames(handles, fname, offset, layout, length, np.arange(length, dtype=np.int64))
