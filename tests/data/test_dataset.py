"""GaitDataset: items, labels, frame sampling through the store, per-modality transforms, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from gaitforge.data.dataset import GaitDataset
from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.samplers import SampleKey
from gaitforge.data.transforms import RandomHorizontalFlip, SilCut


def test_items_and_labels(store_factory) -> None:
    store = store_factory(n_subjects=4, n_conditions=2, views=("090",))
    idx = store.select(subjects=["001", "003"])
    ds = GaitDataset(store, indices=idx)
    assert len(ds) == 4 and ds.num_classes == 2
    assert ds.labels == [0, 0, 1, 1] and ds.subjects == ["001", "001", "003", "003"]
    item = ds[2]
    rec = store.record(idx[2])
    assert (item.subject, item.condition, item.view, item.index, item.label) == (
        "003",
        "nm-01",
        "090",
        idx[2],
        1,
    )
    # all_ordered by default: every frame in order (frame t holds the value t)
    assert item.inputs["sil"].shape == (rec.length, 64, 64)
    assert item.inputs["sil"][:, 0, 0].tolist() == list(range(rec.length))


def test_label_map_and_missing_modality(store_factory) -> None:
    store = store_factory(n_subjects=3, n_conditions=1, views=("000",))
    ds = GaitDataset(store, label_map={"002": 5})
    assert ds.labels == [-1, -1, 5]
    with pytest.raises(ValueError, match=r"'000/nm-01/000'.*lacks modalities \['pose'\]"):
        GaitDataset(store, modalities=("sil", "pose"))


def test_sample_keys_make_items_reproducible(store_factory) -> None:
    store = store_factory(pose=True)
    ds = GaitDataset(store, modalities=("sil", "pose"), frame_sampler=FrameSampler("fixed_unordered", num=8))
    keys = [SampleKey(3, 1234, 0), SampleKey(5, 1234, 1)]
    a, b = ds.__getitems__(keys), ds.__getitems__(keys)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.inputs["sil"], y.inputs["sil"])
        np.testing.assert_array_equal(x.inputs["pose"], y.inputs["pose"])
    # sil and pose are the same frames: sil frame values are the frame indices
    frames = a[0].inputs["sil"][:, 0, 0].astype(int)
    full_pose = store.get(3).modalities["pose"]
    np.testing.assert_array_equal(a[0].inputs["pose"], full_pose[frames])


@pytest.mark.parametrize("sampling", ["fixed_unordered", "fixed_ordered"])
def test_compressed_store_gives_the_same_items(store_factory, sampling: str) -> None:
    raw, lz4 = store_factory(pose=True), store_factory(pose=True, codec="lz4")
    assert lz4.record(0).arrays["sil"].codec == "lz4"
    sampler = FrameSampler(sampling, num=8)
    keys = [SampleKey(i, 99, i) for i in (0, 4, 7, 11)]
    a = GaitDataset(raw, modalities=("sil", "pose"), frame_sampler=sampler).__getitems__(keys)
    b = GaitDataset(lz4, modalities=("sil", "pose"), frame_sampler=sampler).__getitems__(keys)
    for x, y in zip(a, b):
        for m in ("sil", "pose"):
            np.testing.assert_array_equal(x.inputs[m], y.inputs[m])


def test_unfixed_count_shared_by_batch(store_factory) -> None:
    store = store_factory()
    ds = GaitDataset(store, frame_sampler=FrameSampler("unfixed_unordered", min=3, max=20))
    for seed in range(10):
        items = ds.__getitems__([SampleKey(i, seed, i) for i in range(6)])
        assert len({it.inputs["sil"].shape[0] for it in items}) == 1
    items = ds.__getitems__([0, 1, 2, 3])  # plain positions: shared too
    assert len({it.inputs["sil"].shape[0] for it in items}) == 1


def test_transform_per_modality_and_consistent_flip(store_factory) -> None:
    store = store_factory(pose=True)
    flip = RandomHorizontalFlip(0.5)
    ds = GaitDataset(store, modalities=("sil", "pose"), transform={"sil": SilCut()})
    item = ds[0]
    assert item.inputs["sil"].shape[-1] == 44 and item.inputs["sil"].dtype == np.float32
    assert item.inputs["pose"].dtype == np.float32 and item.inputs["pose"].shape[-2:] == (17, 3)
    # one transform for both modalities: the flip decision is the same for both
    ds2 = GaitDataset(store, modalities=("sil", "pose"), transform=flip)
    for seed in range(20):
        it = ds2.__getitems__([SampleKey(1, seed, 0)])[0]
        raw = store.get(1)
        sil_flipped = not np.array_equal(it.inputs["sil"], raw.modalities["sil"][: it.inputs["sil"].shape[0]])
        pose_flipped = not np.array_equal(it.inputs["pose"], raw.modalities["pose"][: it.inputs["pose"].shape[0]])
        assert sil_flipped == pose_flipped


@pytest.mark.parametrize("codec", ["raw", "lz4"])
def test_batched_reads_equal_item_by_item_reads(store_factory, codec: str) -> None:
    store = store_factory(pose=True, codec=codec)
    ds = GaitDataset(store, modalities=("sil", "pose"), frame_sampler=FrameSampler("fixed_unordered", num=9))
    keys = [SampleKey(i, 7, slot) for slot, i in enumerate((2, 9, 2, 30))]
    batched = ds.__getitems__(keys)
    single = [ds.__getitems__([k])[0] for k in keys]  # one item: no read_batch
    for x, y in zip(batched, single):
        assert x.index == y.index
        for m in ("sil", "pose"):
            np.testing.assert_array_equal(x.inputs[m], y.inputs[m])


def test_will_need_names_the_items_arrays(store_factory) -> None:
    store = store_factory(pose=True)
    ds = GaitDataset(store, indices=[5, 6, 7], modalities=("sil", "pose"))
    asked: list[tuple[list[int], str]] = []
    store.will_need = lambda rows, m: asked.append((list(rows), m))
    ds.will_need([SampleKey(2, 0, 0), SampleKey(0, 0, 1)])
    ds.will_need([1])
    assert asked == [([7, 5], "sil"), ([7, 5], "pose"), ([6], "sil"), ([6], "pose")]


@pytest.mark.parametrize("announced", [False, True])
def test_announced_batches_are_not_announced_again(store_factory, announced: bool) -> None:
    store = store_factory()
    ds = GaitDataset(store, frame_sampler=FrameSampler("fixed_unordered", num=4), announced=announced)
    calls: list[bool] = []
    read_batch = store.read_batch

    def spy(rows, modality, idx, prefetch=True, out=None):  # noqa: ANN001, ANN202 - a spy
        calls.append(prefetch)
        return read_batch(rows, modality, idx, prefetch=prefetch, out=out)

    store.read_batch = spy
    ds.__getitems__([SampleKey(i, 3, i) for i in range(4)])
    assert calls == [not announced]


def test_the_loaders_announce_their_batches(store_factory) -> None:
    from gaitforge.data import make_eval_loader, make_train_loader

    store = store_factory()
    assert make_train_loader(store, p=2, k=2).dataset.announced
    assert not make_train_loader(store, p=2, k=2, read_ahead=0).dataset.announced
    assert make_eval_loader(store).dataset.announced
