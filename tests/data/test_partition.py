"""The one partition reader: files and mappings read alike, errors name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaitforge.data.partition import load_partition


def test_a_file_and_a_mapping_read_alike(tmp_path: Path) -> None:
    sets = {"TRAIN_SET": ["001", 2], "TEST_SET": ["003"], "PROBE_SET": ["003-a"]}
    path = tmp_path / "partition.json"
    path.write_text(json.dumps(sets))
    from_file, from_mapping = load_partition(path), load_partition(sets)
    assert from_file.train == from_mapping.train == ("001", "2")
    assert from_file.probe == ("003-a",) and from_file.source == str(path) and from_mapping.source == ""
    assert from_file.sets == from_mapping.sets and from_file.members("TEST_SET") == {"003"}
    assert from_file.members("GALLERY_SET") == set()


def test_required_sets_are_named(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"TRAIN_SET": ["1"]}))
    with pytest.raises(ValueError, match=r"p\.json: field 'TEST_SET' must be a list"):
        load_partition(path)
    assert load_partition(path, required=()).test == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"TRAIN_SET": "001"}', "field 'TRAIN_SET' is a str"),
    ],
)
def test_malformed_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        load_partition(path, required=())
    assert "bad.json" in str(err.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.json: partition file not found"):
        load_partition(tmp_path / "nope.json")
