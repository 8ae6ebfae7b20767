"""Scoliosis1K per-class figures and the confusion matrix against a naive per-row loop."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import score_embeddings

CLASSES = ["negative", "neutral", "positive"]


@pytest.mark.parametrize("seed", [0, 3])
def test_per_class_figures_match_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 50
    true = rng.integers(0, 3, size=n)
    logits = rng.normal(size=(n, 3, 2)).astype(np.float32)
    logits[np.arange(n), true, :] += 0.6
    result = score_embeddings("scoliosis1k", logits, ["s"] * n, np.array(CLASSES)[true], ["v"] * n)
    pred = [int(np.argmax(logits[i].mean(-1))) for i in range(n)]
    confusion = [[0] * 3 for _ in range(3)]
    for t, p in zip(true.tolist(), pred):
        confusion[t][p] += 1
    assert np.asarray(result.extra["confusion_matrix"]).tolist() == confusion
    for c, name in enumerate(CLASSES):
        tp = confusion[c][c]
        col = sum(confusion[r][c] for r in range(3))
        row = sum(confusion[c])
        precision = tp / col if col else 0.0
        recall = tp / row if row else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert result.extra[f"{name}/precision"] == pytest.approx(100 * precision)
        assert result.extra[f"{name}/recall"] == pytest.approx(100 * recall)
        assert result.extra[f"{name}/f1"] == pytest.approx(100 * f1)
