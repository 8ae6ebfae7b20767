"""GaitSSB pre-training without identity labels: two views per sequence, refusals before any work, fine-tuning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitforge.config import config_from_dict, load_config
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreWriter
from gaitforge.engine.checkpoint import latest_checkpoint, load_checkpoint
from gaitforge.engine.data_setup import build_train_data
from gaitforge.engine.label_sources import PairSampler, PairTrainData
from gaitforge.engine.trainer import train
from gaitforge.losses.collection import LossCollection
from gaitforge.synth import get_preset, iter_world

DA4GAITSSB = [
    {"name": "random_affine", "p": 0.2},
    {"name": "random_perspective", "p": 0.2},
    {"name": "sil_cut"},
    {"name": "random_horizontal_flip", "p": 0.5},
    {"name": "random_part_dilate", "p": 0.2, "top_range": [9, 20], "bot_range": [29, 40]},
    {"name": "random_part_blur", "p": 0.2, "top_range": [9, 20], "bot_range": [29, 40]},
    {"name": "resize", "size": [32, 22]},
]
PAIR_LOSSES = [
    {"name": "ce", "input": "logits", "labels": "pair_labels", "label_smoothing": 0.0},
    {"name": "ce", "input": "logits_swapped", "labels": "pair_labels", "label_smoothing": 0.0},
]


@pytest.fixture(scope="module")
def one_name_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 walks of 4 people, all stored under the same subject name (so no identity can be learnt from it)."""
    cfg = get_preset("tiny", seed=11, n_subjects=4, n_train=4, conditions=("nm-01", "bg-01", "cl-01"),
                     views=("036", "090", "144"), frames=10)
    root = tmp_path_factory.mktemp("one_name") / "store"
    with StoreWriter(root) as writer:
        for n, seq in enumerate(iter_world(cfg)):
            writer.add(Sequence("anon", f"w{n:03d}", seq.view, seq.modalities, {}))
    (root / "partition.json").write_text(json.dumps({"TRAIN_SET": ["anon"], "TEST_SET": []}))
    return root


def _pretrain_cfg(store: Path, losses: list | None = None, model: str = "gaitssb_pretrain", **train_args: object):
    return config_from_dict(
        {
            "name": "ssb_micro",
            "data": {"store": str(store), "p": 3, "k": 2, "num_workers": 0,
                     "train_frames": {"mode": "fixed_unordered", "num": 6}, "transforms": DA4GAITSSB},
            "model": {"name": model, "args": {"channels": [4, 8, 8, 16], "bins": [4, 2, 1]}},
            "losses": PAIR_LOSSES if losses is None else losses,
            "optimizer": {"lr": 0.05, "momentum": 0.9},
            "scheduler": {"name": "multistep", "milestones": [1000]},
            "train": {"iterations": 8, "log_every": 1, "save_every": 4, "tensorboard": False, **train_args},
        }
    )


def test_two_views_of_the_same_sequences_and_no_labels(one_name_store: Path) -> None:
    data = build_train_data(_pretrain_cfg(one_name_store))
    assert isinstance(data, PairTrainData) and data.num_classes == 0
    batch = next(iter(data.batches()))
    assert set(batch.inputs) == {"sil", "sil_view2"}
    assert batch.inputs["sil"].shape == batch.inputs["sil_view2"].shape == (6, 6, 32, 22)
    assert (batch.labels == -1).all()
    assert len(set(zip(batch.conditions, batch.views))) == 6  # six distinct sequences
    assert not torch.equal(batch.inputs["sil"], batch.inputs["sil_view2"])  # other frames / augmentations
    again = next(iter(data.batches()))
    assert torch.equal(batch.inputs["sil_view2"], again.inputs["sil_view2"])  # reproducible from the seed


def test_pair_sampler_is_a_function_of_the_iteration_and_splits_ranks() -> None:
    s = PairSampler(20, 8, seed=3)
    assert s.batch(5) == PairSampler(20, 8, seed=3, start_iteration=5).batch(5)
    assert len({k.index for k in s.batch(0)}) == 8
    halves = PairSampler(20, 8, 3, 0, 0, 2).batch(1) + PairSampler(20, 8, 3, 0, 1, 2).batch(1)
    assert halves == s.batch(1)
    with pytest.raises(ValueError, match="world_size"):
        PairSampler(20, 7, world_size=2)


def test_pretraining_runs_without_labels_loss_finite_and_falling(
    one_name_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[torch.Tensor] = []
    forward = LossCollection.forward

    def spy(self, output, labels):  # type: ignore[no-untyped-def]
        seen.append(labels.clone())
        return forward(self, output, labels)

    monkeypatch.setattr(LossCollection, "forward", spy)
    run = tmp_path / "pre"
    result = train(_pretrain_cfg(one_name_store), run, progress=False)
    assert result.iterations == 8 and all((lab == -1).all() for lab in seen)  # the batch labels are never ids
    losses = [json.loads(line)["train/loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 8 and np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < losses[0], losses
    assert sorted(p.name for p in (run / "checkpoints").glob("ckpt-*.pt")) == ["ckpt-0000004.pt", "ckpt-0000008.pt"]
    state = load_checkpoint(latest_checkpoint(run / "checkpoints"))
    assert state["label_names"] == [] and any(k.startswith("predictor.") for k in state["model"])


def test_finetune_warm_starts_from_the_pretraining_checkpoint(one_name_store: Path, tmp_path: Path) -> None:
    pre = train(_pretrain_cfg(one_name_store, iterations=2, save_every=2), tmp_path / "pre", progress=False)
    world = get_preset("tiny", seed=2, n_subjects=6, n_train=4, views=("000", "090"), frames=8)
    from gaitforge.synth import make_world

    store = make_world(world, tmp_path / "labelled")
    cfg = _pretrain_cfg(store, losses=[{"name": "triplet", "input": "embeddings", "margin": 0.2}],
                        model="gaitssb_finetune", iterations=1, init_from=str(pre.checkpoint), init_strict=False,
                        init_skip=["predictor.*"])
    cfg.model.args["frozen"] = ["stem", "layer1", "layer2", "layer3", "layer4"]
    cfg.data.transforms = [{"name": "sil_cut"}, {"name": "resize", "size": [32, 22]}]
    fine = train(cfg, tmp_path / "fine", progress=False)
    a, b = load_checkpoint(pre.checkpoint)["model"], load_checkpoint(fine.checkpoint)["model"]
    conv = "Backbone.forward_block.layer2.0.conv1.weight"
    assert conv in a and torch.equal(a[conv], b[conv])  # frozen encoder weights are the pre-trained ones
    assert "head0.fc_bin" in b and not any(k.startswith("predictor.") for k in b)


def test_labelled_only_config_is_refused_before_any_work(tmp_path: Path) -> None:
    missing = tmp_path / "no_store"  # never opened: the refusal comes first
    triplet = [{"name": "triplet", "input": "embeddings", "margin": 0.2}]
    with pytest.raises(ValueError, match=r"losses\[0\] \(triplet\): reads identity labels.*labelled-only config"):
        train(_pretrain_cfg(missing, losses=triplet), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="pair_labels"):
        train(_pretrain_cfg(missing, losses=[]), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists() and not missing.exists()


def test_finetune_config_on_the_pretraining_objective_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no_store"
    with pytest.raises(ValueError, match=r"losses\[0\] \(ce\).labels: pair_labels.*'gaitssb_finetune'"):
        train(_pretrain_cfg(missing, model="gaitssb_finetune"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["gaitssb_pretrain_synth_cpu", "gaitssb_finetune_synth_cpu"])
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(name)
    assert cfg.model.name in ("gaitssb_pretrain", "gaitssb_finetune")
    if cfg.model.name == "gaitssb_pretrain":
        assert cfg.data.synth.preset == "unlabelled" and {e["labels"] for e in cfg.losses} == {"pair_labels"}
    else:
        assert cfg.train.init_from.endswith(".pt")


def test_store_labels_not_needed(one_name_store: Path) -> None:
    assert set(SequenceStore(one_name_store).labels("subject")) == {"anon"}
