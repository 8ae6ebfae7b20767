"""GaitGraph CASIA-B pose CSV import: grouping by sequence, frame order, bad rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.store import SequenceStore
from gaitforge.io.pose_csv import import_gaitgraph_csv, read_gaitgraph_csv

NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
         "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
         "left_ankle", "right_ankle"]  # fmt: skip


def _write(path: Path, rows: list[tuple[str, np.ndarray | list]]) -> None:
    header = ["image_name"] + [f"{n}_{c}" for n in NAMES for c in ("x", "y", "conf")]
    lines = [",".join(header)] + [",".join([name] + [str(v) for v in np.ravel(vals)]) for name, vals in rows]
    path.write_text("\n".join(lines) + "\n")


def test_import(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.random((3, 17, 3)).round(5)
    b = rng.random((2, 17, 3)).round(5)
    rows = [
        ("./001-bg-01-090/000003.jpg", a[2]),
        ("./001-bg-01-090/000001.jpg", a[0]),
        ("./001-bg-01-090/000002.jpg", a[1]),
        ("./075-nm-05-000/000010.jpg", b[0]),
        ("./075-nm-05-000/000011.jpg", b[1]),
        ("./075-nm-05-000/000012.jpg", [1.0, 2.0]),  # too short
        ("weird.jpg", a[0]),  # not a CASIA-B path
    ]
    _write(tmp_path / "casia-b_pose_test.csv", rows)
    report = import_gaitgraph_csv(tmp_path / "casia-b_pose_test.csv", tmp_path / "store", progress=False)
    assert report.imported == ["001/bg-01/090", "075/nm-05/000"]
    assert any("2 rows skipped" in w for w in report.warnings)
    store = SequenceStore(tmp_path / "store")
    np.testing.assert_allclose(store.array(store.index_of("001/bg-01/090"), "pose"), a, atol=1e-6)
    np.testing.assert_allclose(store.array(store.index_of("075/nm-05/000"), "pose"), b, atol=1e-6)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        read_gaitgraph_csv(tmp_path / "none.csv")
    (tmp_path / "nohead.csv").write_text("./001-nm-01-000/000001.jpg,1,2,3\n")
    with pytest.raises(ValueError, match="header row"):
        read_gaitgraph_csv(tmp_path / "nohead.csv")
