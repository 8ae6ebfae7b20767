"""Fixtures of the service tests: a micro trained run, its recognizer and the micro world's silhouettes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import micro_config


@pytest.fixture(scope="session")
def service_run(micro_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GaitBase micro run folder trained for two iterations on ``micro_world``."""
    from gaitforge.engine.trainer import train

    run = tmp_path_factory.mktemp("service_run") / "run"
    train(micro_config(micro_world, iterations=2), run, progress=False)
    return run


@pytest.fixture(scope="session")
def recognizer(service_run: Path):
    """The run's :class:`~gaitforge.retrieval.Recognizer` (loaded once, shared by the apps under test)."""
    from gaitforge.retrieval import Recognizer

    return Recognizer.from_checkpoint(service_run)


@pytest.fixture(scope="session")
def walks(micro_world: Path) -> dict[str, list[np.ndarray]]:
    """Subject → its sequences' silhouettes uint8 ``[10, 64, 64]`` (6 subjects × 30 sequences)."""
    from gaitforge.data.store import SequenceStore

    store = SequenceStore(micro_world)
    out: dict[str, list[np.ndarray]] = {}
    for i in range(len(store)):
        seq = store.get(i)
        out.setdefault(seq.subject, []).append(np.asarray(seq.modalities["sil"]))
    return out
