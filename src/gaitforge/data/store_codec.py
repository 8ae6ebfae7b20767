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

__all__ = ["CODECS", "RAW", "coded_nbytes", "decode_all", "encode_frames", "read_coded_frames"]

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
    """Decode frames ``idx`` (in ``lo..hi-1``) of a coded array into ``out`` ``[len(idx), *frame_shape]``.

    Two reads: the frame table, then the compressed span of frames ``lo..hi-1`` (compressed spans are small, so
    one read of the span beats one read per frame).
    """
    ends = _header(handles, fname, offset, length)
    base = offset + length * HEADER_DTYPE.itemsize
    start = int(ends[lo - 1]) if lo > 0 else 0
    span = np.empty(int(ends[hi - 1]) - start, np.uint8)
    handles.read_into(fname, span, base + start)
    fb = layout.frame_nbytes
    if not out.flags.c_contiguous:
        raise ValueError("read_coded_frames: out must be C-contiguous")
    dest = memoryview(out.reshape(-1).view(np.uint8))  # frame j: bytes [j * fb, (j + 1) * fb)
    buf = memoryview(span)
    bounds = [0, *(ends[lo:hi] - start).tolist()]  # bounds[k - lo], bounds[k - lo + 1]: frame k within the span
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


def decode_all(handles: FileHandles, fname: str, offset: int, layout: Layout, length: int) -> np.ndarray:
    """The whole coded array ``[length, *frame_shape]`` as a new array."""
    out = np.empty((length, *layout.frame_shape), layout.dtype)
    if length:
        read_coded_frames(handles, fname, offset, layout, length, np.arange(length), out, 0, length)
    return out
