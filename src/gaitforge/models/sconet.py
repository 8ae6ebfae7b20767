"""ScoNet: scoliosis screening from walking silhouettes (GaitBase with a 3-class diagnosis head).

Zhou et al., "Gait Patterns as Biomarkers: A Video-Based Approach for Classifying Scoliosis", MICCAI 2024
(the Scoliosis1K dataset). The network is GaitBase's (a per-frame ResNet9, temporal max pooling, 16-strip
HPP, part-wise FCs, a BNNeck) with the BNNeck classifier over the three screening classes
``negative`` / ``neutral`` / ``positive``. The multi-task variant of the paper (ScoNet-MT) is the same network
trained with a triplet loss on the FC embeddings (identity labels) beside the cross-entropy on the diagnosis
logits; it differs in the loss configuration only::

    losses:
      - {name: triplet, input: embeddings, margin: 0.2}          # identities (Batch.labels)
      - {name: ce, input: logits, labels: diagnosis_labels}      # the screening classes

The diagnosis labels are not identities: they come from each sequence's metadata. As in the peer (where the
Scoliosis1K status is the ``typs`` field), the status is the sequence's condition (``Batch.conditions``);
``forward`` maps it to ``extras["diagnosis_labels"]`` (``negative`` → 0, ``neutral`` → 1, ``positive`` → 2).

Outputs: ``embeddings`` = FC embeddings ``[B, C, P]`` (the triplet input), ``logits`` = the diagnosis logits
``[B, 3, P]`` (the peer's inference output, see :func:`predict_status`), extras ``bnneck_embeddings`` and,
when the batch carries conditions, ``diagnosis_labels`` ``[B]``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from gaitforge.data.batch import Batch
from gaitforge.models.base import ModelOutput
from gaitforge.models.gaitbase import GaitBase

__all__ = ["ScoNet", "SCOLIOSIS_STATUSES", "status_labels", "predict_status"]

logger = logging.getLogger(__name__)

#: Scoliosis1K screening statuses in class order (the peer's mapping: negative 0, neutral 1, positive 2).
SCOLIOSIS_STATUSES: tuple[str, ...] = ("negative", "neutral", "positive")


def status_labels(
    statuses: Sequence[str], device: torch.device | str | None = None, field: str = "conditions"
) -> torch.Tensor:
    """Scoliosis1K status strings → int64 class labels ``[B]``.

    Args:
        statuses: One status per sequence (case-insensitive).
        device: Device of the result.
        field: Name of the metadata field, for error messages.

    Raises:
        ValueError: A status that is not one of :data:`SCOLIOSIS_STATUSES`, naming its index.
    """
    ids = []
    for i, status in enumerate(statuses):
        key = str(status).strip().lower()
        if key not in SCOLIOSIS_STATUSES:
            raise ValueError(
                f"{field}[{i}]: expected a Scoliosis1K status {list(SCOLIOSIS_STATUSES)}, got {status!r}"
            )
        ids.append(SCOLIOSIS_STATUSES.index(key))
    return torch.tensor(ids, dtype=torch.long, device=device)


def predict_status(logits: torch.Tensor) -> torch.Tensor:
    """Predicted class ``[B]`` from part logits ``[B, 3, P]``: the arg-max of the part-averaged logits."""
    return logits.mean(-1).argmax(-1)


class ScoNet(GaitBase):
    """ScoNet (GaitBase with a 3-class BNNeck classifier); see the module docstring.

    Args:
        num_classes: Screening classes (3).
        **kwargs: :class:`~gaitforge.models.gaitbase.GaitBase` arguments (channels, layers, strides, bins...).
    """

    #: The peer's output paths: its inference embedding is the 3-class logits, its softmax labels the status.
    opengait_outputs = {
        "inference_feat/embeddings": "logits",
        "training_feat/triplet/embeddings": "embeddings",
        "training_feat/softmax/logits": "logits",
        "training_feat/softmax/labels": "diagnosis_labels",
    }

    #: What evaluation scores (the Scoliosis1K protocol reads class logits ``[N, 3, P]``).
    eval_output = "logits"
    #: The classes are the screening statuses, not the training identities: the trainer does not size the head.
    identity_classes = False

    def __init__(self, num_classes: int = 3, **kwargs: Any) -> None:
        super().__init__(num_classes=num_classes, **kwargs)
        self.num_classes = int(num_classes)

    def forward(self, batch: Batch) -> ModelOutput:
        """GaitBase's outputs plus ``extras["diagnosis_labels"]`` ``[B]`` from ``batch.conditions``.

        Raises:
            ValueError: In training mode, a batch whose conditions are not all Scoliosis1K statuses (the
                diagnosis labels would be missing); in eval mode such conditions only leave the labels out.
        """
        out = super().forward(batch)
        if batch.conditions:
            if len(batch.conditions) != out.embeddings.shape[0]:
                raise ValueError(
                    f"conditions: expected one status per sequence ({out.embeddings.shape[0]}), "
                    f"got {len(batch.conditions)}"
                )
            try:
                out.extras["diagnosis_labels"] = status_labels(batch.conditions, out.embeddings.device)
            except ValueError:
                if self.training:
                    raise
        return out
