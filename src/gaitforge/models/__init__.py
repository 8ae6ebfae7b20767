"""Gait recognition models behind one interface: ``create_model(name, **kwargs)`` and ``list_models()``.

Models are registered lazily as ``"module:attr"`` strings, so importing this package imports no model file
(nor any of its optional dependencies) until a model is asked for.
"""

from __future__ import annotations

from typing import Any

from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.registry import Registry

__all__ = ["GaitModel", "ModelOutput", "MODELS", "create_model", "list_models", "is_trainable"]

MODELS: Registry[type[GaitModel]] = Registry("model")
MODELS.register("gaitbase", "gaitforge.models.gaitbase:GaitBase")
MODELS.register("gei", "gaitforge.models.gei:GaitEnergyImage")
MODELS.register("gaitset", "gaitforge.models.gaitset:GaitSet")
MODELS.register("gaitpart", "gaitforge.models.gaitpart:GaitPart")
MODELS.register("gaitgl", "gaitforge.models.gaitgl:GaitGL")
MODELS.register("gln", "gaitforge.models.gln:GLN")
MODELS.register("deepgaitv2", "gaitforge.models.deepgaitv2:DeepGaitV2")
MODELS.register("skeletongait", "gaitforge.models.deepgaitv2:SkeletonGait")
MODELS.register("skeletongait_pp", "gaitforge.models.skeletongait_pp:SkeletonGaitPP")
MODELS.register("swingait", "gaitforge.models.swingait:SwinGait")
MODELS.register("plain_baseline", "gaitforge.models.plain:PlainBaseline")
MODELS.register("gaitheat", "gaitforge.models.gaitheat:GaitHeat")
MODELS.register("gaitheat_released", "gaitforge.models.gaitheat_released:GaitHeatReleased")
MODELS.register("gaitgraph1", "gaitforge.models.gaitgraph:GaitGraph1")
MODELS.register("gaitgraph2", "gaitforge.models.gaitgraph:GaitGraph2")
MODELS.register("gaittr", "gaitforge.models.gaittr:GaitTR")
MODELS.register("gpgait", "gaitforge.models.gpgait:GPGait")
MODELS.register("msgg", "gaitforge.models.msgg:MSGG")
MODELS.register("sconet", "gaitforge.models.sconet:ScoNet")
MODELS.register("gaitedge", "gaitforge.models.gaitedge:GaitEdge")
MODELS.register("biggait", "gaitforge.models.biggait:BigGait")
MODELS.register("denoisinggait", "gaitforge.models.denoisinggait:DenoisingGait")
MODELS.register("lidargait", "gaitforge.models.lidargait:LidarGait")
MODELS.register("lidargait_pp", "gaitforge.models.lidargait:LidarGaitPlusPlus")
MODELS.register("smplgait", "gaitforge.models.smplgait:SMPLGait")
MODELS.register("parsinggait", "gaitforge.models.parsinggait:ParsingGait")
MODELS.register("multigaitpp", "gaitforge.models.multigaitpp:MultiGaitPP")
MODELS.register("gaitssb_pretrain", "gaitforge.models.gaitssb:GaitSSBPretrain")
MODELS.register("gaitssb_finetune", "gaitforge.models.gaitssb:GaitSSBFinetune")
MODELS.register("foundationgait", "gaitforge.models.foundationgait:FoundationGait")


def create_model(name: str, **kwargs: Any) -> GaitModel:
    """Build a registered model by name (case-insensitive) with keyword arguments.

    Example:
        >>> model = create_model("gaitbase", num_classes=10, channels=(16, 32, 64, 128))
    """
    cls = MODELS.get(name)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise TypeError(f"create_model({name!r}): {exc}") from exc


def list_models() -> list[str]:
    """Sorted names of the registered models."""
    return MODELS.names()


def is_trainable(model: GaitModel) -> bool:
    """Whether ``model`` has any parameter that requires a gradient (the GEI baseline has none)."""
    return getattr(model, "trainable", True) and any(p.requires_grad for p in model.parameters())
