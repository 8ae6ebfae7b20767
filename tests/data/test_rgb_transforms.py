"""RGB as a store modality: per-frame compressed round trip, alignment with silhouettes, the peer's normalisation,
and a batch through the dataset and collate into GaitEdge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.data.collate import collate_samples
from gaitforge.data.dataset import GaitDataset
from gaitforge.data.rgb_transforms import IMAGENET_MEAN, IMAGENET_STD, RgbNormalize
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter
from gaitforge.data.transforms import build_transform


def _sequence(subject: str, t: int, size: int = 32, seed: int = 0) -> Sequence:
    rng = np.random.default_rng(seed)
    sil = np.zeros((t, size, size), np.uint8)
    sil[:, 4:28, 11:21] = 255
    rgb = rng.integers(0, 256, (t, size, size, 3), dtype=np.uint8)
    rgb[sil == 0] = 0  # a person crop on black, as the peer's RGB pretreatment gives
    ratio = np.full(t, 10 / 24, np.float32)
    return Sequence(subject, "nm-01", "090", {"rgb": rgb, "sil": sil, "ratio": ratio})


def test_rgb_round_trips_compressed_per_frame(tmp_path: Path) -> None:
    seqs = [_sequence("001", 5), _sequence("002", 3, seed=1)]
    with StoreWriter(tmp_path / "s", codec={"rgb": "lz4", "sil": "lz4"}) as w:
        for s in seqs:
            w.add(s)
    store = SequenceStore(tmp_path / "s", verify=True)
    for i, seq in enumerate(seqs):
        got = store.get(i).modalities
        for name, arr in seq.modalities.items():
            assert got[name].dtype == arr.dtype and got[name].shape == arr.shape, name
            np.testing.assert_array_equal(got[name], arr)
    np.testing.assert_array_equal(store.frames(0, "rgb", [1, 3]), seqs[0].modalities["rgb"][[1, 3]])
    raw = sum(s.modalities["rgb"].nbytes for s in seqs)
    kept = sum(f.stat().st_size for f in (tmp_path / "s").rglob("*") if f.is_file())
    assert kept < raw  # black backgrounds compress


@pytest.mark.parametrize(
    ("mods", "message"),
    [
        (
            {"rgb": np.zeros((3, 32, 24, 3), np.uint8), "sil": np.zeros((3, 32, 32), np.uint8)},
            r"'rgb' has 32x24 frames but 'sil' has 32x32",
        ),
        ({"rgb": np.zeros((3, 32, 32, 3), np.float32)}, r"'rgb' has dtype float32; expected uint8"),
        ({"ratio": np.zeros((3, 1), np.float32)}, r"'ratio' has shape \(3, 1\); expected \[T\]"),
    ],
)
def test_misaligned_or_malformed_rgb_is_refused_and_nothing_written(tmp_path: Path, mods: dict, message: str) -> None:
    with StoreWriter(tmp_path / "s") as w:
        with pytest.raises(ValueError, match=message):
            w.add(Sequence("007", "cl-02", "054", mods))
    assert len(SequenceStore(tmp_path / "s")) == 0


def test_rgb_normalize_is_the_peers_base_rgb_transform() -> None:
    x = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    out = build_transform({"name": "rgb_normalize"})(x, None)
    assert out.shape == (2, 3, 4, 5) and out.dtype == np.float32
    for c in range(3):
        want = (x[..., c].astype(np.float64) - 255 * IMAGENET_MEAN[c]) / (255 * IMAGENET_STD[c])
        np.testing.assert_allclose(out[:, c], want, rtol=1e-5, atol=1e-5)
    first = RgbNormalize(channels_last=False)(x.transpose(0, 3, 1, 2), None)
    np.testing.assert_array_equal(first, out)
    with pytest.raises(ValueError, match=r"expected RGB frames \[T, H, W, 3\]"):
        RgbNormalize()(np.zeros((2, 4, 5), np.uint8), None)


def test_store_to_gaitedge_batch(tmp_path: Path) -> None:
    with StoreWriter(tmp_path / "s", codec="lz4") as w:
        for k in range(3):
            w.add(_sequence(f"00{k}", 4 + k, seed=k))
    dataset = GaitDataset(
        SequenceStore(tmp_path / "s"),
        modalities=("rgb", "sil", "ratio"),
        transform={
            "rgb": build_transform({"name": "rgb_normalize"}),
            "sil": build_transform({"name": "sil_cut", "cut": 0}),
        },
    )
    batch = collate_samples([dataset[i] for i in range(3)])
    assert batch.seq_lens is not None and batch.inputs["rgb"].shape == (1, 15, 3, 32, 32)
    assert batch.inputs["ratio"].shape == (1, 15) and float(batch.inputs["sil"].max()) == 1.0
    from gaitforge.models import create_model

    model = create_model(
        "gaitedge", channels=(8, 16, 16), bins=(32,), num_classes=3, seg_widths=(4, 8, 8, 8), align_size=(32, 22)
    ).eval()
    with torch.no_grad():
        out = model(batch)
    assert out.embeddings.shape == (3, 16, 32) and torch.isfinite(out.embeddings).all()
