"""``gaitforge export``: prints what was exported and the difference against PyTorch; user errors in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaitforge.cli import main
from gaitforge.export import read_metadata
from gaitforge.export.cli import parse_input_shape
from tests.export.test_checkpoint import make_run


def test_export_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path)
    out = tmp_path / "model.onnx"
    assert main(["-q", "export", str(run), "--out", str(out), "--frames", "20", "--opset", "18"]) == 0
    printed = capsys.readouterr().out
    assert f"exported gaitbase to {out}" in printed and "ONNX opset 18" in printed
    assert "input:  sil [batch, 20, 32, 22] float32" in printed and "dynamic axes: batch" in printed
    assert "max abs difference against PyTorch on the check inputs:" in printed
    diff = float(printed.rsplit(":", 1)[1])
    assert 0 <= diff < 1e-4
    assert read_metadata(out)["inputs"][0]["shape"] == ["batch", 20, 32, 22]


def test_export_command_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "gaitforge export: error:" in capsys.readouterr().err
    run = make_run(tmp_path)
    assert main(["export", str(run), "--out", str(tmp_path / "m.onnx"), "--input-shape", "sil=64by44"]) == 2
    assert "--input-shape: expected MODALITY=DxDx" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(run), "--out", str(tmp_path / "m.onnx"), "--format", "tflite"])
    assert not (tmp_path / "m.onnx").exists()


def test_parse_input_shape() -> None:
    assert parse_input_shape("skeleton_map=2x64x44") == ("skeleton_map", (2, 64, 44))
    with pytest.raises(ValueError, match="sil=0x4"):
        parse_input_shape("sil=0x4")


def test_registering_the_command_imports_no_heavy_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys, argparse, gaitforge.export.cli as c; c.register(argparse.ArgumentParser().add_subparsers()); "
        "heavy = [m for m in ('torch', 'onnx', 'onnxruntime', 'numpy') if m in sys.modules]; assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
