"""Worlds beyond :data:`~gaitforge.synth.presets.PRESETS` that ``data.synth.preset`` can name.

* ``scoliosis``, ``scoliosis-tiny``: :mod:`gaitforge.synth.scoliosis` (statuses as conditions, ScoNet).
* ``unlabelled`` (240 people × nm/cl × 3 views = 1,440 sequences) and ``unlabelled-tiny``: a pre-training world in
  the spirit of GaitLU-1M (Fan et al., "Learning Gait Representation from Massive Unlabelled Walking Videos: A
  Benchmark", TPAMI 2023): many people, each seen in a few walks, recorded with other camera and clothing statistics
  than the labelled worlds (the realistic world with higher, farther cameras, lower resolution, bigger wardrobes,
  more carried objects and merged neighbours, lower frame rates, views off CASIA-B's grid). Its subject names exist
  in the store (every store needs them) but a pre-training run never reads them
  (:mod:`gaitforge.engine.label_sources`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from gaitforge.synth.config import RealismConfig, WorldConfig

__all__ = ["EXTRA_PRESETS", "UNLABELLED_PRESETS", "make_extra_world"]

logger = logging.getLogger(__name__)

_UNLABELLED_REALISM = RealismConfig(
    fps=(10.0, 12.5, 15.0, 20.0),
    elevation_deg=(10.0, 35.0),
    distance_m=(8.0, 24.0),
    person_px=(36.0, 80.0),
    wardrobe=5,
    carry_prob=0.3,
    seg_noise=1.0,
    neighbour_prob=0.25,
)
_UNLABELLED_VIEWS = ("027", "063", "117")

#: Pre-training worlds (every subject in TRAIN_SET; the test split is empty).
UNLABELLED_PRESETS: dict[str, WorldConfig] = {
    "unlabelled": WorldConfig(
        name="unlabelled",
        n_subjects=240,
        n_train=240,
        frames=30,
        conditions=("nm-01", "cl-01"),
        views=_UNLABELLED_VIEWS,
        realism=_UNLABELLED_REALISM,
    ),
    "unlabelled-tiny": WorldConfig(
        name="unlabelled-tiny",
        n_subjects=6,
        n_train=6,
        frames=10,
        conditions=("nm-01",),
        views=_UNLABELLED_VIEWS[:2],
        realism=_UNLABELLED_REALISM,
    ),
}


def _names() -> list[str]:
    from gaitforge.synth.scoliosis import SCOLIOSIS_PRESETS

    return sorted([*SCOLIOSIS_PRESETS, *UNLABELLED_PRESETS])


#: Every name this module adds (``data.synth.preset`` values handled by :func:`make_extra_world`).
EXTRA_PRESETS: tuple[str, ...] = ("scoliosis", "scoliosis-tiny", *UNLABELLED_PRESETS)


def make_extra_world(name: str, seed: int, root: str | Path, workers: int = 1) -> Path:
    """The store folder of extra world ``name`` under ``root``: made once, then reused.

    Raises:
        ValueError: ``name`` is not one of :data:`EXTRA_PRESETS`.
    """
    import dataclasses

    from gaitforge.synth.build import make_world
    from gaitforge.synth.scoliosis import SCOLIOSIS_PRESETS, get_scoliosis_preset, make_scoliosis_world

    if name not in _names():
        raise ValueError(f"synth: preset {name!r} is not an extra world; expected one of {_names()}")
    folder = Path(root) / name
    if (folder / "index.json").is_file():
        logger.info("reusing synthetic world %s", folder)
        return folder
    if name in SCOLIOSIS_PRESETS:
        return make_scoliosis_world(get_scoliosis_preset(name, seed), root, workers=max(1, int(workers)))
    cfg = dataclasses.replace(UNLABELLED_PRESETS[name], seed=seed)
    return Path(make_world(cfg, root, workers=max(1, int(workers))))
