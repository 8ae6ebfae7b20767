"""Small stores for the data-layer tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter


def make_sequences(
    n_subjects: int = 6,
    n_conditions: int = 3,
    views: tuple[str, ...] = ("000", "090"),
    seed: int = 0,
    lengths: tuple[int, ...] = (12, 20, 31),
    pose: bool = False,
) -> list[Sequence]:
    """Sequences whose silhouette frame ``t`` is filled with the value ``t`` (so frame picks are visible), except
    for a left-side marker (row 5, columns 0-9 = 200) that makes a horizontal flip visible."""
    rng = np.random.default_rng(seed)
    out = []
    n = 0
    for s in range(n_subjects):
        for c in range(n_conditions):
            for v in views:
                t = lengths[n % len(lengths)]
                n += 1
                sil = np.broadcast_to(np.arange(t, dtype=np.uint8)[:, None, None], (t, 64, 64)).copy()
                sil[:, 5, :10] = 200
                mods = {"sil": sil}
                if pose:
                    mods["pose"] = rng.random((t, 17, 3), dtype=np.float32)
                out.append(Sequence(f"{s:03d}", f"nm-{c + 1:02d}", v, mods, {"n": n}))
    return out


@pytest.fixture
def store_factory(tmp_path: Path) -> Callable[..., SequenceStore]:
    counter = iter(range(1000))

    def build(codec: str = "raw", **kwargs) -> SequenceStore:
        root = tmp_path / f"store{next(counter)}"
        with StoreWriter(root, codec=codec) as w:
            for seq in make_sequences(**kwargs):
                w.add(seq)
        return SequenceStore(root)

    return build


@pytest.fixture
def sequences_factory() -> Callable[..., list[Sequence]]:
    """The :func:`make_sequences` helper."""
    return make_sequences
