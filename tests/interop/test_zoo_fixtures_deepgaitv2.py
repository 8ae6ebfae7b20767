"""DeepGaitV2 (2d, p3d, 3d) and SkeletonGait against the OpenGait reference outputs (checks in
zoo_parity.py). The var case packs three sequences; the p3d and 3d stages mix frames across their
boundaries, as the peer does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .zoo_parity import check, params


@pytest.mark.parametrize(
    ("name", "what"), params(["DeepGaitV2_2d", "DeepGaitV2_p3d", "DeepGaitV2_3d", "SkeletonGait"])
)
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)
