"""Config → model: the one place a run's model is built, for training and for loading a trained run."""

from __future__ import annotations

import torch

from gaitforge.config import Config
from gaitforge.engine.label_sources import model_accepts
from gaitforge.models import MODELS, create_model

__all__ = ["build_model_for"]


def build_model_for(cfg: Config, num_classes: int) -> torch.nn.Module:
    """The configured model with its classifier sized to the training identities."""
    args = dict(cfg.model.args)
    cls = MODELS.get(cfg.model.name)
    # sized to the identities unless the model has no such head (GaitSSB) or its classes are not identities (ScoNet)
    if model_accepts(cls, "num_classes") and getattr(cls, "identity_classes", True):
        args.setdefault("num_classes", num_classes)
    try:
        return create_model(cfg.model.name, **args)
    except TypeError as exc:
        raise ValueError(f"model.args: {exc}") from exc
