from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.evaluation import score_embeddings
from gaitforge.evaluation.plots import plot_cmc, plot_view_heatmap, save_plots

from .reference_impl import synthetic_embeddings


def _png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmaps_and_cmc(tmp_path: Path) -> None:
    data = synthetic_embeddings(
        np.random.default_rng(0),
        ["1", "2", "3"],
        ["U0_D0_BG", "U0_D0", "U1_D1", "U2_D2", "U3_D3", "U0_D3", "U1_D0"],
        ["01_1", "02_1"],
    )
    result = score_embeddings("ccpg", *data)
    paths = save_plots(result, tmp_path, "ccpg")
    assert [p.name for p in paths] == ["ccpg_cmc.png"] + [
        f"ccpg_heatmap_{c}.png" for c in ("CL", "UP", "DN", "BG")
    ]
    assert all(_png(p) for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_plot_errors(tmp_path: Path) -> None:
    data = synthetic_embeddings(np.random.default_rng(0), ["1", "2"], ["nm-01", "nm-05"], ["000", "090"])
    result = score_embeddings("casia-b", *data)
    result.cmc = {}
    with pytest.raises(ValueError, match="no CMC"):
        plot_cmc(result, tmp_path / "c.png")
    with pytest.raises(ValueError, match="no view matrix"):
        plot_view_heatmap(result, "XX", tmp_path / "h.png")
    assert _png(plot_view_heatmap(result, "NM", tmp_path / "h.png"))
