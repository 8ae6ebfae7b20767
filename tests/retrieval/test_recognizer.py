"""Recognizer: the same embeddings as ``gaitforge eval``, from store sequences, raw frames and PNG folders."""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore
from gaitforge.engine.evaluate import embed_sequences, load_trained_model
from gaitforge.preprocess.silhouette import pretreat_sequence
from gaitforge.retrieval import Recognizer, flatten_embeddings


@pytest.fixture(scope="module")
def recognizer(trained_run: Path) -> Recognizer:
    return Recognizer.from_checkpoint(trained_run)


@pytest.fixture(scope="module")
def store(recognizer: Recognizer) -> SequenceStore:
    return SequenceStore(recognizer.config.data.store)


def _raw(sil: np.ndarray) -> np.ndarray:
    """A pretreated silhouette pasted off-centre into a larger 120x90 canvas, scaled up: 'camera' frames."""
    big = np.stack([cv2.resize(f, (96, 96), interpolation=cv2.INTER_NEAREST) for f in sil])
    out = np.zeros((len(sil), 120, 150), np.uint8)
    out[:, 10:106, 30:126] = big
    return out


def test_store_sequences_embed_as_evaluate_does(
    recognizer: Recognizer, store: SequenceStore, trained_run: Path
) -> None:
    model, cfg, _ = load_trained_model(trained_run)
    indices = [0, 7, 31, 100]
    reference = embed_sequences(model, store, indices, cfg, progress=False).embeddings  # [N, C, P]
    parts = recognizer.embed_parts([store.get(i) for i in indices])
    np.testing.assert_allclose(parts, reference, rtol=1e-5, atol=1e-6)
    vectors = recognizer.embed_many(store.get(i) for i in indices)
    assert vectors.shape == (4, recognizer.dim) and recognizer.dim == reference.shape[1] * reference.shape[2]
    np.testing.assert_allclose(vectors, reference.reshape(4, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(recognizer.embed(store.get(7)), vectors[1], rtol=1e-5, atol=1e-6)
    # a pretreated [T, 64, 64] array is the same input as the Sequence holding it
    np.testing.assert_allclose(recognizer.embed(np.asarray(store.array(31, "sil"))), vectors[2], rtol=1e-5, atol=1e-6)


def test_raw_frames_are_pretreated(recognizer: Recognizer, store: SequenceStore) -> None:
    raw = _raw(np.asarray(store.array(3, "sil")))
    pretreated = pretreat_sequence(raw)
    np.testing.assert_array_equal(recognizer.embed(raw), recognizer.embed(pretreated, pretreated=True))
    assert not np.allclose(recognizer.embed(raw), recognizer.embed(raw[:, :64, :64], pretreated=True))


def test_png_folders(recognizer: Recognizer, store: SequenceStore, tmp_path: Path) -> None:
    sil = np.asarray(store.array(5, "sil"))
    for name, frames in (("pretreated", sil), ("raw", _raw(sil))):
        (tmp_path / name).mkdir()
        for t, frame in enumerate(frames):
            cv2.imwrite(str(tmp_path / name / f"{t:04d}.png"), frame)
    np.testing.assert_array_equal(recognizer.embed_folder(tmp_path / "pretreated"), recognizer.embed(sil))
    np.testing.assert_array_equal(recognizer.embed_folder(tmp_path / "raw"), recognizer.embed(_raw(sil)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no \\*.png frames"):
        recognizer.embed_folder(tmp_path / "empty")


def test_cos_runs_give_part_normalised_vectors(trained_run: Path, store: SequenceStore) -> None:
    model, cfg, ckpt = load_trained_model(trained_run)
    cfg = copy.deepcopy(cfg)
    cfg.eval.metric = "cos"
    rec = Recognizer(model, cfg, checkpoint=ckpt)
    seq = store.get(2)
    np.testing.assert_allclose(rec.embed(seq), flatten_embeddings(rec.embed_parts([seq])[0], "cos"), rtol=1e-6)
    assert np.linalg.norm(rec.embed(seq)) == pytest.approx(1.0, abs=1e-5)
    assert rec.describe()["metric"] == "cos" and rec.describe()["checkpoint"] == str(ckpt)


def test_errors(recognizer: Recognizer, trained_run: Path) -> None:
    with pytest.raises(ValueError, match="expected uint8"):
        recognizer.embed(np.zeros((4, 64, 64), np.float32))
    with pytest.raises(ValueError, match="none of the 3 frames holds a silhouette"):
        recognizer.embed(np.zeros((3, 100, 80), np.uint8))
    with pytest.raises(ValueError, match="lacks modalities \\['sil'\\]"):
        recognizer.embed(Sequence("1", "nm-01", "000", {"pose": np.zeros((4, 17, 3), np.float32)}))
    with pytest.raises(FileNotFoundError, match="no run folder or checkpoint"):
        Recognizer.from_checkpoint(trained_run / "missing")
    assert recognizer.embed_many([]).shape == (0, recognizer.dim)


def test_checkpoint_file_path(trained_run: Path, recognizer: Recognizer, store: SequenceStore) -> None:
    ckpt = next((trained_run / "checkpoints").glob("ckpt-*.pt"))
    rec = Recognizer.from_checkpoint(ckpt, device="cpu")
    assert rec.dim == recognizer.dim and rec.metric == "euc"
    np.testing.assert_array_equal(rec.embed(store.get(0)), recognizer.embed(store.get(0)))
