"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
#: The project's own copy of what its tests need from ../shared (the peer fixtures and vtest.avi), so that a user who
#: clones the project alone still runs the parity suite. ``tests/test_assets.py`` keeps it equal to ../shared.
ASSETS = _ROOT / "tests" / "assets" / "shared"


def shared_root() -> Path:
    """Where the shared material is read from: ``$GAITFORGE_SHARED_DATA/..``, else ../shared, else the in-repo copy."""
    data = os.environ.get("GAITFORGE_SHARED_DATA")
    if data:
        return Path(data).resolve().parent
    sibling = (_ROOT.parent / "shared").resolve()
    return sibling if sibling.is_dir() else ASSETS


_shared_root = shared_root


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Root of the shared material (fixtures, data): ../shared or the in-repo copy; absent: skip (fail in CI)."""
    root = _shared_root()
    if not root.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared folder {root} is missing (required in CI)")
        pytest.skip(f"shared folder {root} is absent")
    return root


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir: Path) -> Path:
    """../shared/fixtures/opengait."""
    return shared_dir / "fixtures" / "opengait"


@pytest.fixture(scope="session")
def micro_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A very small synthetic world (6 subjects, 3 train / 3 test, 10 conditions, 3 views, 10 frames) as a store."""
    from gaitforge.synth import get_preset, make_world

    cfg = get_preset("tiny", seed=7, n_subjects=6, n_train=3, views=("000", "090", "180"), frames=10)
    return Path(make_world(cfg, tmp_path_factory.mktemp("micro_world"), workers=1, progress=False))


def micro_config(store: Path, **train: object):
    """A config that trains a very small GaitBase on ``micro_world`` in a few seconds."""
    from gaitforge.config import config_from_dict

    data = {
        "name": "micro",
        "data": {
            "store": str(store),
            "p": 3,
            "k": 2,
            "num_workers": 0,
            "train_frames": {"mode": "fixed_unordered", "num": 6},
            "transforms": [{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}],
            "test_transforms": [{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}],
        },
        "model": {"name": "gaitbase", "args": {"channels": [4, 8, 8, 16], "embed_dim": 16, "bins": [4]}},
        "optimizer": {"lr": 0.05},
        "scheduler": {"name": "multistep", "milestones": [3]},
        "train": {"iterations": 4, "log_every": 1, "save_every": 100, "tensorboard": False, **train},
        "eval": {"batch_size": 8},
    }
    return config_from_dict(data)
