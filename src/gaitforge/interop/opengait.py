"""OpenGait interop: build models from the peer's ``model_cfg``, read its checkpoints safely (re-exported from
:mod:`gaitforge.interop.opengait_checkpoint`), and call models the way its test loop does.

Supported peer models live in one table (``_PEER_MODELS``): add a row (the peer's ``model`` name → a builder
taking the ``model_cfg`` dict) to support another. Unknown config keys are errors, named by their path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gaitforge.data.batch import Batch
from gaitforge.interop.opengait_checkpoint import CheckpointContents, load_checkpoint, read_checkpoint
from gaitforge.models.base import GaitModel

__all__ = [
    "build_model",
    "peer_model_spec",
    "PeerModelSpec",
    "supported_models",
    "load_checkpoint",
    "read_checkpoint",
    "CheckpointContents",
    "run_opengait_style",
    "DEFAULT_OUTPUT_ROUTES",
]

logger = logging.getLogger(__name__)

#: OpenGait output path → ``ModelOutput`` field. Models may override with an ``opengait_outputs`` attribute.
DEFAULT_OUTPUT_ROUTES: dict[str, str] = {
    "inference_feat/embeddings": "embeddings",
    "training_feat/triplet/embeddings": "embeddings",
    "training_feat/softmax/logits": "logits",
}


def _section(cfg: Mapping[str, Any], path: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    """Check one config mapping: required keys present, no unknown keys. Errors name the key's path."""
    if not isinstance(cfg, Mapping):
        raise TypeError(f"{path}: expected a mapping, got {type(cfg).__name__}")
    missing = sorted(required - set(cfg))
    if missing:
        raise KeyError(f"{path}: missing key(s) {missing}")
    unknown = sorted(set(cfg) - required - optional)
    if unknown:
        raise KeyError(f"{path}.{unknown[0]}: unknown key; expected one of {sorted(required | optional)}")
    return dict(cfg)


def _expect(path: str, value: Any, expected: Any) -> None:
    if value != expected:
        raise ValueError(f"{path}: expected {expected!r}, got {value!r}")


@dataclass(frozen=True)
class PeerModelSpec:
    """A peer ``model_cfg`` translated: the gaitforge registry name and its constructor arguments.

    ``create_model(spec.name, **spec.kwargs)`` builds the model; ``num_classes`` is among the kwargs for models
    with a classifier (the peer's ``class_num``).
    """

    name: str
    kwargs: dict[str, Any]

    @property
    def num_classes(self) -> int | None:
        """The peer's class count, or None for models without a classifier."""
        value = self.kwargs.get("num_classes")
        return None if value is None else int(value)

    def build(self) -> GaitModel:
        """The model."""
        from gaitforge.models import create_model

        return create_model(self.name, **self.kwargs)


def _build_baseline(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """The peer's ``Baseline`` (GaitBase) → :class:`gaitforge.models.gaitbase.GaitBase`."""
    cfg = _section(
        model_cfg, "model_cfg", {"model", "backbone_cfg", "SeparateFCs", "SeparateBNNecks", "bin_num"}, set()
    )
    bb = _section(
        cfg["backbone_cfg"],
        "model_cfg.backbone_cfg",
        {"type", "channels"},
        {"block", "layers", "strides", "maxpool", "in_channel"},
    )
    _expect("model_cfg.backbone_cfg.type", bb["type"], "ResNet9")
    _expect("model_cfg.backbone_cfg.block", bb.get("block", "BasicBlock"), "BasicBlock")
    fcs = _section(cfg["SeparateFCs"], "model_cfg.SeparateFCs", {"in_channels", "out_channels", "parts_num"}, {"norm"})
    necks = _section(
        cfg["SeparateBNNecks"],
        "model_cfg.SeparateBNNecks",
        {"class_num", "in_channels", "parts_num"},
        {"norm", "parallel_BN1d"},
    )
    _expect("model_cfg.SeparateFCs.norm", fcs.get("norm", False), False)
    _expect("model_cfg.SeparateBNNecks.parallel_BN1d", necks.get("parallel_BN1d", True), True)
    bins = [int(b) for b in cfg["bin_num"]]
    channels = [int(c) for c in bb["channels"]]
    _expect("model_cfg.SeparateFCs.in_channels", fcs["in_channels"], channels[-1])
    _expect("model_cfg.SeparateFCs.parts_num", fcs["parts_num"], sum(bins))
    _expect("model_cfg.SeparateBNNecks.in_channels", necks["in_channels"], fcs["out_channels"])
    _expect("model_cfg.SeparateBNNecks.parts_num", necks["parts_num"], sum(bins))
    return PeerModelSpec(
        "gaitbase",
        dict(
            num_classes=int(necks["class_num"]),
            in_channels=int(bb.get("in_channel", 1)),
            channels=channels,
            layers=[int(v) for v in bb.get("layers", [1, 2, 2, 1])],
            strides=[int(v) for v in bb.get("strides", [1, 2, 2, 1])],
            maxpool=bool(bb.get("maxpool", True)),
            embed_dim=int(fcs["out_channels"]),
            bins=bins,
            bnneck_norm=bool(necks.get("norm", True)),
        ),
    )


def _build_smplgait(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``SMPLGait``: the Plain-backbone baseline plus the SMPL branch (85 → 128 → 256 → 16×16) → ``smplgait``."""
    return PeerModelSpec("smplgait", _build_plain_baseline(model_cfg).kwargs)


def _build_sconet(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``ScoNet``: the Baseline (GaitBase) layout with a 3-class screening head → ``sconet``."""
    return PeerModelSpec("sconet", _build_baseline(model_cfg).kwargs)


def _build_lidargait_pp(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``LidarGaitPlusPlus`` (``lidargaitv2``): PointNet++ levels on raw points, height-aware pyramid pooling."""
    keys = {"model", "pool", "sampling", "channel", "scale_aware", "normalize_dp", "SeparateFCs", "SeparateBNNecks"}
    cfg = _section(model_cfg, "model_cfg", keys | {"scale"}, {"npoints", "nsample"})
    _expect("model_cfg.pool", cfg["pool"], "PPP_HAP")
    _expect("model_cfg.sampling", cfg["sampling"], "knn")
    _expect("model_cfg.scale_aware", cfg["scale_aware"], True)
    bins = _ints("model_cfg.scale", cfg["scale"])
    fcs = _section(cfg["SeparateFCs"], "model_cfg.SeparateFCs", {"in_channels", "out_channels", "parts_num"}, {"norm"})
    _expect("model_cfg.SeparateFCs.norm", fcs.get("norm", False), False)
    out = int(fcs["in_channels"])
    embed = _separate_fcs(fcs, "model_cfg.SeparateFCs", out, sum(bins))
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", embed, sum(bins))
    return PeerModelSpec(
        "lidargait_pp",
        dict(
            num_classes=classes,
            channel=int(cfg["channel"]),
            out_channels=out,
            embed_dim=embed,
            npoints=_ints("model_cfg.npoints", cfg.get("npoints", [512, 256, 128])),
            nsample=int(cfg.get("nsample", 32)),
            normalize_dp=bool(cfg["normalize_dp"]),
            bins=bins,
            fps_start="random",
        ),
    )


def _ints(path: str, value: Any) -> list[int]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{path}: expected a list of integers, got {value!r}")
    return [int(v) for v in value]


def _separate_fcs(cfg: Any, path: str, in_channels: int, parts: int) -> int:
    """Check a ``SeparateFCs`` section against the network; return its ``out_channels``."""
    fcs = _section(cfg, path, {"in_channels", "out_channels", "parts_num"}, {"norm"})
    _expect(f"{path}.norm", fcs.get("norm", False), False)
    _expect(f"{path}.in_channels", fcs["in_channels"], in_channels)
    _expect(f"{path}.parts_num", fcs["parts_num"], parts)
    return int(fcs["out_channels"])


def _bnnecks(cfg: Any, path: str, in_channels: int | None, parts: int | None) -> int:
    """Check a ``SeparateBNNecks`` section (cosine logits, one BatchNorm1d); return ``class_num``."""
    optional = {"norm", "parallel_BN1d"} | ({"in_channels"} if in_channels is None else set())
    optional |= {"parts_num"} if parts is None else set()
    required = {"class_num"} | ({"in_channels"} if in_channels is not None else set())
    required |= {"parts_num"} if parts is not None else set()
    necks = _section(cfg, path, required, optional)
    _expect(f"{path}.norm", necks.get("norm", True), True)
    _expect(f"{path}.parallel_BN1d", necks.get("parallel_BN1d", True), True)
    if in_channels is not None:
        _expect(f"{path}.in_channels", necks["in_channels"], in_channels)
    if parts is not None:
        _expect(f"{path}.parts_num", necks["parts_num"], parts)
    return int(necks["class_num"])


def _plain_backbone(cfg: Any, path: str) -> tuple[int, list[str], int]:
    """A ``type: Plain`` backbone section → (in_channels, layers_cfg, output channels)."""
    from gaitforge.models.plain import PlainBackbone

    bb = _section(cfg, path, {"type", "layers_cfg"}, {"in_channels"})
    _expect(f"{path}.type", bb["type"], "Plain")
    layers = bb["layers_cfg"]
    if not isinstance(layers, (list, tuple)) or not all(isinstance(v, str) for v in layers):
        raise ValueError(f"{path}.layers_cfg: expected a list of strings, got {layers!r}")
    in_channels = int(bb.get("in_channels", 1))
    try:
        out = PlainBackbone(layers, in_channels).out_channels
    except ValueError as exc:
        raise ValueError(f"{path}.{exc}") from None
    return in_channels, list(layers), out


def _build_plain_baseline(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """The peer's early ``Baseline`` with a ``Plain`` backbone → ``PlainBaseline``."""
    cfg = _section(
        model_cfg, "model_cfg", {"model", "backbone_cfg", "SeparateFCs", "SeparateBNNecks", "bin_num"}, set()
    )
    in_channels, layers, out = _plain_backbone(cfg["backbone_cfg"], "model_cfg.backbone_cfg")
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", out, sum(bins))
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", embed, sum(bins))
    return PeerModelSpec(
        "plain_baseline",
        dict(num_classes=classes, in_channels=in_channels, layers_cfg=layers, embed_dim=embed, bins=bins),
    )


def _build_any_baseline(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``Baseline``: the Plain-backbone baseline when ``backbone_cfg.type`` is ``Plain``, else GaitBase."""
    backbone = model_cfg.get("backbone_cfg") if isinstance(model_cfg, Mapping) else None
    if isinstance(backbone, Mapping) and backbone.get("type") == "Plain":
        return _build_plain_baseline(model_cfg)
    spec = _build_baseline(model_cfg)
    if spec.kwargs["in_channels"] == 3:  # the peer's LidarGait: Baseline on 3-channel LiDAR depth projections
        return PeerModelSpec("lidargait", spec.kwargs)
    return spec


def _build_gaitset(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    cfg = _section(model_cfg, "model_cfg", {"model", "in_channels", "SeparateFCs", "bin_num"}, set())
    channels = _ints("model_cfg.in_channels", cfg["in_channels"])
    if len(channels) != 4:
        raise ValueError(f"model_cfg.in_channels: expected 4 entries (input + 3 blocks), got {channels}")
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", channels[-1], 2 * sum(bins))
    return PeerModelSpec("gaitset", dict(in_channels=channels[0], channels=channels[1:], embed_dim=embed, bins=bins))


def _build_gaitpart(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    cfg = _section(model_cfg, "model_cfg", {"model", "backbone_cfg", "SeparateFCs", "bin_num"}, set())
    in_channels, layers, out = _plain_backbone(cfg["backbone_cfg"], "model_cfg.backbone_cfg")
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", out, sum(bins))
    return PeerModelSpec("gaitpart", dict(in_channels=in_channels, layers_cfg=layers, embed_dim=embed, bins=bins))


def _build_gaitgl(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    cfg = _section(model_cfg, "model_cfg", {"model", "channels", "class_num"}, {"SeparateBNNecks"})
    channels = _ints("model_cfg.channels", cfg["channels"])
    if len(channels) not in (3, 4):
        raise ValueError(f"model_cfg.channels: expected 3 (CASIA-B) or 4 (OU-MVLP/GREW) widths, got {channels}")
    classes = int(cfg["class_num"])
    bnneck = "SeparateBNNecks" in cfg
    if bnneck:
        classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", channels[-1], 64)
    return PeerModelSpec("gaitgl", dict(num_classes=classes, channels=channels, bnneck=bnneck))


def _build_gln(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    keys = {
        "model",
        "class_num",
        "lateral_dim",
        "hidden_dim",
        "dropout",
        "in_channels",
        "SeparateFCs",
        "bin_num",
    }
    cfg = _section(model_cfg, "model_cfg", keys | {"Lateral_pretraining"}, set())
    channels = _ints("model_cfg.in_channels", cfg["in_channels"])
    if len(channels) != 4:
        raise ValueError(f"model_cfg.in_channels: expected 4 entries (input + 3 stages), got {channels}")
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    lateral = int(cfg["lateral_dim"])
    embed = _separate_fcs(cfg["SeparateFCs"], "model_cfg.SeparateFCs", lateral, 3 * sum(bins))
    pretrain = bool(cfg["Lateral_pretraining"])
    if not pretrain:  # the peer sizes the compact block as 3·sum(bin_num)·hidden_dim
        _expect("model_cfg.hidden_dim", cfg["hidden_dim"], embed)
    return PeerModelSpec(
        "gln",
        dict(
            num_classes=int(cfg["class_num"]),
            in_channels=channels[0],
            channels=channels[1:],
            lateral_dim=lateral,
            embed_dim=embed,
            hidden_dim=int(cfg["hidden_dim"]),
            bins=bins,
            dropout=float(cfg["dropout"]),
            pretrain=pretrain,
        ),
    )


def _deepgaitv2_backbone(backbone: Mapping[str, Any]) -> tuple[dict[str, Any], list[int], list[int]]:
    """``model_cfg.Backbone`` of DeepGaitV2-style models, checked: the section, its ``layers`` and ``channels``."""
    bb = _section(backbone, "model_cfg.Backbone", {"mode", "in_channels", "layers", "channels"}, set())
    if bb["mode"] not in ("2d", "p3d", "3d"):
        raise ValueError(f"model_cfg.Backbone.mode: expected '2d', 'p3d' or '3d', got {bb['mode']!r}")
    layers = _ints("model_cfg.Backbone.layers", bb["layers"])
    channels = _ints("model_cfg.Backbone.channels", bb["channels"])
    if len(layers) != 4 or len(channels) != 4:
        raise ValueError(f"model_cfg.Backbone: layers and channels need 4 entries, got {layers}, {channels}")
    return bb, layers, channels


def _build_deepgaitv2(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``DeepGaitV2``; 2 input channels (SkeletonGait) read ``Batch.inputs["skeleton_map"]``."""
    cfg = _section(model_cfg, "model_cfg", {"model", "Backbone", "SeparateBNNecks"}, {"use_emb2"})
    bb, layers, channels = _deepgaitv2_backbone(cfg["Backbone"])
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", None, None)
    in_channels = int(bb["in_channels"])
    return PeerModelSpec(
        "deepgaitv2",
        dict(
            num_classes=classes,
            in_channels=in_channels,
            mode=bb["mode"],
            layers=layers,
            channels=channels,
            inference_bnneck=bool(cfg.get("use_emb2", False)),
            modality="skeleton_map" if in_channels == 2 else "sil",
        ),
    )


def _build_swingait(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    cfg = _section(model_cfg, "model_cfg", {"model", "Backbone", "bin_num", "SeparateBNNecks"}, set())
    bb = _section(cfg["Backbone"], "model_cfg.Backbone", {"in_channels", "layers", "channels"}, {"mode"})
    _expect("model_cfg.Backbone.mode", bb.get("mode", "p3d"), "p3d")
    layers = _ints("model_cfg.Backbone.layers", bb["layers"])
    channels = _ints("model_cfg.Backbone.channels", bb["channels"])
    if len(layers) != 4 or len(channels) != 2:
        raise ValueError(f"model_cfg.Backbone: expected 4 layers and 2 channels, got {layers}, {channels}")
    bins = _ints("model_cfg.bin_num", cfg["bin_num"])
    # The peer's FCs map 512 → 256 channels over parts_num = sum(bin_num) + 1 parts.
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", 256, sum(bins) + 1)
    return PeerModelSpec(
        "swingait",
        dict(num_classes=classes, in_channels=int(bb["in_channels"]), channels=channels, layers=layers, bins=bins),
    )


def _build_skeletongait_pp(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``SkeletonGaitPP``: silhouette and skeleton-map stems fused by attention, then DeepGaitV2-P3D stages."""
    cfg = _section(model_cfg, "model_cfg", {"model", "Backbone", "SeparateBNNecks"}, {"use_emb2"})
    bb = _section(cfg["Backbone"], "model_cfg.Backbone", {"in_channels", "blocks", "C"}, set())
    _expect("model_cfg.Backbone.in_channels", bb["in_channels"], 3)
    blocks = _ints("model_cfg.Backbone.blocks", bb["blocks"])
    if len(blocks) != 4:
        raise ValueError(f"model_cfg.Backbone.blocks: expected 4 entries, got {blocks}")
    width = bb["C"]
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ValueError(f"model_cfg.Backbone.C: expected a positive integer, got {width!r}")
    classes = _bnnecks(cfg["SeparateBNNecks"], "model_cfg.SeparateBNNecks", None, None)
    return PeerModelSpec(
        "skeletongait_pp",
        dict(
            num_classes=classes,
            layers=blocks,
            channels=[32 * width, 64 * width, 128 * width, 256 * width],
            inference_bnneck=bool(cfg.get("use_emb2", False)),
        ),
    )


def _modal_builder(name: str) -> Callable[[Mapping[str, Any]], PeerModelSpec]:
    """A builder of :mod:`gaitforge.interop.opengait_modal` (imported on use: that module imports this one)."""

    def build(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
        from gaitforge.interop import opengait_modal

        return getattr(opengait_modal, name)(model_cfg)

    return build


@dataclass(frozen=True)
class _PeerModel:
    builder: Callable[[Mapping[str, Any]], PeerModelSpec]
    description: str


def _pose_builder(name: str) -> Callable[[Mapping[str, Any]], PeerModelSpec]:
    """A builder of :mod:`gaitforge.interop.opengait_pose` (imported on use: that module imports this one)."""

    def build(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
        from gaitforge.interop import opengait_pose

        return getattr(opengait_pose, name)(model_cfg)

    return build


def _rgb_builder(name: str) -> Callable[[Mapping[str, Any]], PeerModelSpec]:
    """A builder of :mod:`gaitforge.interop.opengait_rgb` (imported on use: that module imports this one)."""

    def build(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
        from gaitforge.interop import opengait_rgb

        return getattr(opengait_rgb, name)(model_cfg)

    return build


# The peer's `model` name -> how to build it. The defaults above (layers 1/2/2/1, maxpool on)
# are those of the peer's ResNet9.
_PEER_MODELS: dict[str, _PeerModel] = {
    "Baseline": _PeerModel(
        _build_any_baseline,
        "GaitBase: ResNet9 backbone, TP max, HPP, SeparateFCs, BNNecks (a Plain backbone gives the early baseline)",
    ),
    "GaitGraph1": _PeerModel(_pose_builder("build_gaitgraph1"), "GaitGraph: one ResGCN branch on COCO-17 poses"),
    "GaitGraph2": _PeerModel(_pose_builder("build_gaitgraph2"), "GaitGraph2: ResGCN on joints, velocities, bones"),
    "GaitTR": _PeerModel(_pose_builder("build_gaittr"), "GaitTR: spatial transformer + TCN on COCO-17 poses"),
    "MultiScaleGaitGraph": _PeerModel(_pose_builder("build_msgg"), "MSGG: joint / limb / part ST-GCN streams"),
    "GaitSet": _PeerModel(_build_gaitset, "GaitSet: per-frame set blocks + global set path, HPP on both, FCs"),
    "GaitPart": _PeerModel(_build_gaitpart, "GaitPart: Plain backbone with focal convolutions, per-part TFA, FCs"),
    "GaitGL": _PeerModel(_build_gaitgl, "GaitGL: global-local 3D convolutions, LTA, GeM HPP, BN + part classifier"),
    "GLN": _PeerModel(_build_gln, "GLN: lateral pyramid over set features; phase 2 adds the compact block"),
    "DeepGaitV2": _PeerModel(_build_deepgaitv2, "DeepGaitV2 (2d / p3d / 3d); 2 input channels: SkeletonGait"),
    "SwinGait": _PeerModel(_build_swingait, "SwinGait: DeepGaitV2 stem + 3D shifted-window transformer"),
    "SkeletonGaitPP": _PeerModel(
        _build_skeletongait_pp, "SkeletonGait++: skeleton-map and silhouette stems, attention fusion, DeepGaitV2-P3D"
    ),
    "LidarGaitPlusPlus": _PeerModel(
        _build_lidargait_pp, "LidarGait++: PointNet++ on LiDAR points, height-aware pyramid pooling, FCs, BNNeck"
    ),
    "GaitEdge": _PeerModel(_rgb_builder("build_gaitedge"), "GaitEdge: U-Net on RGB, trainable edge, GaitAlign, GaitGL"),
    "BigGait__Dinov2_Gaitbase": _PeerModel(
        _rgb_builder("build_biggait"), "BigGait: DINOv2 ViT-S/14 features, mask/appearance/denoising branches, GaitBase"
    ),
    "DenoisingGait": _PeerModel(
        _rgb_builder("build_denoisinggait"), "DenoisingGait: diffusion features, matching flows, two-stream GaitBase"
    ),
    "SMPLGait": _PeerModel(_build_smplgait, "SMPLGait: Plain baseline on silhouettes, per-frame SMPL transform"),
    "ParsingGait": _PeerModel(
        _modal_builder("build_parsinggait"), "ParsingGait: GaitBase on parsing maps + a graph over the parsed parts"
    ),
    "MultiGaitpp": _PeerModel(
        _modal_builder("build_multigaitpp"), "MultiGait++: silhouette+parsing and flow streams, co-attention, P3D"
    ),
    "GaitSSB_Pretrain": _PeerModel(
        _modal_builder("build_gaitssb_pretrain"), "GaitSSB pre-training: SimSiam over 31 parts on two unlabelled views"
    ),
    "GaitSSB_Finetune": _PeerModel(
        _modal_builder("build_gaitssb_finetune"), "GaitSSB fine-tuning: encoder, projector, normalised part-wise FC"
    ),
    "FoundationGait_Scaling_Finetune": _PeerModel(
        _modal_builder("build_foundationgait_finetune"),
        "FoundationGait fine-tuning: self-supervised DeepGaitV2 encoder, projector, FCs, BNNeck",
    ),
    "ScoNet": _PeerModel(_build_sconet, "ScoNet: GaitBase with a 3-class scoliosis screening head (labels from typs)"),
}


def supported_models() -> dict[str, str]:
    """The peer's model names that :func:`build_model` accepts → a one-line description."""
    return {name: entry.description for name, entry in _PEER_MODELS.items()}


#: FastPoseGait's own models (``peer="fastposegait"``); its other models are OpenGait's layouts.
_FASTPOSEGAIT_MODELS: dict[str, _PeerModel] = {
    "GaitHeat": _PeerModel(
        _modal_builder("build_gaitheat"), "GaitHeat (released): heatmap streams after the release's alignment"
    ),
}


def peer_model_spec(model_cfg: Mapping[str, Any], peer: str = "opengait") -> PeerModelSpec:
    """Translate the peer's ``model_cfg`` into a gaitforge registry name and constructor arguments.

    Args:
        model_cfg: The ``model_cfg`` section of an OpenGait YAML (merged over its defaults), with ``model``
            naming the peer's class, e.g. ``"Baseline"``.
        peer: ``"opengait"`` or ``"fastposegait"`` (FastPoseGait's ``GaitHeat`` and ``GPGait_PlusPlus``; with
            the peer's input contract: its data transforms already applied).

    Raises:
        KeyError: ``model`` missing or not supported (the message lists the supported names), or an
            unknown key.
        ValueError: Inconsistent or unsupported settings, naming the key.
    """
    if not isinstance(model_cfg, Mapping) or "model" not in model_cfg:
        raise KeyError("model_cfg: expected a mapping with a 'model' key naming the OpenGait model class")
    name = model_cfg["model"]
    if peer not in ("opengait", "fastposegait"):
        raise ValueError(f"peer: expected 'opengait' or 'fastposegait', got {peer!r}")
    if peer == "fastposegait" and name in _FASTPOSEGAIT_MODELS:
        return _FASTPOSEGAIT_MODELS[name].builder(model_cfg)
    if name not in _PEER_MODELS:
        raise KeyError(
            f"model_cfg.model: unsupported OpenGait model {name!r}; supported: {', '.join(sorted(_PEER_MODELS))}"
        )
    return _PEER_MODELS[name].builder(model_cfg)


def build_model(model_cfg: Mapping[str, Any], peer: str = "opengait") -> GaitModel:
    """Build a gaitforge model from the peer's ``model_cfg`` dict (state-dict keys and shapes as the peer's).

    Equivalent to ``peer_model_spec(model_cfg, peer).build()``; see :func:`peer_model_spec` for the arguments and
    errors.
    """
    return peer_model_spec(model_cfg, peer).build()


def run_opengait_style(
    model: GaitModel,
    ipts: list[torch.Tensor],
    seqL: torch.Tensor | None,
    labs: torch.Tensor | None = None,
    typs: list[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Call ``model`` with the peer's test-loop inputs and return its outputs under the peer's paths.

    Args:
        model: A :class:`GaitModel` (e.g. from :func:`build_model`).
        ipts: One tensor per input stream, in ``model.input_modalities`` order; e.g.
            ``[sils [n, s, 64, 44]]``, or packed ``[sils [1, ΣT, 64, 44]]`` with ``seqL``. Models whose peer
            stacks several modalities into one stream (SkeletonGait++: ``[n, s, 3, 64, 44]``) split it with their
            ``from_opengait_inputs(ipts) -> {modality: tensor}``.
        seqL: ``None`` or the peer's int tensor ``[1, k]`` of packed sequence lengths.
        labs: ``[n]`` int64 labels, passed through; ``-1`` when ``None``.
        typs: The peer's per-sequence type strings, given to the model as ``Batch.conditions`` (ScoNet reads
            its screening status there); ``None`` for none.

    Returns:
        Slash-joined paths → tensors: ``inference_feat/embeddings``, ``training_feat/triplet/embeddings``,
        ``training_feat/triplet/labels``, ``training_feat/softmax/logits`` (when the model has logits),
        ``training_feat/softmax/labels``.
    """
    modalities = tuple(model.input_modalities)
    split = getattr(model, "from_opengait_inputs", None)
    if split is not None:  # the peer stacks several modalities into one tensor (SkeletonGait++)
        inputs = split(ipts)
    elif len(ipts) != len(modalities):
        raise ValueError(f"ipts: model reads {len(modalities)} stream(s) {list(modalities)}, got {len(ipts)}")
    else:
        inputs = dict(zip(modalities, ipts, strict=True))
    device = ipts[0].device
    seq_lens = None if seqL is None else seqL.reshape(-1).to(device=device, dtype=torch.long)
    n = int(seq_lens.numel()) if seq_lens is not None else int(ipts[0].shape[0])
    labels = torch.full((n,), -1, dtype=torch.long, device=device) if labs is None else labs.to(device).long()
    out = model(Batch(inputs=inputs, labels=labels, seq_lens=seq_lens, conditions=list(typs or [])))
    routes = getattr(model, "opengait_outputs", DEFAULT_OUTPUT_ROUTES)
    result: dict[str, torch.Tensor] = {}
    for path, field in routes.items():
        if field == "logits" and out.logits is None:
            continue
        if path.endswith("/labels") and field not in out.extras:
            continue  # labels from metadata the batch did not carry: fall back to labs below
        result[path] = out.get(field)
    extra = getattr(model, "opengait_extra_outputs", None)
    if extra is not None:  # e.g. FoundationGait's per-part slices of the embedding
        result.update(extra(out))
    for path in list(result):  # every training output carries labs, unless the model routed other labels
        head, _, leaf = path.rpartition("/")
        if head.startswith("training_feat/") and leaf != "labels":
            result.setdefault(f"{head}/labels", labels)
    return result
