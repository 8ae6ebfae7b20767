"""``import gaitforge as gf``: every public name resolves to the object its module defines, lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import gaitforge as gf


@pytest.mark.parametrize("name", [n for n in gf.__all__ if n != "__version__"])
def test_each_name_is_the_modules_own_object(name: str) -> None:
    module, attribute = gf._EXPORTS[name]
    assert getattr(gf, name) is getattr(importlib.import_module(module), attribute)
    assert name in dir(gf)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        gf.trian  # noqa: B018


def test_import_pulls_in_neither_torch_nor_a_subpackage() -> None:
    code = (
        "import sys, gaitforge; "
        "heavy = sorted(m for m in sys.modules if m == 'torch' or m.startswith('gaitforge.') or m == 'numpy'); "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import gaitforge imported {out}"


def test_the_readme_example_runs_through_the_front_door(micro_world, tmp_path) -> None:
    from tests.conftest import micro_config

    cfg = micro_config(micro_world, iterations=2)
    run = gf.train(cfg, tmp_path / "run")
    assert (run.run_dir / "checkpoints").is_dir() or any(run.run_dir.rglob("*.pt"))
    assert gf.create_model("gaitbase") is not None
