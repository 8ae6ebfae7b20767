"""``gaitforge store info|verify|recode``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.cli import main
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter


def _store(root: Path) -> list[Sequence]:
    yy, xx = np.mgrid[:32, :22]
    seqs = []
    for k in range(4):
        sil = np.stack(
            [np.clip((1 - np.hypot((xx - 11 - t % 5) / 5, (yy - 16) / 12)) * 1500, 0, 255) for t in range(8 + k)]
        )
        pose = np.full((8 + k, 17, 3), k, np.float32)
        seqs.append(Sequence(f"{k:03d}", "nm-01", "000", {"sil": sil.astype(np.uint8), "pose": pose}, {"k": k}))
    with StoreWriter(root) as w:
        for s in seqs:
            w.add(s)
    return seqs


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["-q", *argv]) == 0
    return capsys.readouterr().out


def test_recode_compresses_one_modality_and_info_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seqs = _store(tmp_path / "raw")
    out = json.loads(
        _run(capsys, "store", "recode", str(tmp_path / "raw"), "--out", str(tmp_path / "lz4"), "--codec", "sil=lz4")
    )
    assert out["copied"] == 4 and out["sequences"] == 4
    before, after = out["bytes_before_after"]["sil"]
    assert after * 2 < before
    assert out["bytes_before_after"]["pose"][0] == out["bytes_before_after"]["pose"][1]  # pose stays raw
    info = json.loads(_run(capsys, "store", "info", str(tmp_path / "lz4")))
    assert info["sequences"] == 4 and info["frames"] == sum(s.length for s in seqs)
    assert [(lay["codec"], lay["arrays"]) for lay in info["modalities"]["sil"]["layouts"]] == [("lz4", 4)]
    assert "every checksum matches" in _run(capsys, "store", "verify", str(tmp_path / "lz4"))
    store = SequenceStore(tmp_path / "lz4")
    for i, s in enumerate(seqs):
        assert store.record(i).meta == s.meta
        for m, arr in s.modalities.items():
            assert np.array_equal(store.array(i, m), arr)
    again = json.loads(
        _run(capsys, "store", "recode", str(tmp_path / "raw"), "--out", str(tmp_path / "lz4"), "--codec", "sil=lz4")
    )
    assert again["copied"] == 0  # resumable: present sequences are skipped


def test_verify_fails_on_a_damaged_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path / "s")
    shard = tmp_path / "s" / "sil.00000.bin"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert main(["-q", "store", "verify", str(tmp_path / "s")]) != 0  # a user error: one line, no traceback
    assert "sil.00000.bin: bytes 0..5632 do not match field 'sil.checksum' row 0" in capsys.readouterr().err


def test_bad_codec_arguments_are_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path / "s")
    assert main(["-q", "store", "recode", str(tmp_path / "s"), "--out", str(tmp_path / "o"), "--codec", "sil=zip"]) != 0
    assert "codec of modality 'sil' is 'zip'" in capsys.readouterr().err
    assert main(["-q", "store", "recode", str(tmp_path / "s"), "--out", str(tmp_path / "s"), "--codec", "lz4"]) != 0
    assert "write to a new folder" in capsys.readouterr().err
