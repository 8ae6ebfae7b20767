"""Named world sizes: ``casia-b`` (the dataset's layout), ``default`` (a CPU demo), ``tiny`` (tests)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from gaitforge.synth.config import CASIA_B_CONDITIONS, CASIA_B_VIEWS, WorldConfig

__all__ = ["PRESETS", "get_preset"]

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
    }
)


def get_preset(name: str, seed: int = 0, **overrides: Any) -> WorldConfig:
    """A preset's config with ``seed`` and any field overrides.

    Args:
        name: ``"casia-b"``, ``"default"`` or ``"tiny"``.
        seed: Root seed.
        **overrides: Other :class:`WorldConfig` fields (e.g. ``frames=40``).

    Raises:
        ValueError: Unknown preset name or unknown field.
    """
    if name not in PRESETS:
        raise ValueError(f"synth: preset {name!r} unknown; expected one of {sorted(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(WorldConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"synth: unknown WorldConfig field(s) {unknown}; expected some of {sorted(fields)}")
    return dataclasses.replace(PRESETS[name], seed=seed, **overrides)
