"""Challenge submission files (GREW top-20 lists, HID top-1 labels): formatting and atomic writing.

The CSV is written to the path the caller gives and nowhere else (the peer writes ``GREW_result/<time>.csv``
relative to the working directory).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

from gaitforge.utils.atomic import atomic_write_text

__all__ = ["format_label", "render_csv", "write_submission_csv"]


def format_label(label: str, style: str) -> str:
    """A gallery label as a submission cell.

    Args:
        label: The label string (e.g. ``"00042"``).
        style: ``"int"``: the integer it spells (``"42"``; the GREW server's format and the peer's output);
            ``"str"``: unchanged.

    Raises:
        ValueError: ``style="int"`` and the label is not an integer.
    """
    if style == "str":
        return label
    if style != "int":
        raise ValueError(f"label style must be 'int' or 'str', got {style!r}")
    try:
        return str(int(label))
    except ValueError as exc:
        raise ValueError(
            f"gallery label {label!r} is not an integer; this submission format writes integer ids "
            f"(use label_style='str' to keep labels as they are)"
        ) from exc


def render_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """CSV text with ``\\n`` line endings."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_submission_csv(
    path: str | os.PathLike[str], header: Sequence[str], rows: Sequence[Sequence[str]]
) -> Path:
    """Write the submission atomically to ``path`` (parent folders are created)."""
    return atomic_write_text(path, render_csv(header, rows))
