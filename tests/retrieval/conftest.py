"""Fixtures of the retrieval tests: clustered synthetic vectors and a tiny trained run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import micro_config


@pytest.fixture(scope="session")
def trained_run(micro_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GaitBase micro run folder trained for two iterations on ``micro_world``."""
    from gaitforge.engine.trainer import train

    run = tmp_path_factory.mktemp("retrieval_run") / "run"
    train(micro_config(micro_world, iterations=2), run, progress=False)
    return run
