"""``declared_input_modalities`` reads what a model class will read, and ``gaitforge models`` shows it."""

from __future__ import annotations

import json

import pytest
import torch

from gaitforge.cli import main
from gaitforge.models import MODELS, create_model, list_models
from gaitforge.models.modalities import declared_input_modalities

from .test_all_models import SMALL


@pytest.mark.parametrize("name", list_models())
def test_declared_modalities_equal_the_built_models(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, **SMALL.get(name, ({}, ()))[0])
    assert declared_input_modalities(MODELS.get(name)) == tuple(model.input_modalities)


def test_models_command_shows_pose_and_heatmap_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row["modalities"] for row in json.loads(capsys.readouterr().out)}
    for name in ("gaitgraph1", "gaitgraph2", "gaittr", "gpgait", "msgg"):
        assert rows[name] == "pose", name
    assert rows["gaitheat"] == "heatmap" and rows["gaitheat_released"] == "heatmap"
    assert rows["skeletongait_pp"] == "skeleton_map,sil" and rows["gaitbase"] == "sil"
