"""ScoNet training on the scoliosis world: diagnosis labels from each sequence's condition, checked at data setup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaitforge.config import config_from_dict
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import StoreWriter
from gaitforge.engine.checkpoint import load_checkpoint
from gaitforge.engine.evaluate import evaluate_checkpoint
from gaitforge.engine.trainer import train
from gaitforge.synth.scoliosis import generate_scoliosis_sequence, get_scoliosis_preset, iter_scoliosis_world


@pytest.fixture(scope="module")
def scoliosis_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gaitforge.synth.scoliosis import make_scoliosis_world

    return make_scoliosis_world(get_scoliosis_preset("scoliosis-tiny", seed=5), tmp_path_factory.mktemp("sco"))


def _sconet_cfg(store: Path, **train_args: object):
    return config_from_dict(
        {
            "name": "sconet_micro",
            "data": {
                "store": str(store),
                "dataset": "Scoliosis1K",
                "p": 3,
                "k": 2,
                "num_workers": 0,
                "train_frames": {"mode": "fixed_unordered", "num": 4},
                "transforms": [{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}],
                "test_transforms": [{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}],
            },
            "model": {
                "name": "sconet",
                "args": {"channels": [4, 8, 8, 16], "embed_dim": 16, "bins": [4]},  # 3 classes: not identities
            },
            "losses": [{"name": "ce", "input": "logits", "labels": "diagnosis_labels"}],
            "optimizer": {"lr": 0.05},
            "scheduler": {"name": "multistep", "milestones": [3]},
            "train": {"iterations": 3, "log_every": 1, "save_every": 100, "tensorboard": False, **train_args},
            "eval": {"batch_size": 8},
        }
    )


def test_sconet_trains_on_statuses_and_is_scored_by_the_scoliosis_protocol(scoliosis_store: Path, tmp_path: Path):
    result = train(_sconet_cfg(scoliosis_store), tmp_path / "run", progress=False)
    assert result.iterations == 3
    state = load_checkpoint(result.checkpoint)
    heads = [v for k, v in state["model"].items() if k.endswith("fc_bin") and "BNNeck" in k]
    assert heads and all(3 in v.shape for v in heads)  # the 3 statuses, not the 6 training identities
    scores = evaluate_checkpoint(result.checkpoint, progress=False, out_dir=tmp_path / "eval")
    assert scores.protocol == "scoliosis1k"
    assert set(scores.figures) == {f"scalar/test_{m}/" for m in ("accuracy", "precision", "recall", "f1")}
    assert sum(scores.counts["per_class"].values()) == 3 * 2  # the 3 test subjects, 2 walks each
    for status in ("negative", "neutral", "positive"):
        assert f"{status}/f1" in scores.extra
    saved = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert saved["protocol"] == "scoliosis1k"


def _store_with_one_undiagnosed(tmp_path: Path, condition: str) -> tuple[Path, str]:
    world = get_scoliosis_preset("scoliosis-tiny", seed=5)
    root = tmp_path / "mixed"
    bad_key = ""
    with StoreWriter(root) as writer:
        for n, seq in enumerate(iter_scoliosis_world(world)):
            if n == 3:  # a training subject's sequence without a diagnosis
                seq = Sequence(seq.subject, condition, seq.view, seq.modalities, seq.meta)
                bad_key = f"{seq.subject}/{condition}/{seq.view}"
            writer.add(seq)
    part = {"TRAIN_SET": list(world.base.train_subjects), "TEST_SET": list(world.base.test_subjects)}
    (root / "partition.json").write_text(json.dumps(part))
    return root, bad_key


@pytest.mark.parametrize("condition", ["nm-01", "unknown"])
def test_missing_diagnosis_is_refused_at_data_setup(tmp_path: Path, condition: str) -> None:
    store, key = _store_with_one_undiagnosed(tmp_path, condition)
    run = tmp_path / "run"
    with pytest.raises(ValueError) as info:
        train(_sconet_cfg(store), run, progress=False)
    message = str(info.value)
    assert repr(key) in message and "'condition'" in message and "diagnosis_labels" in message
    assert "negative" in message and "1 of 18" in message
    assert not run.exists()  # refused before the run folder, the model or any batch


def test_a_model_without_diagnosis_losses_ignores_conditions(tmp_path: Path) -> None:
    store, _ = _store_with_one_undiagnosed(tmp_path, "nm-01")
    cfg = _sconet_cfg(store)
    cfg.losses = [{"name": "triplet", "input": "embeddings", "margin": 0.2}]  # identities only (no diagnosis read)
    cfg.model.name, cfg.model.args = "gaitbase", {"channels": [4, 8, 8, 16], "embed_dim": 16, "bins": [4]}
    assert train(cfg, tmp_path / "run", progress=False).iterations == 3


def test_generated_sequence_matches_store_condition(scoliosis_store: Path) -> None:
    seq = generate_scoliosis_sequence(get_scoliosis_preset("scoliosis-tiny", seed=5), 0, 0)
    from gaitforge.data.store import SequenceStore

    store = SequenceStore(scoliosis_store)
    assert store.labels("condition", [0])[0] == seq.condition
