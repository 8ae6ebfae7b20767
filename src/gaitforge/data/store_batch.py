"""Batch reads of a sequence store: where each array can end, and a whole batch of frame picks read at once.

What :meth:`SequenceStore.read_batch` and :meth:`SequenceStore.will_need` run once the store has checked and
gathered the batch's index rows (``docs/store.md``, "Reading for training").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaitforge.data.store_codec import RAW, one_read, read_coded_batch, worst_case_nbytes
from gaitforge.data.store_reads import FileHandles, read_frames

if TYPE_CHECKING:
    from gaitforge.data.store_format import Layout
    from gaitforge.data.store_index import IndexReader

__all__ = ["array_extents", "read_rows"]


def array_extents(
    ix: IndexReader, file: np.ndarray, offset: np.ndarray, layout: np.ndarray, length: np.ndarray, layouts: list[Layout]
) -> np.ndarray:
    """Bytes each array of one modality spans from its offset, int64 ``[N]`` (0 where absent), from the index alone.

    Exact for raw arrays. For compressed ones an upper bound: up to the start of the next array in the same file
    (any modality) or the file's end, at most the codec's worst case; -1 when the bound cannot be computed (the
    array is then read in two steps). It lets a compressed array be read, frame table and frames, in one ``pread``,
    and lets :meth:`SequenceStore.will_need` name its bytes.

    Args:
        ix: The store's index.
        file, offset, layout, length: The modality's checked columns.
        layouts: The modality's layouts (``layout`` codes index them; -1: the sequence lacks the modality).
    """
    length = length.astype(np.int64)
    present = layout >= 0
    fb = np.array([0 if lay.ragged else lay.frame_nbytes for lay in layouts] + [0], np.int64)[layout]  # -1 → 0
    ext = np.where(present, length * fb, 0)
    # compressed and ragged arrays: bounded by the next array (ragged ones have no worst case of their own)
    coded = np.array([lay.codec != RAW or lay.ragged for lay in layouts] + [False])[layout] & present
    if not coded.any():
        return ext
    scale = int(ix.file_sizes.max()) + 1
    if len(ix.file_names) * scale >= 2**62:  # (file, offset) keys would overflow: no bound
        return np.where(coded, -1, ext)
    keys = []
    for m in ix.modalities:
        m_file, m_offset, m_layout = ix.group(m)
        keys.append((m_file.astype(np.int64) * scale + m_offset)[m_layout >= 0])
    starts = np.unique(np.concatenate(keys))
    own = file.astype(np.int64) * scale + offset
    after = starts[np.minimum(np.searchsorted(starts, own, side="right"), len(starts) - 1)]
    end = np.where((after > own) & (after // scale == file), after % scale, ix.file_sizes[file])
    worst = np.array([2**62 if lay.ragged else worst_case_nbytes(lay, 1) for lay in layouts] + [0], np.int64)
    worst = np.minimum(worst[layout], 2**62 // np.maximum(length, 1)) * length
    return np.where(coded, np.minimum(end - offset, worst), ext)


def read_rows(
    handles: FileHandles,
    names: list[str],
    file: np.ndarray,
    offset: np.ndarray,
    length: np.ndarray,
    lays: list[Layout],
    ext: np.ndarray,
    idx: np.ndarray,
    out: np.ndarray,
    prefetch: bool,
) -> None:
    """Frames ``idx[b]`` (int64 ``[B, n]``, checked in range) of ``B`` arrays into ``out[b]`` (C-contiguous
    ``[B, n, *frame_shape]``).

    Array ``b``: file code ``file[b]`` (a name in ``names``), ``offset[b]``, ``length[b]`` frames, layout
    ``lays[b]``, extent ``ext[b]`` (:func:`array_extents`). With ``prefetch``, every byte range is announced to the
    kernel first, so reads from disk proceed in parallel. Compressed arrays with a bounded extent are decoded
    together (:func:`~gaitforge.data.store_codec.read_coded_batch`); the others one by one.
    """
    coded = np.array([lay.codec != RAW for lay in lays])
    lo, hi = idx.min(axis=1), idx.max(axis=1) + 1
    if prefetch and len(lays) > 1:
        for b, lay in enumerate(lays):
            fb = lay.frame_nbytes
            start, nbytes = (0, int(ext[b])) if coded[b] else (int(lo[b]) * fb, int(hi[b] - lo[b]) * fb)
            if nbytes > 0:
                handles.will_need(names[int(file[b])], int(offset[b]) + start, nbytes)
    together = coded & one_read(ext, length)
    if together.any():
        sel = np.flatnonzero(together)
        part = out if together.all() else np.empty((len(sel), *out.shape[1:]), out.dtype)
        read_coded_batch(
            handles, [names[f] for f in file[sel].tolist()], offset[sel].tolist(), length[sel], ext[sel],
            [lays[b].codec for b in sel.tolist()], idx[sel], part,
        )  # fmt: skip
        if part is not out:
            out[sel] = part
    for b in np.flatnonzero(~together).tolist():
        read_frames(
            handles, names[int(file[b])], int(offset[b]), lays[b], idx[b], out[b], int(lo[b]), int(hi[b]),
            int(length[b]),
        )  # fmt: skip
