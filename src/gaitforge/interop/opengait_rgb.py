"""The peer's RGB models in :func:`gaitforge.interop.opengait.build_model`: ``GaitEdge``,
``BigGait__Dinov2_Gaitbase`` and ``DenoisingGait`` ``model_cfg`` sections → gaitforge models with the peer's
state-dict layout.

Facts about the keys are from OpenGait (snapshot 0efafd4): ``configs/gaitedge/phase2_gaitedge.yaml``,
``configs/biggait/BigGait_CCPG.yaml``, ``configs/denoisinggait/denoisinggait_casiab.yaml`` and the model files.
Keys that only steer the peer's training (GaitEdge's ``seg_lr``: write it as an ``optimizer.param_groups`` entry
on ``Backbone.``; BigGait's checkpoint paths: pass ``pretrained_dinov2=`` to the model yourself, nothing is read
from the config's path) are accepted and not used here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gaitforge.interop.opengait import PeerModelSpec, _bnnecks, _expect, _ints, _section, _separate_fcs

__all__ = ["build_gaitedge", "build_biggait", "build_denoisinggait"]

logger = logging.getLogger(__name__)

_RESNET_KEYS = {"type", "channels"}
_RESNET_OPTIONAL = {"block", "layers", "strides", "maxpool", "in_channel"}


def _resnet9(cfg: Any, path: str) -> dict[str, Any]:
    bb = _section(cfg, path, _RESNET_KEYS, _RESNET_OPTIONAL)
    _expect(f"{path}.type", bb["type"], "ResNet9")
    _expect(f"{path}.block", bb.get("block", "BasicBlock"), "BasicBlock")
    _expect(f"{path}.maxpool", bool(bb.get("maxpool", True)), False)
    channels = _ints(f"{path}.channels", bb["channels"])
    layers = _ints(f"{path}.layers", bb.get("layers", [1, 2, 2, 1]))
    strides = _ints(f"{path}.strides", bb.get("strides", [1, 2, 2, 1]))
    if not len(channels) == len(layers) == len(strides) == 4:
        raise ValueError(f"{path}: channels, layers and strides need 4 entries each")
    return dict(channels=channels, layers=layers, strides=strides)


def build_gaitedge(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``GaitEdge`` → :class:`gaitforge.models.gaitedge.GaitEdge`."""
    cfg = _section(
        model_cfg, "model_cfg", {"model", "GaitGL", "Segmentation", "edge", "align"}, {"seg_lr", "kernel_size"}
    )
    gl = _section(cfg["GaitGL"], "model_cfg.GaitGL", {"channels", "class_num"}, set())
    channels = _ints("model_cfg.GaitGL.channels", gl["channels"])
    if len(channels) != 3:
        raise ValueError(f"model_cfg.GaitGL.channels: GaitEdge uses the CASIA-B GaitGL (3 widths), got {channels}")
    seg = _section(cfg["Segmentation"], "model_cfg.Segmentation", {"type"}, {"in_channels", "freeze_half"})
    _expect("model_cfg.Segmentation.type", seg["type"], "U_Net")
    return PeerModelSpec(
        "gaitedge",
        dict(
            num_classes=int(gl["class_num"]),
            channels=channels,
            seg_in_channels=int(seg.get("in_channels", 3)),
            freeze_half=bool(seg.get("freeze_half", True)),
            edge=bool(cfg["edge"]),
            align=bool(cfg["align"]),
            kernel_size=int(cfg.get("kernel_size", 3)),
        ),
    )


_BRANCH_KEYS = {"source_dim", "target_dim", "p", "softmax", "Relu", "Up"}
# The fixed structure of BigGait's three branches in the peer's code: (softmax, Relu, Up).
_BRANCHES = {
    "Mask_Branch": (True, False, True),
    "Denoising_Branch": (True, True, False),
    "Appearance_Branch": (False, False, False),
}


def build_biggait(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``BigGait__Dinov2_Gaitbase`` (DINOv2 ViT-S/14, the only size the peer builds) → ``biggait``."""
    keys = {"model", "image_size", "sils_size", "AttentionFusion", "backbone_cfg", "SeparateFCs", "SeparateBNNecks"}
    keys |= {"bin_num"} | set(_BRANCHES)
    cfg = _section(model_cfg, "model_cfg", keys, {"pretrained_dinov2", "pretrained_mask_branch"})
    dims = {}
    for name, (softmax, relu, up) in _BRANCHES.items():
        br = _section(cfg[name], f"model_cfg.{name}", _BRANCH_KEYS, set())
        for key, want in (("softmax", softmax), ("Relu", relu), ("Up", up)):
            _expect(f"model_cfg.{name}.{key}", bool(br[key]), want)
        if name != "Mask_Branch":
            _expect(f"model_cfg.{name}.p", float(br["p"]), 0.0)
        dims[name] = br
    width = 384  # DINOv2 ViT-S/14
    _expect("model_cfg.Mask_Branch.source_dim", dims["Mask_Branch"]["source_dim"], width)
    for name in ("Denoising_Branch", "Appearance_Branch"):
        _expect(f"model_cfg.{name}.source_dim", dims[name]["source_dim"], 4 * width)
    net = _resnet9(cfg["backbone_cfg"], "model_cfg.backbone_cfg")
    fusion = _section(
        cfg["AttentionFusion"], "model_cfg.AttentionFusion", {"in_channels", "squeeze_ratio"}, {"feat_len"}
    )
    _expect("model_cfg.AttentionFusion.feat_len", fusion.get("feat_len", 2), 2)
    _expect("model_cfg.AttentionFusion.in_channels", fusion["in_channels"], net["channels"][0])
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", net["channels"][-1], sum(bins))
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", embed, sum(bins))
    return PeerModelSpec(
        "biggait",
        dict(
            num_classes=classes,
            dinov2="small",
            image_size=int(cfg["image_size"]),
            sils_size=int(cfg["sils_size"]),
            mask_dim=int(dims["Mask_Branch"]["target_dim"]),
            app_dim=int(dims["Appearance_Branch"]["target_dim"]),
            denoising_dim=int(dims["Denoising_Branch"]["target_dim"]),
            mask_dropout=float(dims["Mask_Branch"]["p"]),
            fusion_squeeze=int(fusion["squeeze_ratio"]),
            embed_dim=embed,
            bins=bins,
            **net,
        ),
    )


def build_denoisinggait(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``DenoisingGait`` on precomputed diffusion features → ``denoisinggait``."""
    keys = {"model", "backbone_cfg", "SeparateFCs", "SeparateBNNecks", "bin_num", "r", "p"}
    cfg = _section(model_cfg, "model_cfg", keys, {"test_da", "threshold", "eroded_kernel"})
    net = _resnet9(cfg["backbone_cfg"], "model_cfg.backbone_cfg")
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", net["channels"][-1], sum(bins))
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", embed, sum(bins))
    _expect("model_cfg.p", float(cfg["p"]), 0.0)  # flow smoothing during training: not implemented
    return PeerModelSpec(
        "denoisinggait", dict(num_classes=classes, radius=int(cfg["r"]), embed_dim=embed, bins=bins, **net)
    )
