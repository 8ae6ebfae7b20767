"""Checksums of what is read: every array's blake2b digest (from the index) checked on its first read.

``store verify`` checks every array at once; training and evaluation read arrays frame by frame, over and over.
A :class:`ReadVerifier` checks each array's whole-array digest the first time any of its frames is read in
this process, and remembers it (a bit per sequence and modality), so a flipped byte on disk stops the first
read of that sequence with an error naming the file and the sequence, and later reads cost nothing. The
first read of each array costs one extra read of the whole array and its hash (see
``benchmarks/bench_store_verify.py`` for the measured cost and ``docs/store.md``); the index columns themselves
are checked against their own checksums when loaded.

Arrays are checked once per process: DataLoader workers each check what they read, and bytes that change
on disk after their first check are not seen again (``store verify`` reads everything).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from gaitforge.data.store_codec import RAW, coded_nbytes
from gaitforge.data.ragged import ragged_nbytes
from gaitforge.data.store_format import StoreFormatError, digest_text
from gaitforge.data.store_reads import FileHandles

__all__ = ["ReadVerifier", "check_array"]


def check_array(
    handles: FileHandles,
    root: Path,
    fname: str,
    offset: int,
    length: int,
    layout,
    expected: bytes,
    field: str,
    row: int,
    key: str,
    index_path: Path,
) -> None:
    """Hash one stored array and compare it with its index digest.

    Args:
        handles: The store's file handles.
        root: Store folder (for the message).
        fname, offset, length, layout: Where the array is and how it is kept.
        expected: The raw 16-byte digest from the index column ``field``.
        field: The index column (``"sil.checksum"``).
        row, key: The sequence's row and ``subject/condition/view`` key.
        index_path: The index file (for the message).

    Raises:
        StoreFormatError: the bytes do not match, naming the data file, the byte range, the field and the sequence.
    """
    try:
        if layout.ragged:
            nbytes = ragged_nbytes(handles, fname, offset, length)
        elif layout.codec == RAW:
            nbytes = length * layout.frame_nbytes
        else:
            nbytes = coded_nbytes(handles, fname, offset, length)
        got = handles.checksum(fname, nbytes, offset)
    except StoreFormatError as exc:  # a corrupted frame table sends the read past the file
        raise StoreFormatError(f"{exc} (checking field '{field}' of sequence {key!r}, row {row})") from None
    if got != digest_text(expected):
        raise StoreFormatError(
            f"{root / fname}: bytes {offset}..{offset + nbytes} do not match field '{field}' row {row} of "
            f"{index_path} (sequence {key!r}: expected {digest_text(expected)}, found {got}); the file is "
            f"corrupted: restore it or re-create the store"
        )


class ReadVerifier:
    """Which arrays of a store this process has checked; checks the others on demand (plain data: pickles).

    Args:
        num_rows: Sequences in the store.
    """

    def __init__(self, num_rows: int) -> None:
        self.num_rows = num_rows
        self._done: dict[str, np.ndarray] = {}  # modality → bool [num_rows]

    def ensure(self, rows: np.ndarray | list[int], modality: str, check: Callable[[int, str], None]) -> None:
        """Check the arrays of ``modality`` at ``rows`` (store rows, non-negative) not checked yet.

        Args:
            rows: Store rows about to be read.
            modality: The modality read.
            check: ``check(row, modality)`` hashes one array and raises on a mismatch.
        """
        done = self._done.get(modality)
        if done is None:
            done = self._done[modality] = np.zeros(self.num_rows, dtype=bool)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        for row in np.unique(rows[~done[rows]]).tolist():
            check(row, modality)
            done[row] = True
