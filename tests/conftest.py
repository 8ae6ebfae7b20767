"""Shared test fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]


def _shared_root() -> Path:
    data = os.environ.get("GAITFORGE_SHARED_DATA")
    if data:
        return Path(data).resolve().parent
    return (_ROOT.parent / "shared").resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Root of ../shared (fixtures, data). Skipped when absent, except under CI where it must exist."""
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
