"""The in-repo copy of the shared material (tests/assets/shared) is the same as ../shared, file for file.

The project carries the peer fixtures and the real video its tests need, so that a clone without ../shared still
runs the parity suite; this test keeps that copy honest whenever ../shared is present (as it is in CI).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import ASSETS, shared_root

_CARRIED = ("fixtures", "data/vtest.avi", "data/README.md")


def _files(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in _CARRIED:
        path = root / item
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in paths:
            if file.is_file():
                found[file.relative_to(root).as_posix()] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def test_the_copy_equals_the_shared_folder() -> None:
    shared = shared_root()
    if shared == ASSETS:
        pytest.skip("no ../shared beside the project: the in-repo copy is what the tests read")
    ours, theirs = _files(ASSETS), _files(shared)
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    changed = sorted(k for k in set(ours) & set(theirs) if ours[k] != theirs[k])
    assert not (missing or extra or changed), (
        f"tests/assets/shared differs from {shared}: missing {missing[:5]}, extra {extra[:5]}, changed {changed[:5]}"
        " — copy ../shared/fixtures and ../shared/data/vtest.avi into tests/assets/shared"
    )


def test_the_copy_holds_the_fixtures_the_suite_reads() -> None:
    assert (ASSETS / "fixtures" / "opengait" / "evaluation" / "index.json").is_file()
    assert (ASSETS / "fixtures" / "opengait" / "models" / "GaitBase.npz").is_file()
    assert (ASSETS / "data" / "vtest.avi").stat().st_size > 1_000_000
