"""A full disk while a store is written: one error naming the shard file, nothing already written lost."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data import store_writer
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore
from gaitforge.data.store_writer import StoreWriter
from gaitforge.utils.atomic import DiskFullError


def _seq(n: int) -> Sequence:
    return Sequence(f"{n:04d}", "nm-01", "000", {"sil": np.full((4, 16, 11), n, np.uint8)}, {"n": n})


class _FullDevice:
    """``open`` for the writer whose files hold at most ``budget`` bytes in all, then fail with ENOSPC."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def __call__(self, path, mode="r", buffering=-1, **kwargs):
        real = io.open(path, mode, buffering=buffering, **kwargs)  # noqa: SIM115
        device = self

        class FullFile:
            def write(self, data) -> int:
                view = memoryview(data).cast("B")
                if device.budget <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                n = real.write(view[: device.budget])  # a short write first, as a real device does
                device.budget -= n
                return n

            def __getattr__(self, name):
                return getattr(real, name)

        return FullFile()


def _store_contents(root: Path) -> dict[str, int]:
    store = SequenceStore(root, verify=True)
    return {rec.subject: int(store.array(i, "sil")[0, 0, 0]) for i, rec in enumerate(store.records)}


def test_append_keeps_published_and_completed_sequences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "store"
    with StoreWriter(root) as w:
        for n in range(2):
            w.add(_seq(n))
    monkeypatch.setattr(store_writer, "open", _FullDevice(3 * 4096 + 300), raising=False)
    added = []
    with pytest.raises(DiskFullError) as info, StoreWriter(root, append=True) as w:
        for n in range(2, 40):
            w.add(_seq(n))
            added.append(n)
    message = str(info.value)
    assert "no space left" in message and "sil.0" in message and str(root) in message and "\n" not in message
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert 1 <= len(added) < 38  # some fit, then the device was full
    kept = {f"{n:04d}": n for n in [0, 1, *added]}
    assert _store_contents(root) == kept  # published before and completed in this session: all readable
    failed = added[-1] + 1
    with StoreWriter(root, append=True) as w:  # the next append cleans up and continues
        w.add(_seq(failed))
    assert _store_contents(root) == {**kept, f"{failed:04d}": failed}


def test_overwrite_keeps_the_old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "store"
    with StoreWriter(root) as w:
        w.add(_seq(7))
    monkeypatch.setattr(store_writer, "open", _FullDevice(1000), raising=False)
    with pytest.raises(DiskFullError, match=r"sil\.00000\.bin: no space left"), StoreWriter(root, overwrite=True) as w:
        for n in range(5):
            w.add(_seq(n))
    monkeypatch.undo()
    assert _store_contents(root) == {"0007": 7}
    assert [p.name for p in tmp_path.iterdir()] == ["store"]  # the temporary folder is gone
