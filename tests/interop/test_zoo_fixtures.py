"""GaitSet, GaitPart, GaitGL and GLN (phases 1 and 2) against the OpenGait reference outputs.

DeepGaitV2 / SkeletonGait and SwinGait have their own files (test_zoo_fixtures_deepgaitv2.py,
test_zoo_fixtures_swingait.py) so that each file stays near 30 s on 2 CPU cores. The checks are in
zoo_parity.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .zoo_parity import check, params


@pytest.mark.parametrize(("name", "what"), params(["GaitSet", "GaitPart", "GaitGL", "GLN", "GLN_phase1"]))
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)
