"""Silhouette pretreatment against the peer's fixtures (bit-exact) and its error cases."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.preprocess.silhouette import (
    NoValidFrameWarning,
    pretreat_folder,
    pretreat_frame,
    pretreat_sequence,
    pretreat_sequence_detailed,
)

CASES = [
    "seq01_normal_walk",
    "seq02_threshold",
    "seq03_left_border",
    "seq04_right_border",
    "seq05_wide_blob",
    "seq06_few_valid",
    "seq07_soft_edges_tall",
    "seq08_centring_edges",
    "seq09_no_valid",
]


def _load(fixtures_dir: Path, case: str) -> tuple[dict[str, np.ndarray], dict]:
    base = fixtures_dir / "pretreatment" / case
    data = np.load(base.with_suffix(".npz"))
    return {k: data[k] for k in data.files}, json.loads(base.with_suffix(".json").read_text())


def test_index_lists_every_case(fixtures_dir: Path) -> None:
    index = json.loads((fixtures_dir / "pretreatment" / "index.json").read_text())
    assert sorted(c["case"] for c in index["cases"]) == CASES


@pytest.mark.parametrize("case", CASES)
def test_matches_reference_exactly(fixtures_dir: Path, case: str) -> None:
    data, meta = _load(fixtures_dir, case)
    names = list(data["frame_names"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pretreat_sequence_detailed(data["input_frames"])
    expected = data["expected_output"]
    assert res.frames.dtype == np.uint8
    assert res.frames.shape == expected.shape
    np.testing.assert_array_equal(res.frames, expected)
    assert [names[i] for i in res.kept] == list(data["kept_frame_names"])
    assert [names[i] for i in res.skipped_no_data] == meta["skipped_no_data"]
    assert [names[i] for i in res.skipped_no_center] == meta["skipped_no_center"]
    assert res.empty == (not meta["output_written"])
    assert any(issubclass(w.category, NoValidFrameWarning) for w in caught) == res.empty


def test_seq09_gives_empty_array_and_warning(fixtures_dir: Path) -> None:
    data, _ = _load(fixtures_dir, "seq09_no_valid")
    with pytest.warns(NoValidFrameWarning, match="no frame survived"):
        arr, kept = pretreat_sequence(data["input_frames"], return_kept=True)
    assert arr.shape == (0, 64, 64) and arr.dtype == np.uint8
    assert kept == []


@pytest.mark.parametrize("case", ["seq01_normal_walk", "seq08_centring_edges", "seq04_right_border"])
def test_pretreat_folder_reads_pngs_in_sorted_order(fixtures_dir: Path, tmp_path: Path, case: str) -> None:
    data, _ = _load(fixtures_dir, case)
    # write in reverse order to make sure the reader sorts
    for name, frame in reversed(list(zip(data["frame_names"], data["input_frames"]))):
        assert cv2.imwrite(str(tmp_path / str(name)), frame)
    arr, kept_names = pretreat_folder(tmp_path)
    np.testing.assert_array_equal(arr, data["expected_output"])
    assert kept_names == list(data["kept_frame_names"])


def test_list_of_frames_with_different_sizes() -> None:
    a = np.zeros((100, 80), np.uint8)
    a[20:90, 30:50] = 255
    b = np.zeros((120, 60), np.uint8)
    b[10:110, 20:40] = 255
    arr, kept = pretreat_sequence([a, b], return_kept=True)
    assert arr.shape == (2, 64, 64) and kept == [0, 1]
    single, _ = pretreat_frame(a)
    np.testing.assert_array_equal(arr[0], single)


def test_img_size_128() -> None:
    a = np.zeros((200, 160), np.uint8)
    a[20:190, 60:100] = 255
    arr = pretreat_sequence(a[None], img_size=128)
    assert arr.shape == (1, 128, 128)
    # the person is centred: column sums balance around the middle
    cols = arr[0].sum(axis=0).astype(float)
    assert abs(np.average(np.arange(128), weights=cols) - 64) < 2


def test_wrong_dtype_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"frame 0 has dtype float32.*expected a uint8"):
        pretreat_sequence(np.zeros((2, 10, 10), np.float32))
    with pytest.raises(ValueError, match=r"expected uint8 \[T, H, W\]"):
        pretreat_sequence(np.zeros((10, 10), np.uint8))


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a folder"):
        pretreat_folder(tmp_path / "nope")
