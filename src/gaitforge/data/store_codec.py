"""Frame codecs of the sequence store: arrays kept raw, or compressed frame by frame.

A layout's ``codec`` says how an array's bytes are kept in its shard:

* ``"raw"`` (default): ``T`` frames of ``frame_nbytes`` bytes, back to back; readable by memory map.
* ``"lz4"`` / ``"lz4hc"``: each frame compressed on its own as an LZ4 block (``lz4hc``: the high-compression
  encoder, slower to write, same decoder), preceded by a header of ``T`` little-endian ``uint32``: the end of each
  frame's block, counted from the end of the header. Frame ``k`` is bytes ``[e[k-1], e[k])`` after the header
  (``e[-1] = 0``), so any frames are read and decoded without touching the others.

Silhouettes shrink 3–5× (their edges are grey, so not more), which matters once a dataset no longer fits in the
page cache: a compressed store is read from disk that many times less, and a compressed store that fits in memory
is never read from disk again. Decoding costs CPU time per frame read (``benchmarks/bench_store_scale.py``
measures both sides). The LZ4 format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from lz4 import block as lz4_block

from gaitforge.data.store_format import StoreFormatError

if TYPE_CHECKING:
    from gaitforge.data.store_format import Layout
    from gaitforge.data.store_reads import FileHandles

__all__ = [
    "CODECS",
    "ONE_READ_MAX",
    "RAW",
    "coded_nbytes",
    "decode_all",
    "encode_frames",
    "one_read",
    "read_coded_batch",
    "read_coded_frames",
    "worst_case_nbytes",
]

RAW = "raw"
HEADER_DTYPE = np.dtype("<u4")


def _lz4(mode: str) -> Callable[[bytes], bytes]:
    def compress(frame: bytes) -> bytes:
        return lz4_block.compress(frame, mode=mode, store_size=False)

    return compress


#: codec name → per-frame encoder (the decoder is LZ4's for every compressed codec)
CODECS: dict[str, Callable[[bytes], bytes] | None] = {
    RAW: None,
    "lz4": _lz4("default"),
    "lz4hc": _lz4("high_compression"),
}


def check_codec(codec: str, where: str = "codec") -> str:
    """``codec`` if it is known, else ``ValueError`` naming ``where``."""
    if codec not in CODECS:
        raise ValueError(f"{where} is {codec!r}; expected one of {sorted(CODECS)}")
    return codec


def encode_frames(arr: np.ndarray, codec: str) -> bytes:
    """Header and compressed frames of a C-contiguous ``[T, ...]`` array (``codec`` not ``raw``)."""
    encode = CODECS[codec]
    assert encode is not None, "raw arrays are written as they are"
    flat = arr.reshape(len(arr), -1).view(np.uint8)
    blocks = [encode(flat[k].tobytes()) for k in range(len(arr))]
    ends = np.cumsum([len(b) for b in blocks], dtype=np.int64)
    if len(ends) and ends[-1] >= 1 << 32:
        raise ValueError(f"encode_frames: {ends[-1]} compressed bytes; a coded array holds at most 4 GiB")
    return ends.astype(HEADER_DTYPE).tobytes() + b"".join(blocks)


def worst_case_nbytes(layout: Layout, length: int) -> int:
    """The most bytes a coded array of ``length`` frames can take: its frame table and LZ4's bound per frame
    (``n + n / 255 + 16``, ``LZ4_compressBound``)."""
    fb = layout.frame_nbytes
    return length * (HEADER_DTYPE.itemsize + fb + fb // 255 + 16)


#: A coded array whose extent (see :func:`read_coded_batch`) is at most this many bytes is read in one ``pread``.
ONE_READ_MAX = 1 << 20


def one_read(extent: np.ndarray | int, length: np.ndarray | int) -> np.ndarray | bool:
    """Whether a coded array of ``length`` frames with this extent (``SequenceStore``'s bound, -1 or 0 when there is
    none) is read whole in one ``pread`` (:func:`read_coded_batch`): bounded, beyond its frame table, and small."""
    return (extent > np.multiply(length, HEADER_DTYPE.itemsize)) & (extent <= ONE_READ_MAX)


def _header(handles: FileHandles, fname: str, offset: int, length: int) -> np.ndarray:
    ends = np.empty(length, HEADER_DTYPE)
    handles.read_into(fname, ends, offset)
    if length and (np.any(np.diff(ends.astype(np.int64)) < 0)):
        raise StoreFormatError(
            f"{handles.root / fname}: the frame table at byte {offset} is not increasing (corrupt coded array)"
        )
    return ends.astype(np.int64)


def coded_nbytes(handles: FileHandles, fname: str, offset: int, length: int) -> int:
    """Bytes a coded array of ``length`` frames takes in its shard (header included)."""
    ends = _header(handles, fname, offset, length)
    return length * HEADER_DTYPE.itemsize + (int(ends[-1]) if length else 0)


def read_coded_frames(
    handles: FileHandles,
    fname: str,
    offset: int,
    layout: Layout,
    length: int,
    idx: np.ndarray,
    out: np.ndarray,
    lo: int,
    hi: int,
) -> np.ndarray:
    """Decode frames ``idx`` (in ``lo..hi-1``) of a coded array into ``out`` ``[len(idx), *frame_shape]`` when its
    extent is unknown: two reads, the frame table, then the compressed span of frames ``lo..hi-1`` (an array whose
    extent is known is read whole by :func:`read_coded_batch`).
    """
    if not out.flags.c_contiguous:
        raise ValueError("read_coded_frames: out must be C-contiguous")
    head = length * HEADER_DTYPE.itemsize
    ends = _header(handles, fname, offset, length)
    start = int(ends[lo - 1]) if lo > 0 else 0
    span = np.empty(int(ends[hi - 1]) - start, np.uint8)
    handles.read_into(fname, span, offset + head + start)
    fb = layout.frame_nbytes
    dest = memoryview(out.reshape(-1).view(np.uint8))  # frame j: bytes [j * fb, (j + 1) * fb)
    buf = memoryview(span)
    bounds = [0, *(ends[lo:hi] - start).tolist()]  # frame k: bytes [bounds[k - lo], bounds[k - lo + 1]) of span
    decompress = lz4_block.decompress
    for j, k in enumerate((idx - lo).tolist()):
        try:
            frame = decompress(buf[bounds[k] : bounds[k + 1]], uncompressed_size=fb)
        except Exception as exc:  # lz4.block.LZ4BlockError: corrupt data
            raise StoreFormatError(
                f"{handles.root / fname}: frame {k + lo} of the {layout.codec} array at byte {offset} does not "
                f"decode to {fb} bytes ({exc})"
            ) from exc
        if len(frame) != fb:
            raise StoreFormatError(
                f"{handles.root / fname}: frame {k + lo} of the {layout.codec} array at byte {offset} decodes to "
                f"{len(frame)} bytes; expected {fb}"
            )
        dest[j * fb : (j + 1) * fb] = frame
    return out


def read_coded_batch(
    handles: FileHandles,
    fnames: list[str],
    offsets: list[int],
    lengths: np.ndarray,
    extents: np.ndarray,
    codecs: list[str],
    idx: np.ndarray,
    out: np.ndarray,
) -> None:
    """Frames ``idx[b]`` (int64 ``[B, n]``, in range) of ``B`` coded arrays into ``out[b]`` (C-contiguous
    ``[B, n, *frame_shape]``), array ``b`` at ``offsets[b]`` in ``fnames[b]``, ``lengths[b]`` frames, at most
    ``extents[b]`` bytes long (``SequenceStore``'s bound; every one > its frame table).

    One ``pread`` per array into one buffer, the frame tables checked and the frames located for the whole batch
    at once (numpy), then one LZ4 call per frame: the Python work per frame is the decode call alone.
    """
    n_arrays, n = idx.shape
    fb = out.itemsize * int(np.prod(out.shape[2:], dtype=np.int64))
    lengths, extents = lengths.astype(np.int64), extents.astype(np.int64)
    base = np.zeros(n_arrays + 1, np.int64)
    np.cumsum(extents, out=base[1:])
    buf = handles.scratch(int(base[-1]))
    for b in range(n_arrays):
        handles.read_into(fnames[b], buf[base[b] : base[b + 1]], offsets[b])
    head = lengths * HEADER_DTYPE.itemsize
    ends = np.concatenate([buf[base[b] : base[b] + head[b]].view(HEADER_DTYPE) for b in range(n_arrays)])
    ends = ends.astype(np.int64)
    first = np.zeros(n_arrays, np.int64)  # where each array's table starts in ``ends``
    np.cumsum(lengths[:-1], out=first[1:])
    prev = np.empty_like(ends)
    prev[1:] = ends[:-1]
    prev[first] = 0
    last = ends[first + lengths - 1]
    bad = np.flatnonzero(np.logical_or.reduceat(ends < prev, first) | (head + last > extents))
    if bad.size:
        b = int(bad[0])
        raise StoreFormatError(
            f"{handles.root / fnames[b]}: the frame table at byte {offsets[b]} is not increasing or gives "
            f"{int(head[b] + last[b])} bytes where the array can span at most {int(extents[b])} (corrupt coded array)"
        )
    rows = first[:, None] + idx
    stop = ends[rows]
    start = np.where(idx > 0, ends[rows - 1], 0)
    data = (base[:-1] + head)[:, None]  # where each array's frames start in ``buf``
    starts, stops = (start + data).ravel().tolist(), (stop + data).ravel().tolist()
    src, dest = memoryview(buf), memoryview(out.reshape(-1).view(np.uint8))
    decompress = lz4_block.decompress
    at = 0  # where frame at // fb goes in dest (a running offset: the loop's only arithmetic)
    try:
        for a, z in zip(starts, stops):
            end = at + fb
            dest[at:end] = decompress(src[a:z], fb)
            at = end
    except Exception as exc:  # LZ4BlockError: corrupt block; ValueError: decoded to another size
        b, k = divmod(at // fb, n)
        raise StoreFormatError(
            f"{handles.root / fnames[b]}: frame {int(idx[b, k])} of the {codecs[b]} array at byte {offsets[b]} "
            f"does not decode to {fb} bytes ({exc})"
        ) from exc


def decode_all(handles: FileHandles, fname: str, offset: int, layout: Layout, length: int) -> np.ndarray:
    """The whole coded array ``[length, *frame_shape]`` as a new array."""
    out = np.empty((length, *layout.frame_shape), layout.dtype)
    if length:
        read_coded_frames(handles, fname, offset, layout, length, np.arange(length), out, 0, length)
    return out
