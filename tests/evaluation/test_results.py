from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.evaluation.results import EvaluationResult, to_jsonable
from gaitforge.utils.atomic import atomic_write_text


def _result() -> EvaluationResult:
    return EvaluationResult(
        protocol="gait3d",
        dataset="Gait3D",
        family="retrieval",
        metric="euc",
        figures={
            "scalar/test_accuracy/Rank-1": np.float32(82.5),
            "scalar/test_accuracy/mAP": np.float64(70.25),
        },
        cmc={"CMC": [82.5, 90.0]},
        counts={"probes": 3, "gallery": 5, "skipped": []},
        per_view={"X": {"matrix": np.array([[1.0, np.nan]])}},
        notes=["n"],
    )


def test_to_jsonable_handles_numpy_and_nan() -> None:
    out = to_jsonable(
        {
            "a": np.float32(1.5),
            "b": np.array([1, 2]),
            "c": float("nan"),
            "d": (np.int64(3),),
            "e": np.bool_(True),
            "f": Path("/x"),
        }
    )
    assert out == {"a": 1.5, "b": [1, 2], "c": None, "d": [3], "e": True, "f": "/x"}


def test_save_json_atomic_and_complete(tmp_path: Path) -> None:
    path = _result().save_json(tmp_path / "deep" / "r.json")
    data = json.loads(path.read_text())
    assert data["figures"]["scalar/test_accuracy/Rank-1"] == 82.5
    assert data["per_view"]["X"]["matrix"] == [[1.0, None]]
    assert {"protocol", "metric", "figures", "extra", "per_view", "cmc", "counts", "notes", "options"} <= set(
        data
    )
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary left behind


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = atomic_write_text(tmp_path / "f.txt", "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


def test_getitem_and_table() -> None:
    r = _result()
    assert r["scalar/test_accuracy/mAP"] == 70.25
    with pytest.raises(KeyError, match="available"):
        r["nope"]
    text = str(r)
    assert "Rank-1" in text and "82.50" in text and "70.25" in text and "note: n" in text
