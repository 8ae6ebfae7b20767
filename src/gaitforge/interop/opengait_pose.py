"""The peer's pose models in :func:`gaitforge.interop.opengait.build_model`: ``GaitGraph1``, ``GaitGraph2``,
``GaitTR`` and ``MultiScaleGaitGraph`` (MSGG) ``model_cfg`` sections → gaitforge models with the peer's state-dict
layout.

gaitforge's pose models read raw COCO-17 keypoints (the ``pose`` modality, ``[T, 17, 3]``) and build the peer's
multi-branch inputs themselves (the peer's ``GaitGraph1Input``, ``GaitGraphMultiInput``, ``GaitTRMultiInput`` +
``SkeletonInput`` and ``MSGGTransform`` are inside the models), so the config keys that only describe that input
(``joint_format``, ``input_num``, MSGG's ``graph_cfg``) are checked against what the model builds.

Facts about the peer's keys are from OpenGait (snapshot 0efafd4): ``configs/gaitgraph1/gaitgraph1_phase1.yaml``,
``configs/gaitgraph2/gaitgraph2.yaml``, ``configs/gaittr/gaittr_SUSTech1K.yaml``, ``configs/msgg/msgg_SUSTech1K.yaml``
and the model files under ``opengait/modeling/models``.

References:
    Teepe et al., "GaitGraph", ICIP 2021; Teepe et al., "Towards a Deeper Understanding of Skeleton-based Gait
    Recognition", CVPRW 2022; Zhang et al., "Spatial transformer network on skeleton-based gait recognition"
    (GaitTR), Expert Systems 2023; Peng et al., "Learning rich features for gait recognition by integrating
    skeletons and silhouettes" (MSGG), Multimedia Tools and Applications 2023.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gaitforge.interop.opengait import PeerModelSpec, _expect, _ints, _section

__all__ = ["build_gaitgraph1", "build_gaitgraph2", "build_gaittr", "build_msgg"]

_BLOCKS = ("initial", "Basic", "Bottleneck")


def _positive(path: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{path}: expected a positive integer, got {value!r}")
    return int(value)


def _gaitgraph(model_cfg: Mapping[str, Any], name: str, inputs: int, features: int) -> PeerModelSpec:
    cfg = _section(
        model_cfg,
        "model_cfg",
        {"model", "input_branch", "main_stream", "num_class"},
        {"joint_format", "input_num", "reduction", "block", "tta"},
    )
    _expect("model_cfg.joint_format", cfg.get("joint_format", "coco"), "coco")
    _expect("model_cfg.input_num", cfg.get("input_num", inputs), inputs)
    branch = _ints("model_cfg.input_branch", cfg["input_branch"])
    stream = _ints("model_cfg.main_stream", cfg["main_stream"])
    if len(branch) < 2 or len(stream) < 2:
        raise ValueError(f"model_cfg.input_branch / main_stream: expected 2 or more widths, got {branch}, {stream}")
    _expect("model_cfg.input_branch[0]", branch[0], features)
    _expect("model_cfg.main_stream[0]", stream[0], branch[-1])
    block = cfg.get("block", "Bottleneck")
    if block not in _BLOCKS:
        raise ValueError(f"model_cfg.block: expected one of {list(_BLOCKS)}, got {block!r}")
    tta = cfg.get("tta", True)
    if not isinstance(tta, bool):
        raise ValueError(f"model_cfg.tta: expected true or false, got {tta!r}")
    return PeerModelSpec(
        name,
        dict(
            embed_dim=_positive("model_cfg.num_class", cfg["num_class"]),
            input_branch=branch,
            main_stream=stream,
            reduction=_positive("model_cfg.reduction", cfg.get("reduction", 8)),
            block=str(block),
            tta=tta,
        ),
    )


def build_gaitgraph1(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``GaitGraph1``: one ResGCN branch on (x, y, confidence); ``num_class`` is the embedding size."""
    return _gaitgraph(model_cfg, "gaitgraph1", inputs=1, features=3)


def build_gaitgraph2(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``GaitGraph2``: three ResGCN branches (joints, velocities, bones) of 5 features each."""
    return _gaitgraph(model_cfg, "gaitgraph2", inputs=3, features=5)


def build_gaittr(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``GaitTR``: spatial transformer + TCN stages on 5 branches × (x, y); ``num_class`` is the embedding size."""
    cfg = _section(model_cfg, "model_cfg", {"model", "in_channels", "num_class"}, {"joint_format"})
    _expect("model_cfg.joint_format", cfg.get("joint_format", "coco"), "coco")
    channels = _ints("model_cfg.in_channels", cfg["in_channels"])
    if len(channels) < 2:
        raise ValueError(f"model_cfg.in_channels: expected the input width and at least one stage, got {channels}")
    _expect("model_cfg.in_channels[0]", channels[0], 10)
    return PeerModelSpec(
        "gaittr", dict(embed_dim=_positive("model_cfg.num_class", cfg["num_class"]), in_channels=channels)
    )


def build_msgg(model_cfg: Mapping[str, Any]) -> PeerModelSpec:
    """``MultiScaleGaitGraph`` (MSGG): joint, limb and body-part ST-GCN streams on the 12 COCO body joints."""
    cfg = _section(
        model_cfg,
        "model_cfg",
        {"model", "in_channels", "out_channels", "num_id"},
        {"graph_cfg", "temporal_kernel_size"},
    )
    graph = _section(cfg.get("graph_cfg", {}), "model_cfg.graph_cfg", set(), {"layout", "strategy"})
    _expect("model_cfg.graph_cfg.layout", graph.get("layout", "body_12"), "body_12")
    _expect("model_cfg.graph_cfg.strategy", graph.get("strategy", "gait_temporal"), "gait_temporal")
    channels = _ints("model_cfg.in_channels", cfg["in_channels"])
    if len(channels) < 2:
        raise ValueError(f"model_cfg.in_channels: expected the input width and at least one stage, got {channels}")
    _expect("model_cfg.in_channels[0]", channels[0], 3)
    kernel = _positive("model_cfg.temporal_kernel_size", cfg.get("temporal_kernel_size", 9))
    if kernel % 2 != 1:
        raise ValueError(f"model_cfg.temporal_kernel_size: expected an odd size, got {kernel}")
    return PeerModelSpec(
        "msgg",
        dict(
            num_classes=_positive("model_cfg.num_id", cfg["num_id"]),
            in_channels=channels,
            embed_dim=_positive("model_cfg.out_channels", cfg["out_channels"]),
            temporal_kernel_size=kernel,
        ),
    )
