"""Figures people look at: CMC curves and probe-view × gallery-view accuracy heatmaps (PNG, matplotlib Agg).

matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gaitforge.utils.atomic import atomic_path

if TYPE_CHECKING:
    from .results import EvaluationResult

__all__ = ["plot_cmc", "plot_view_heatmap", "save_plots"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """Save a figure atomically (:func:`gaitforge.utils.atomic.atomic_path`: fsync, then ``os.replace``)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    return path


def plot_cmc(result: EvaluationResult, path: str | os.PathLike[str]) -> Path:
    """CMC curves of ``result.cmc`` (percent against rank) into ``path``."""
    if not result.cmc:
        raise ValueError(f"protocol {result.protocol} produced no CMC curve")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    try:
        for name, curve in result.cmc.items():
            ranks = np.arange(1, len(curve) + 1)
            ax.plot(ranks, np.asarray(curve, dtype=float), marker="o", markersize=3, label=name)
        ax.set_xlabel("rank")
        ax.set_ylabel("identification rate (%)")
        ax.set_title(f"{result.dataset} CMC ({result.metric})")
        ax.grid(True, alpha=0.3)
        ax.set_ylim(top=100.5)
        if len(result.cmc) > 1:
            ax.legend()
        return _save(fig, Path(path))
    finally:
        plt.close(fig)


def plot_view_heatmap(result: EvaluationResult, condition: str, path: str | os.PathLike[str]) -> Path:
    """Rank-1 accuracy per (probe view, gallery view) cell of one condition into ``path``."""
    entry = result.per_view.get(condition, {})
    if "matrix" not in entry:
        raise ValueError(f"{result.protocol}: no view matrix for condition {condition!r}")
    matrix = np.array(
        [[np.nan if v is None else v for v in row] for row in np.asarray(entry["matrix"]).tolist()],
        dtype=float,
    )
    probe_views, gallery_views = entry["probe_views"], entry["gallery_views"]
    plt = _pyplot()
    size = 1.0 + 0.45 * max(len(gallery_views), 4)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    try:
        im = ax.imshow(matrix, vmin=0, vmax=100, cmap="viridis")
        ax.set_xticks(range(len(gallery_views)), gallery_views, rotation=90)
        ax.set_yticks(range(len(probe_views)), probe_views)
        ax.set_xlabel("gallery view")
        ax.set_ylabel("probe view")
        ax.set_title(f"{result.dataset} {condition} rank-1 (%)")
        if len(gallery_views) <= 16:
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    if np.isfinite(matrix[i, j]):
                        ax.text(
                            j,
                            i,
                            f"{matrix[i, j]:.0f}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if matrix[i, j] < 60 else "black",
                        )
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        return _save(fig, Path(path))
    finally:
        plt.close(fig)


def save_plots(result: EvaluationResult, out_dir: str | os.PathLike[str], stem: str) -> list[Path]:
    """Every plot the result supports: ``<stem>_cmc.png`` and ``<stem>_heatmap_<condition>.png``."""
    out_dir = Path(out_dir)
    paths = []
    if result.cmc:
        paths.append(plot_cmc(result, out_dir / f"{stem}_cmc.png"))
    for cond, entry in result.per_view.items():
        if "matrix" in entry:
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in cond)
            paths.append(plot_view_heatmap(result, cond, out_dir / f"{stem}_heatmap_{safe}.png"))
    return paths
