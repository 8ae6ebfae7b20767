"""Losses for metric and identity learning, combined by a config-driven :class:`LossCollection`."""

from __future__ import annotations

from gaitforge.losses.collection import LOSSES, LossCollection, LossTerm, build_losses
from gaitforge.losses.cross_entropy import CrossEntropyLoss
from gaitforge.losses.triplet import TripletLoss, part_euclidean_distances

LOSSES.register("supcon", "gaitforge.losses.supcon:SupConLoss")
LOSSES.register("bce", "gaitforge.losses.bce:SegmentationBCELoss")
LOSSES.register("aux", "gaitforge.losses.aux:AuxiliaryLoss")

__all__ = [
    "LOSSES",
    "LossCollection",
    "LossTerm",
    "build_losses",
    "CrossEntropyLoss",
    "TripletLoss",
    "part_euclidean_distances",
]
