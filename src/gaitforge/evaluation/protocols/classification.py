"""Classification protocols: Scoliosis1K screening (Zhou et al., "Gait Patterns as Biomarkers: A Video-Based
Approach for Classifying Scoliosis", MICCAI 2024).

The ``embeddings`` array holds class logits ``[N, K, P]`` (K classes, P parts); the prediction is the arg-max
of the logits averaged over parts, the ground truth is the row's ``types`` (``negative`` / ``neutral`` /
``positive``). Figures: accuracy and macro-averaged precision, recall and F1 over the classes that occur in
the ground truth or the predictions (a class with no predictions has precision 0, as scikit-learn's
``zero_division=0``). The peer returns fractions; gaitforge reports percent like every other protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import EvalData
from ..results import EvaluationResult
from .base import Protocol, ScoreOptions, SkipLog, types_summary

__all__ = ["Classification", "classification_figures"]


def classification_figures(
    true_ids: np.ndarray, pred_ids: np.ndarray, num_classes: int
) -> dict[str, np.ndarray]:
    """Confusion matrix and per-class precision / recall / F1 (fractions; 0 where undefined).

    Args:
        true_ids: int ``[N]`` ground-truth class ids.
        pred_ids: int ``[N]`` predicted class ids.
        num_classes: K.

    Returns:
        ``confusion`` int ``[K, K]`` (rows: truth, columns: prediction), ``precision``, ``recall``, ``f1``
        float ``[K]``, ``present`` bool ``[K]`` (class occurs in truth or prediction).
    """
    confusion = np.bincount(true_ids * num_classes + pred_ids, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )
    tp = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        denom = 2 * tp + (predicted - tp) + (actual - tp)
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return {
        "confusion": confusion,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "present": (predicted + actual) > 0,
    }


@dataclass(frozen=True)
class Classification(Protocol):
    """Arg-max of part-averaged logits against the class named in ``types``.

    Attributes:
        classes: Class names in logit order.
    """

    classes: tuple[str, ...] = ("negative", "neutral", "positive")

    family = "classification"

    def evaluate(self, data: EvalData, options: ScoreOptions) -> EvaluationResult:
        log = SkipLog()
        k = len(self.classes)
        if data.embeddings.shape[1] != k:
            raise ValueError(
                f"{data.source}: {self.name} expects class logits [N, {k}, P] in 'embeddings' "
                f"(classes {list(self.classes)}), got shape {data.embeddings.shape}"
            )
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = ~np.isin(data.types, list(self.classes))
        if unknown.any():
            raise ValueError(
                f"{data.source}: key 'types' must name the class of each row, one of {list(self.classes)}; "
                f"found {types_summary(data.types[unknown])} in {int(unknown.sum())} rows"
            )
        true_ids = np.array([index[t] for t in data.types.tolist()], dtype=np.int64)
        pred_ids = np.argmax(data.embeddings.mean(-1), axis=-1).astype(np.int64)
        stats = classification_figures(true_ids, pred_ids, k)
        present = stats["present"]
        accuracy = float(np.mean(true_ids == pred_ids)) if true_ids.size else float("nan")
        figures = {
            "scalar/test_accuracy/": accuracy * 100,
            "scalar/test_precision/": float(np.mean(stats["precision"][present])) * 100,
            "scalar/test_recall/": float(np.mean(stats["recall"][present])) * 100,
            "scalar/test_f1/": float(np.mean(stats["f1"][present])) * 100,
        }
        extra = {
            f"{name}/{m}": float(stats[m][i]) * 100
            for i, name in enumerate(self.classes)
            for m in ("precision", "recall", "f1")
        }
        extra["confusion_matrix"] = stats["confusion"]
        extra["classes"] = list(self.classes)
        counts = {
            "samples": int(true_ids.size),
            "per_class": {c: int((true_ids == i).sum()) for i, c in enumerate(self.classes)},
        }
        log.note("the peer returns these figures as fractions; gaitforge reports percent")
        return self._result(options, log, figures=figures, extra=extra, counts=counts)
