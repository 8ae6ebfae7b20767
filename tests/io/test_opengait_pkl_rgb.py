"""Import of the peer's RGB-family pickles: BigGait's pad-resized frames and ratios, DenoisingGait's features."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from gaitforge.data.store import SequenceStore
from gaitforge.io.opengait_pkl import import_opengait_pkl


def _dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=4))


def test_biggait_and_denoisinggait_layouts_import(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (4, 3, 32, 16), dtype=np.uint8)  # pretreatment_rgb.py: channel-first
    _dump(tmp_path / "pkls" / "001" / "nm-01" / "090" / "090-aligned-rgbs.pkl", frames)
    _dump(tmp_path / "pkls" / "001" / "nm-01" / "090" / "090-ratios.pkl", np.array([0.4, 0.41, 0.39, 0.4]))
    feats = rng.standard_normal((3, 4, 12, 6))  # float64 as a numpy pipeline writes them
    _dump(tmp_path / "pkls" / "002" / "nm-01" / "000" / "00-DenoisingFea_96x48.pkl", feats)
    _dump(tmp_path / "pkls" / "002" / "nm-01" / "000" / "01-Sils_96x48.pkl", np.zeros((3, 12, 6), np.uint8))
    report = import_opengait_pkl(tmp_path / "pkls", tmp_path / "store", progress=False)
    assert report.imported == ["001/nm-01/090", "002/nm-01/000"], report.problems
    store = SequenceStore(tmp_path / "store")
    big = store.get(0).modalities
    assert big["rgb"].shape == (4, 32, 16, 3) and np.array_equal(big["rgb"], frames.transpose(0, 2, 3, 1))
    assert big["ratio"].dtype == np.float32 and big["ratio"].shape == (4,)
    den = store.get(1).modalities
    assert den["diffusion_feature"].dtype == np.float32 and den["diffusion_feature"].shape == (3, 4, 12, 6)
    np.testing.assert_allclose(den["diffusion_feature"], feats.astype(np.float32))
    assert den["sil"].shape == (3, 12, 6)
