"""Presets and config validation of the synthetic world."""

from __future__ import annotations

import dataclasses

import pytest

from gaitforge.synth import (
    CASIA_B_CONDITIONS,
    CASIA_B_VIEWS,
    PRESETS,
    ArtefactConfig,
    WorldConfig,
    get_preset,
)
from gaitforge.synth.config import condition_kind, parse_view


def test_casia_b_preset_has_the_datasets_layout() -> None:
    cfg = get_preset("casia-b")
    assert cfg.n_subjects == 124 and cfg.n_train == 74
    assert cfg.subjects[0] == "001" and cfg.subjects[-1] == "124"
    assert cfg.train_subjects == tuple(f"{i:03d}" for i in range(1, 75))
    assert cfg.test_subjects == tuple(f"{i:03d}" for i in range(75, 125))
    assert cfg.conditions == (
        "nm-01",
        "nm-02",
        "nm-03",
        "nm-04",
        "nm-05",
        "nm-06",
        "bg-01",
        "bg-02",
        "cl-01",
        "cl-02",
    )
    assert cfg.views == ("000", "018", "036", "054", "072", "090", "108", "126", "144", "162", "180")
    assert cfg.n_sequences == 124 * 10 * 11


@pytest.mark.parametrize(("name", "subjects", "train", "frames"), [("default", 60, 34, 30), ("tiny", 8, 4, 12)])
def test_demo_and_test_presets(name: str, subjects: int, train: int, frames: int) -> None:
    cfg = get_preset(name, seed=3)
    assert (cfg.n_subjects, cfg.n_train, cfg.frames, cfg.seed) == (subjects, train, frames, 3)
    assert cfg.conditions == CASIA_B_CONDITIONS and cfg.views == CASIA_B_VIEWS
    assert len(cfg.train_subjects) + len(cfg.test_subjects) == subjects
    assert not cfg.artefacts.enabled
    assert set(PRESETS) == {"casia-b", "default", "tiny", "realistic", "realistic-casia-b", "realistic-tiny"}
    assert cfg.realism is None  # the mannequin presets are unchanged
    real = get_preset(f"realistic-{name}" if name == "tiny" else "realistic", seed=3)
    assert (real.n_subjects, real.n_train, real.frames) == (subjects, train, frames) and real.realism is not None


def test_get_preset_overrides_and_errors() -> None:
    cfg = get_preset("tiny", seed=1, frames=5, views=["090"])
    assert cfg.frames == 5 and cfg.views == ("090",)
    hash(cfg)  # lists become tuples: configs stay hashable
    with pytest.raises(ValueError, match="preset 'nope' unknown"):
        get_preset("nope")
    with pytest.raises(ValueError, match="unknown WorldConfig field"):
        get_preset("tiny", colour="red")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("frames", 0, "frames must be >= 1"),
        ("n_train", 9, "n_train must be in"),
        ("n_subjects", 0, "n_subjects must be >= 1"),
        ("conditions", ("nm-01", "xx-01"), "condition 'xx-01'"),
        ("views", ("090", "400"), "view '400'"),
        ("views", ("090", "090"), "duplicates"),
        ("canvas_height", 10, "canvas must be at least"),
    ],
)
def test_bad_config_values_raise_clear_errors(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(get_preset("tiny"), **{field: value})


def test_condition_and_view_parsing() -> None:
    assert [condition_kind(c) for c in ("nm-01", "bg-02", "cl-01")] == ["nm", "bg", "cl"]
    assert parse_view("018") == 18.0
    for bad in ("nm01", "NM-01", "nm-1"):
        with pytest.raises(ValueError, match="expected 'nm-NN'"):
            condition_kind(bad)
    for bad in ("90", "0900", "abc", "360"):
        with pytest.raises(ValueError, match="three digits"):
            parse_view(bad)


def test_artefact_config_validation_and_dict_form() -> None:
    with pytest.raises(ValueError, match="edge_noise"):
        ArtefactConfig(edge_noise=1.5)
    with pytest.raises(ValueError, match="holes"):
        ArtefactConfig(holes=-1)
    cfg = WorldConfig(artefacts={"holes": 0.5})  # type: ignore[arg-type]
    assert cfg.artefacts == ArtefactConfig(holes=0.5) and cfg.artefacts.enabled
    d = cfg.to_dict()
    assert d["views"] == list(CASIA_B_VIEWS) and d["artefacts"]["holes"] == 0.5
    assert WorldConfig(**{**d, "artefacts": d["artefacts"]}) == cfg
