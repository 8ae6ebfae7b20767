"""Named world sizes: ``casia-b`` (the dataset's layout), ``default`` (a CPU demo), ``tiny`` (tests).

``realistic``, ``realistic-casia-b`` and ``realistic-tiny`` are the same layouts in the realistic world
(:mod:`gaitforge.synth.realistic`: population bodies, clothes, varied cameras and frame rates, segmenter errors).

:data:`HEATMAP_PRESETS` adds worlds that also carry top-down pose heatmaps (GaitHeat): ``heat`` (RGB-space
heatmap pretreatment), ``heat-hmspace`` (the same world, heatmaps normalised in heatmap space) and
``heat-tiny`` (tests). In them ``pose`` comes from the same simulated estimator as the heatmaps.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from gaitforge.synth.config import CASIA_B_CONDITIONS, CASIA_B_VIEWS, RealismConfig, WorldConfig

__all__ = ["HEATMAP_PRESETS", "PRESETS", "get_preset"]

PRESETS: MappingProxyType[str, WorldConfig] = MappingProxyType(
    {
        # CASIA-B (Yu, Tan & Tan, ICPR 2006): 124 subjects, 74 train / 50 test, 10 conditions, 11 views.
        "casia-b": WorldConfig(
            name="casia-b",
            n_subjects=124,
            n_train=74,
            frames=60,
            conditions=CASIA_B_CONDITIONS,
            views=CASIA_B_VIEWS,
        ),
        # CPU demo: same protocol shape, fewer subjects, one gait cycle and a bit per sequence.
        "default": WorldConfig(
            name="default",
            n_subjects=60,
            n_train=34,
            frames=30,
            conditions=CASIA_B_CONDITIONS,
            views=CASIA_B_VIEWS,
        ),
        # Unit tests: generates in a couple of seconds.
        "tiny": WorldConfig(
            name="tiny",
            n_subjects=8,
            n_train=4,
            frames=12,
            conditions=CASIA_B_CONDITIONS,
            views=CASIA_B_VIEWS,
        ),
        # The realistic world (population bodies, clothes, cameras, segmenter errors) in the same layouts.
        "realistic": WorldConfig(name="realistic", n_subjects=60, n_train=34, frames=30, realism=RealismConfig()),
        "realistic-casia-b": WorldConfig(
            name="realistic-casia-b", n_subjects=124, n_train=74, frames=60, realism=RealismConfig()
        ),
        "realistic-tiny": WorldConfig(
            name="realistic-tiny", n_subjects=8, n_train=4, frames=12, realism=RealismConfig()
        ),
    }
)


_HEAT = {"modalities": ("sil", "pose", "joints3d", "heatmap"), "pose_estimator": "topdown"}

HEATMAP_PRESETS: MappingProxyType[str, WorldConfig] = MappingProxyType(
    {
        # The GaitHeat ablation world: 40 subjects (24 train / 16 test), CASIA-B's conditions and views, 24 frames
        # (about one gait cycle); uint8 heatmaps, 24 · 52,224 B ≈ 1.25 MB per sequence, ≈ 5.5 GB in all.
        "heat": WorldConfig(name="heat", n_subjects=40, n_train=24, frames=24, heatmap_space="rgb", **_HEAT),
        "heat-hmspace": WorldConfig(
            name="heat-hmspace", n_subjects=40, n_train=24, frames=24, heatmap_space="heatmap", **_HEAT
        ),
        # Unit tests.
        "heat-tiny": WorldConfig(name="heat-tiny", n_subjects=8, n_train=4, frames=12, **_HEAT),
    }
)


def get_preset(name: str, seed: int = 0, **overrides: Any) -> WorldConfig:
    """A preset's config with ``seed`` and any field overrides.

    Args:
        name: ``"casia-b"``, ``"default"``, ``"tiny"``, ``"realistic"``, ``"realistic-casia-b"``,
            ``"realistic-tiny"``, or a :data:`HEATMAP_PRESETS` name.
        seed: Root seed.
        **overrides: Other :class:`WorldConfig` fields (e.g. ``frames=40``).

    Raises:
        ValueError: Unknown preset name or unknown field.
    """
    presets = {**PRESETS, **HEATMAP_PRESETS}
    if name not in presets:
        raise ValueError(f"synth: preset {name!r} unknown; expected one of {sorted(presets)}")
    fields = {f.name for f in dataclasses.fields(WorldConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"synth: unknown WorldConfig field(s) {unknown}; expected some of {sorted(fields)}")
    return dataclasses.replace(presets[name], seed=seed, **overrides)
