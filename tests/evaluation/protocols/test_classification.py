from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import score_embeddings
from gaitforge.evaluation.protocols.classification import classification_figures

CLASSES = ["negative", "neutral", "positive"]


def _loop_reference(true, pred, k=3):
    present = sorted(set(true) | set(pred))
    prec, rec, f1 = [], [], []
    for c in present:
        tp = sum(t == c and p == c for t, p in zip(true, pred))
        fp = sum(t != c and p == c for t, p in zip(true, pred))
        fn = sum(t == c and p != c for t, p in zip(true, pred))
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        prec.append(pr)
        rec.append(rc)
        f1.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    return np.mean(prec), np.mean(rec), np.mean(f1)


def test_scoliosis_figures_match_loop_reference() -> None:
    rng = np.random.default_rng(0)
    true = rng.integers(0, 3, size=60)
    logits = rng.normal(size=(60, 3, 4)).astype(np.float32)
    logits[np.arange(60), true, :] += 0.8
    n = len(true)
    result = score_embeddings("scoliosis1k", logits, ["x"] * n, np.array(CLASSES)[true], ["v"] * n)
    pred = logits.mean(-1).argmax(-1)
    p, r, f = _loop_reference(true.tolist(), pred.tolist())
    assert result["scalar/test_accuracy/"] == pytest.approx(100 * np.mean(pred == true))
    assert result["scalar/test_precision/"] == pytest.approx(100 * p)
    assert result["scalar/test_recall/"] == pytest.approx(100 * r)
    assert result["scalar/test_f1/"] == pytest.approx(100 * f)
    assert np.asarray(result.extra["confusion_matrix"]).sum() == 60
    assert "precision (macro)" in str(result)


def test_absent_class_is_left_out_of_the_macro_average() -> None:
    stats = classification_figures(np.array([0, 0, 2]), np.array([0, 2, 2]), 3)
    assert stats["present"].tolist() == [True, False, True]
    assert stats["precision"].tolist() == [1.0, 0.0, 0.5]


def test_bad_classification_input() -> None:
    with pytest.raises(ValueError, match=r"class logits \[N, 3, P\]"):
        score_embeddings("scoliosis1k", np.zeros((2, 4, 1), np.float32), ["a", "b"], CLASSES[:2], ["v", "v"])
    with pytest.raises(ValueError, match="'types' must name the class"):
        score_embeddings(
            "scoliosis1k", np.zeros((2, 3, 1), np.float32), ["a", "b"], ["negative", "mild"], ["v", "v"]
        )
