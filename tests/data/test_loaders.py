"""Train/eval loaders end to end, in the main process and in worker processes."""

from __future__ import annotations

import itertools

import pytest
import torch

from gaitforge.data.batch import Batch
from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.loaders import make_eval_loader, make_train_loader


def _take(loader, n: int) -> list[Batch]:
    return list(itertools.islice(iter(loader), n))


def test_train_loader_shapes(store_factory) -> None:
    store = store_factory(n_subjects=8, n_conditions=2)
    loader = make_train_loader(store, p=4, k=3, seed=0)
    batch = _take(loader, 1)[0]
    assert isinstance(batch, Batch) and not batch.packed
    assert batch.inputs["sil"].shape == (12, 30, 64, 44) and batch.inputs["sil"].dtype == torch.float32
    assert batch.labels.dtype == torch.int64 and batch.labels.shape == (12,)
    labels = batch.labels.tolist()
    assert len(set(labels)) == 4 and all(len(set(labels[i : i + 3])) == 1 for i in range(0, 12, 3))
    label_map = loader.dataset.label_map
    assert all(label_map[s] == lab for s, lab in zip(batch.subjects, labels))


def test_workers_give_the_same_batches_and_resume(store_factory) -> None:
    store = store_factory(n_subjects=8, n_conditions=2)
    cfg = {
        "p": 4,
        "k": 2,
        "seed": 11,
        "transform": [
            {"name": "sil_cut"},
            {"name": "resize", "size": [32, 22]},
            {"name": "random_horizontal_flip"},
        ],
        "frame_sampler": FrameSampler("unfixed_ordered", min=5, max=15, skip=3),
    }
    main = _take(make_train_loader(store, num_workers=0, **cfg), 6)
    workers = _take(make_train_loader(store, num_workers=2, **cfg), 6)
    resumed = _take(make_train_loader(store, num_workers=2, start_iteration=3, **cfg), 3)
    for a, b in zip(main, workers):
        assert a.inputs["sil"].shape[1:] == b.inputs["sil"].shape[1:]
        assert torch.equal(a.inputs["sil"], b.inputs["sil"]) and torch.equal(a.labels, b.labels)
    for a, b in zip(main[3:], resumed):
        assert torch.equal(a.inputs["sil"], b.inputs["sil"]) and a.subjects == b.subjects
    assert a.inputs["sil"].shape[2:] == (32, 22)
    assert len({b.inputs["sil"].shape[1] for b in main}) > 1  # unfixed: count varies between batches


def test_eval_loader_packs_all_frames_in_order(store_factory) -> None:
    store = store_factory(n_subjects=2, n_conditions=2, views=("000",), lengths=(5, 9, 12))
    loader = make_eval_loader(store, batch_size=3, num_workers=0)
    batches = list(loader)
    assert [b.size for b in batches] == [3, 1]
    first = batches[0]
    assert first.packed and first.seq_lens.tolist() == [5, 9, 12]
    assert first.inputs["sil"].shape == (1, 26, 64, 44)
    seen = [f"{s}/{c}/{v}" for b in batches for s, c, v in zip(b.subjects, b.conditions, b.views)]
    assert seen == [r.key for r in store.records]


def test_eval_loader_with_workers_and_paths(store_factory) -> None:
    store = store_factory(n_subjects=3, n_conditions=2, views=("000",))
    a = list(make_eval_loader(store.root, batch_size=2, num_workers=2, transform=None))
    b = list(make_eval_loader(store, batch_size=2, num_workers=0, transform=None))
    assert len(a) == len(b) == 3
    for x, y in zip(a, b):
        assert torch.equal(x.inputs["sil"], y.inputs["sil"])
        assert x.inputs["sil"].dtype == torch.uint8


def test_too_few_subjects(store_factory) -> None:
    store = store_factory(n_subjects=2, n_conditions=1, views=("000",))
    with pytest.raises(ValueError, match="expected at least p=4"):
        make_train_loader(store, p=4, k=2)


def test_default_transform_only_cuts_silhouettes(store_factory) -> None:
    store = store_factory(n_subjects=4, n_conditions=2, pose=True)
    batch = _take(make_train_loader(store, p=2, k=2, modalities=("sil", "pose")), 1)[0]
    assert batch.inputs["sil"].shape == (4, 30, 64, 44) and batch.inputs["sil"].dtype == torch.float32
    assert batch.inputs["pose"].shape == (4, 30, 17, 3)
