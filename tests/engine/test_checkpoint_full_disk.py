"""A full disk while a checkpoint is written: one line naming the file, earlier checkpoints intact."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch
import yaml

from gaitforge.cli import main
from gaitforge.config import config_to_dict
from gaitforge.engine.checkpoint import checkpoint_name, latest_checkpoint, load_checkpoint, save_checkpoint
from gaitforge.utils.atomic import DiskFullError
from tests.conftest import micro_config

_real_save = torch.save


def _fill_then_fail(obj, f, *args, **kwargs):
    """Write part of the file, then fail as a full device does."""
    Path(f).write_bytes(b"PK\x03\x04 partial")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_save_checkpoint_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = save_checkpoint(tmp_path / checkpoint_name(1), {"model": {"w": torch.ones(2)}})
    monkeypatch.setattr(torch, "save", _fill_then_fail)
    target = tmp_path / checkpoint_name(2)
    with pytest.raises(DiskFullError) as info:
        save_checkpoint(target, {"model": {"w": torch.zeros(2)}})
    assert str(info.value).startswith(f"{target}: no space left") and "\n" not in str(info.value)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no partial file, no temporary left
    assert torch.equal(load_checkpoint(first)["model"]["w"], torch.ones(2))


def test_train_on_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(
    micro_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "micro.yaml"
    cfg.write_text(yaml.safe_dump(config_to_dict(micro_config(micro_world, iterations=4, save_every=2))))
    calls = []

    def second_fails(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) == 2:
            return _fill_then_fail(obj, f)
        return _real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", second_fails)
    run = tmp_path / "run"
    assert main(["-q", "train", str(cfg), "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gaitforge train: error: ") and "no space left" in err and "\n" not in err
    assert checkpoint_name(4) in err
    monkeypatch.undo()
    last = latest_checkpoint(run / "checkpoints")
    assert last is not None and last.name == checkpoint_name(2) and load_checkpoint(last)["iteration"] == 2
