"""The peer's multi-modal, self-supervised and pose/heatmap models in
:func:`gaitforge.interop.opengait.build_model`: ``model_cfg`` sections → gaitforge models with the peer's
state-dict layout (ParsingGait, MultiGaitpp, GaitSSB, FoundationGait; FastPoseGait's GPGait++ and GaitHeat).

Facts about the keys are from the peer's shipped YAMLs (OpenGait snapshot 0efafd4, FastPoseGait 94da9c8) as the
fixtures in ``../shared/fixtures/opengait/models`` record them. Unknown keys are errors named by their path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gaitforge.interop.opengait import (
    PeerModelSpec,
    _bnnecks,
    _deepgaitv2_backbone,
    _expect,
    _ints,
    _section,
    _separate_fcs,
)

__all__ = [
    "build_parsinggait",
    "build_multigaitpp",
    "build_gaitssb_pretrain",
    "build_gaitssb_finetune",
    "build_foundationgait_finetune",
    "build_gaitheat",
]

logger = logging.getLogger(__name__)


def _resnet9(cfg: Any, path: str, in_channels: int = 1) -> dict[str, Any]:
    """A ``type: ResNet9`` backbone section → ``channels`` / ``layers`` / ``strides`` / ``maxpool`` kwargs."""
    bb = _section(cfg, path, {"type", "channels"}, {"block", "layers", "strides", "maxpool", "in_channel"})
    _expect(f"{path}.type", bb["type"], "ResNet9")
    _expect(f"{path}.block", bb.get("block", "BasicBlock"), "BasicBlock")
    _expect(f"{path}.in_channel", bb.get("in_channel", 1), in_channels)
    channels = _ints(f"{path}.channels", bb["channels"])
    layers = _ints(f"{path}.layers", bb.get("layers", [1, 2, 2, 1]))
    strides = _ints(f"{path}.strides", bb.get("strides", [1, 2, 2, 1]))
    if not len(channels) == len(layers) == len(strides) == 4:
        raise ValueError(f"{path}: channels, layers and strides need 4 entries each")
    return dict(channels=channels, layers=layers, strides=strides, maxpool=bool(bb.get("maxpool", True)))


def build_parsinggait(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``ParsingGait`` → :class:`gaitforge.models.parsinggait.ParsingGait`."""
    keys = {"model", "backbone_cfg", "SeparateFCs", "SeparateBNNecks", "bin_num", "gcn_cfg"}
    cfg = _section(model_cfg, "model_cfg", keys, set())
    backbone = _resnet9(cfg["backbone_cfg"], "model_cfg.backbone_cfg")
    gcn = _section(
        cfg["gcn_cfg"],
        "model_cfg.gcn_cfg",
        {"fine_parts", "coarse_parts", "only_fine_graph", "only_coarse_graph", "combine_fine_coarse_graph"},
        set(),
    )
    _expect("model_cfg.gcn_cfg.fine_parts", gcn["fine_parts"], 11)
    _expect("model_cfg.gcn_cfg.coarse_parts", gcn["coarse_parts"], 5)
    # The peer checks the flags in this order: fine only, coarse only, both.
    if gcn["only_fine_graph"]:
        graph, nodes = "fine", 11
    elif gcn["only_coarse_graph"]:
        graph, nodes = "coarse", 5
    elif gcn["combine_fine_coarse_graph"]:
        graph, nodes = "both", 16
    else:
        raise ValueError("model_cfg.gcn_cfg: one of only_fine_graph, only_coarse_graph, combine_fine_coarse_graph")
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    parts = sum(bins) + nodes
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", backbone["channels"][-1], parts)
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", embed, parts)
    return PeerModelSpec(
        "parsinggait", dict(num_classes=classes, **backbone, embed_dim=embed, bins=bins, graph=graph)
    )


def build_multigaitpp(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``MultiGaitpp`` → :class:`gaitforge.models.multigaitpp.MultiGaitPP`.

    ``Backbone.in_channels`` is read by the peer's ``build_network`` but commented out in its shipped YAML (a
    KeyError as committed); it is optional here and, when given, must be ``part1_channel + part2_channel``.
    """
    cfg = _section(model_cfg, "model_cfg", {"model", "Backbone", "SeparateBNNecks"}, set())
    required = {"blocks", "C", "part1_channel", "part2_channel"}
    bb = _section(cfg["Backbone"], "model_cfg.Backbone", required, {"in_channels"})
    blocks = _ints("model_cfg.Backbone.blocks", bb["blocks"])
    if len(blocks) != 4:
        raise ValueError(f"model_cfg.Backbone.blocks: expected 4 entries, got {blocks}")
    width = bb["C"]
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ValueError(f"model_cfg.Backbone.C: expected a positive integer, got {width!r}")
    _expect("model_cfg.Backbone.part1_channel", bb["part1_channel"], 2)
    _expect("model_cfg.Backbone.part2_channel", bb["part2_channel"], 3)
    if "in_channels" in bb:
        _expect("model_cfg.Backbone.in_channels", bb["in_channels"], 5)
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", None, None)
    return PeerModelSpec("multigaitpp", dict(num_classes=classes, layers=blocks, width=width))


def _gaitssb_encoder(cfg: Mapping[str, Any]) -> dict[str, Any]:
    backbone = _resnet9(cfg["backbone_cfg"], "model_cfg.backbone_cfg")
    # The peer's HPP is fixed at 16/8/4/2/1 (31 parts); parts_num sizes the projector.
    _expect("model_cfg.parts_num", cfg["parts_num"], 31)
    return backbone


def build_gaitssb_pretrain(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``GaitSSB_Pretrain`` → :class:`gaitforge.models.gaitssb.GaitSSBPretrain` (no classifier)."""
    cfg = _section(model_cfg, "model_cfg", {"model", "backbone_cfg", "parts_num"}, set())
    return PeerModelSpec("gaitssb_pretrain", _gaitssb_encoder(cfg))


def build_gaitssb_finetune(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``GaitSSB_Finetune`` → :class:`gaitforge.models.gaitssb.GaitSSBFinetune`.

    ``backbone_lr``: stages with learning rate 0 are frozen (the stem always is); the other rates and
    ``projector_lr`` are optimizer settings (write them as ``optimizer.param_groups``), not model arguments.
    """
    cfg = _section(
        model_cfg, "model_cfg", {"model", "backbone_cfg", "parts_num"}, {"backbone_lr", "projector_lr"}
    )
    lrs = cfg.get("backbone_lr", [0.0, 0.001, 0.001, 0.001])
    if not isinstance(lrs, (list, tuple)) or len(lrs) != 4 or not all(isinstance(v, (int, float)) for v in lrs):
        raise ValueError(f"model_cfg.backbone_lr: expected 4 learning rates (layer1..layer4), got {lrs!r}")
    frozen = ["stem"] + [f"layer{i + 1}" for i, lr in enumerate(lrs) if lr == 0]
    return PeerModelSpec("gaitssb_finetune", dict(_gaitssb_encoder(cfg), frozen=frozen))


def build_foundationgait_finetune(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``FoundationGait_Scaling_Finetune`` → :class:`gaitforge.models.foundationgait.FoundationGait`.

    ``backbone_lr`` (one rate per ``layer0`` … ``layer4``): stages with rate 0 are frozen; the other rates and
    ``projector_lr`` are optimizer settings. ``parts_num`` must be ``sum(bin_num)``.
    """
    keys = {"model", "crop_list", "Backbone", "bin_num", "parts_num", "SeparateFCs", "SeparateBNNecks"}
    cfg = _section(model_cfg, "model_cfg", keys, {"backbone_lr", "projector_lr", "use_emb2"})
    bb, layers, channels = _deepgaitv2_backbone(cfg["Backbone"])
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    _expect("model_cfg.parts_num", cfg["parts_num"], sum(bins))
    _expect("model_cfg.use_emb2", cfg.get("use_emb2", False), False)
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", channels[-1], sum(bins))
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", embed, sum(bins))
    lrs = cfg.get("backbone_lr", [0.0] * 5)
    if not isinstance(lrs, (list, tuple)) or len(lrs) != 5 or not all(isinstance(v, (int, float)) for v in lrs):
        raise ValueError(f"model_cfg.backbone_lr: expected 5 learning rates (layer0..layer4), got {lrs!r}")
    return PeerModelSpec(
        "foundationgait",
        dict(
            num_classes=classes,
            in_channels=int(bb["in_channels"]),
            mode=bb["mode"],
            layers=layers,
            channels=channels,
            bins=bins,
            embed_dim=embed,
            crop_list=_ints("model_cfg.crop_list", cfg["crop_list"]),
            frozen=[f"layer{i}" for i, lr in enumerate(lrs) if lr == 0],
        ),
    )


def build_gaitheat(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """FastPoseGait's ``GaitHeat`` → :class:`gaitforge.models.gaitheat_released.GaitHeatReleased` with the
    release's input contract: normalised heatmaps (``Sequence_level`` done by the data pipeline) and the
    ``RotationMat`` matrices as a second input (``align_mats``), aligned in float16 as released."""
    cfg = _section(
        model_cfg, "model_cfg", {"model", "backbone_cfg", "SeparateFCs", "SeparateBNNecks", "bin_num"}, set()
    )
    backbone = _resnet9(cfg["backbone_cfg"], "model_cfg.backbone_cfg")
    _expect("model_cfg.backbone_cfg.maxpool", backbone.pop("maxpool"), False)
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", backbone["channels"][-1], sum(bins))
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", embed, sum(bins))
    return PeerModelSpec(
        "gaitheat_released",
        dict(
            num_classes=classes, **backbone, embed_dim=embed, bins=bins, normalize=False, mat_modality="align_mats"
        ),
    )
