"""The single-view protocols' CMC curve: starts at the peer's Rank-1 and never decreases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.evaluation import load_embeddings_npz, score_data


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_casiab_cmc_starts_at_rank1(fixtures_dir: Path, metric: str) -> None:
    data = load_embeddings_npz(fixtures_dir / "evaluation" / "casiab.npz")
    result = score_data("casia-b", data, metric=metric)
    assert set(result.cmc) == {"NM", "BG", "CL"}
    for cond, curve in result.cmc.items():
        assert len(curve) == 10
        assert curve[0] == pytest.approx(result.figures[f"scalar/test_accuracy/{cond}@R1"], abs=1e-9)
        assert np.all(np.diff(curve) >= -1e-9), f"{cond} CMC decreases: {curve}"
        assert curve[-1] <= 100.0
