"""Checkpoints: atomic, safe to load, RNG states restored, clear errors."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.engine.checkpoint import (
    capture_rng_state,
    checkpoint_name,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
)


def test_rng_round_trip(tmp_path: Path) -> None:
    state = capture_rng_state()
    first = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    save_checkpoint(tmp_path / "c.pt", {"model": {}, "rng": state})
    restore_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == first


def test_latest_and_prune(tmp_path: Path) -> None:
    for it in (5, 10, 100):
        save_checkpoint(tmp_path / checkpoint_name(it), {"model": {"w": torch.full((1,), float(it))}})
    assert latest_checkpoint(tmp_path).name == checkpoint_name(100)
    prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.pt")) == [checkpoint_name(10), checkpoint_name(100)]
    assert latest_checkpoint(tmp_path / "missing") is None


def test_refuses_code_and_garbage(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    bad = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, bad)
    with pytest.raises(ValueError, match="evil.pt: not a loadable gaitforge checkpoint"):
        load_checkpoint(bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        load_checkpoint(junk)
    plain = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(1)}, plain)
    with pytest.raises(ValueError, match="expected a dict with a 'model' state_dict"):
        load_checkpoint(plain)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")


def test_write_is_atomic_when_save_fails(tmp_path: Path) -> None:
    target = tmp_path / checkpoint_name(1)
    save_checkpoint(target, {"model": {"w": torch.ones(1)}})
    before = target.read_bytes()

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(target, {"model": Unsaveable()})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
