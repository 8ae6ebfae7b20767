"""Ragged point clouds in the store: round trips per codec, sampled-frame reads, checksums, refusals, transform."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitforge.data.collate import collate_samples
from gaitforge.data.dataset import GaitDataset
from gaitforge.data.frame_sampling import FrameSampler
from gaitforge.data.points import PointsToFixed, fixed_points, normalize_points
from gaitforge.data.ragged import RaggedFrames
from gaitforge.data.sequence import Sequence
from gaitforge.data.store import SequenceStore, StoreFormatError, StoreWriter
from gaitforge.data.store_format import parse_manifest, read_manifest_json
from gaitforge.data.store_tools import recode_store, store_info
from gaitforge.data.transforms import build_transform


def _cloud(rng: np.random.Generator, t: int, lo: int = 20, hi: int = 400, c: int = 4) -> RaggedFrames:
    frames = []
    for _ in range(t):
        n = int(rng.integers(lo, hi))
        xyz = rng.normal(0, 0.3, (n, 3)) + [0, 0, 0.9]
        cols = [xyz, rng.integers(0, 255, (n, 1))] if c == 4 else [xyz]
        frames.append(np.round(np.concatenate(cols, axis=1), 3).astype(np.float32))  # LiDAR-like mm quantisation
    return RaggedFrames.from_frames(frames)


def _sequences(n: int = 5, seed: int = 0) -> list[Sequence]:
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n):
        t = int(rng.integers(8, 40))
        mods = {
            "points": _cloud(rng, t),
            "smpl": rng.normal(size=(t, 85)).astype(np.float32),
            "parsing": rng.integers(0, 12, (t, 16, 11)).astype(np.uint8),
            "depth": rng.integers(0, 4000, (t, 16, 16)).astype(np.uint16),
        }
        out.append(Sequence(f"{s:03d}", "nm-01", "000", mods, {"n": s}))
    return out


@pytest.mark.parametrize("codec", ["raw", "lz4", "lz4hc"])
def test_points_round_trip_whole_and_sampled_frames(tmp_path: Path, codec: str) -> None:
    seqs = _sequences()
    with StoreWriter(tmp_path / "s", codec={"points": codec}) as w:
        for seq in seqs:
            w.add(seq)
    store = SequenceStore(tmp_path / "s")
    store.verify()
    rng = np.random.default_rng(1)
    for i, seq in enumerate(seqs):
        want: RaggedFrames = seq.modalities["points"]
        got = store.array(i, "points")
        assert isinstance(got, RaggedFrames) and got == want
        idx = rng.integers(0, len(want), 12)  # any order, repeats
        part = store.frames(i, "points", idx)
        assert part == want.take(idx)
        for j, k in enumerate(idx.tolist()):
            np.testing.assert_array_equal(part.frame(j), want.frame(k))
        np.testing.assert_array_equal(store.frames(i, "smpl", idx), seq.modalities["smpl"][idx])
    rec = store.record(0)
    assert rec.arrays["points"].shape == (len(seqs[0].modalities["points"]), None, 4)
    lay = store_info(tmp_path / "s")["modalities"]["points"]["layouts"]
    assert lay == [{"dtype": "<f4", "frame_shape": [None, 4], "codec": codec, "arrays": len(seqs)}]


def test_compressed_points_take_less_space_and_recode_keeps_them(tmp_path: Path) -> None:
    seqs = _sequences(4)
    with StoreWriter(tmp_path / "raw") as w:
        for seq in seqs:
            w.add(seq)
    assert recode_store(tmp_path / "raw", tmp_path / "lz4hc", {"points": "lz4hc"}, progress=False) == len(seqs)
    before = store_info(tmp_path / "raw")["modalities"]["points"]["bytes_on_disk"]
    after = store_info(tmp_path / "lz4hc")["modalities"]["points"]["bytes_on_disk"]
    assert after < before
    store = SequenceStore(tmp_path / "lz4hc")
    store.verify()
    for i, seq in enumerate(seqs):
        assert store.array(i, "points") == seq.modalities["points"]


def test_sampled_frames_read_only_their_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    long = _cloud(rng, 300, 800, 1200)  # about 1.2 MB
    with StoreWriter(tmp_path / "s", codec={"points": "lz4"}) as w:
        w.add(Sequence("000", "nm-01", "000", {"points": long}))
    store = SequenceStore(tmp_path / "s", verify_reads=False)
    read = []
    inner = store._handles.read_into

    def counting(name, out, offset):  # noqa: ANN001, ANN202
        read.append(memoryview(out).nbytes)
        return inner(name, out, offset)

    store._handles.read_into = counting  # type: ignore[method-assign]
    got = store.frames(0, "points", [10, 150, 290])
    assert got == long.take([10, 150, 290])
    array_bytes = store._index.manifest.files[0][1]
    assert sum(read) < 0.05 * array_bytes  # header (2.4 kB) and three frames, not the 1.2 MB array


def test_a_flipped_byte_in_a_point_cloud_stops_the_first_read(tmp_path: Path) -> None:
    seqs = _sequences(3)
    with StoreWriter(tmp_path / "s", codec={"points": "lz4"}) as w:
        for seq in seqs:
            w.add(seq)
    store = SequenceStore(tmp_path / "s")
    entry = store.record(1).arrays["points"]
    path = tmp_path / "s" / entry.file
    data = bytearray(path.read_bytes())
    data[entry.offset + 8 * 40 + 100] ^= 0xFF  # inside the frame blocks, past the tables
    path.write_bytes(bytes(data))
    store = SequenceStore(tmp_path / "s")
    store.frames(0, "points", [0, 1])  # another sequence still reads
    with pytest.raises(StoreFormatError, match=r"points\.00000\.bin.*'points\.checksum' row 1.*'001/nm-01/000'"):
        store.frames(1, "points", [0])
    with pytest.raises(StoreFormatError, match="points.checksum"):
        SequenceStore(tmp_path / "s", verify_reads=False).verify()


@pytest.mark.parametrize(
    ("mods", "message"),
    [
        ({"points": RaggedFrames.from_frames([np.ones((3, 4), np.float32), np.zeros((0, 4), np.float32)])},
         r"modality 'points' frame 1 is empty"),
        ({"points": RaggedFrames.from_frames([np.ones((3, 3), np.float32), np.full((2, 3), np.nan, np.float32)])},
         r"modality 'points' frame 1 row 0 is not finite"),
        ({"points": RaggedFrames.from_frames([np.ones((3, 5), np.float32)] * 2)}, r"'points' has shape.*3 or 4"),
        ({"points": np.ones((2, 3, 4), np.float32)}, r"'points' is a ndarray; expected .*RaggedFrames"),
        ({"parsing": np.full((2, 8, 8), 12, np.uint8)}, r"'parsing' frame 0 has label 12; expected .*0\.\.11"),
        ({"smpl": np.zeros((2, 84), np.float32)}, r"'smpl' has shape \(2, 84\); expected \[T, 85\]"),
        ({"smpl": np.zeros((2, 85), np.float64)}, r"'smpl' has dtype float64; expected float32"),
        ({"depth": np.zeros((2, 8, 8), np.float32)}, r"'depth' has dtype float32; expected float16 or uint16"),
        ({"depth_rgb": np.zeros((2, 8, 8, 4), np.uint8)}, r"'depth_rgb' has shape .*expected \[T, H, W, 3\]"),
    ],
)  # fmt: skip
def test_bad_modalities_are_refused_and_nothing_is_written(tmp_path: Path, mods: dict, message: str) -> None:
    good = _sequences(1)[0]
    with StoreWriter(tmp_path / "s", append=True) as w:
        w.add(good)
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "s").iterdir()}
    with pytest.raises(ValueError, match=message), StoreWriter(tmp_path / "s", append=True) as w:
        w.add(Sequence("bad", "nm-01", "000", mods))
    store = SequenceStore(tmp_path / "s")
    store.verify()
    assert len(store) == 1 and store.array(0, "points") == good.modalities["points"]
    shards = {p.name: p.stat().st_size for p in (tmp_path / "s").iterdir() if p.suffix == ".bin"}
    assert shards == {k: v for k, v in sizes.items() if k.endswith(".bin")}


def test_manifest_layout_null_axis_only_first(tmp_path: Path) -> None:
    with StoreWriter(tmp_path / "s") as w:
        w.add(_sequences(1)[0])
    raw = read_manifest_json(tmp_path / "s")
    assert raw["modalities"]["points"] == [{"dtype": "<f4", "frame_shape": [None, 4]}]
    for bad in ([None], [4, None], [None, 0]):
        raw["modalities"]["points"] = [{"dtype": "<f4", "frame_shape": bad}]
        with pytest.raises(StoreFormatError, match=r"modalities\.points\[0\]\.frame_shape"):
            parse_manifest(json.loads(json.dumps(raw)), tmp_path / "s" / "index.json")


def test_fixed_points_sample_and_pad_from_the_frame_itself() -> None:
    rng = np.random.default_rng(3)
    frames = RaggedFrames.from_frames(
        [rng.normal(size=(n, 4)).astype(np.float32) for n in (5, 1024, 3000)]
    )
    out = fixed_points(frames, 1024, np.random.default_rng(0))
    assert out.shape == (3, 1024, 4)
    for k in range(3):
        src = {tuple(r) for r in frames.frame(k).tolist()}
        rows = [tuple(r) for r in out[k].tolist()]
        assert set(rows) <= src  # every point is one of the frame's points: no padding value
        if len(src) >= 1024:
            assert len(set(rows)) == 1024  # no repeats when the frame has enough
        else:
            assert set(rows) == src  # a small frame keeps all of its points
    np.testing.assert_array_equal(fixed_points(frames, 1024), fixed_points(frames, 1024))  # no rng: deterministic
    with pytest.raises(ValueError, match="frame 1 has no points"):
        fixed_points(RaggedFrames(np.ones((2, 3), np.float32), np.array([0, 2, 2])), 8)


def test_normalize_points_matches_the_formula() -> None:
    rng = np.random.default_rng(4)
    pts = rng.normal(size=(2, 3, 50, 4)).astype(np.float32)
    got = normalize_points(pts)
    assert got.shape == (2, 3, 50, 4) and got.dtype == np.float32
    for a in range(2):
        for b in range(3):
            p = pts[a, b].astype(np.float64)
            c = p[:, :3] - p[:, :3].mean(axis=0)
            scale = max(np.linalg.norm(r) for r in c)
            np.testing.assert_allclose(got[a, b, :, :3], c / scale, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(got[a, b, :, 3], p[:, 2] - p[:, 2].min(), rtol=1e-6, atol=1e-7)


def test_dataset_and_collate_give_lidargait_plus_plus_input(tmp_path: Path) -> None:
    seqs = _sequences(4)
    with StoreWriter(tmp_path / "s", codec={"points": "lz4"}) as w:
        for seq in seqs:
            w.add(seq)
    store = SequenceStore(tmp_path / "s")
    sampler = FrameSampler("fixed_unordered", 6)
    tf = build_transform({"name": "points_fixed", "num_points": 1024})
    assert isinstance(tf, PointsToFixed)
    ds = GaitDataset(store, modalities=("points", "smpl"), frame_sampler=sampler, transform={"points": tf})
    batch = collate_samples(ds.__getitems__([0, 1, 2]))
    assert tuple(batch.inputs["points"].shape) == (3, 6, 1024, 4)  # [n, s, 1024, 4]
    assert tuple(batch.inputs["smpl"].shape) == (3, 6, 85)
    raw = GaitDataset(store, modalities=("points",), frame_sampler=sampler)
    with pytest.raises(ValueError, match="'points' is ragged.*points_fixed"):
        collate_samples(raw.__getitems__([0, 1]))


def test_parts_with_different_point_codecs_merge(tmp_path: Path) -> None:
    from gaitforge.data.store_merge import merge_parts, part_path

    seqs = _sequences(4)
    for k, codec in enumerate(("raw", "lz4")):
        with StoreWriter(part_path(tmp_path / "m", k), codec={"points": codec}) as w:
            for seq in seqs[2 * k : 2 * k + 2]:
                w.add(seq)
    merge_parts(tmp_path / "m")
    store = SequenceStore(tmp_path / "m")
    store.verify()
    assert [lay.codec for lay in store._index.modalities["points"]] == ["raw", "lz4"]
    for seq in seqs:
        assert store.array(store.index_of(seq.key), "points") == seq.modalities["points"]


def test_a_corrupted_row_table_is_named_not_allocated(tmp_path: Path) -> None:
    seqs = _sequences(1)
    with StoreWriter(tmp_path / "s", codec={"points": "lz4"}) as w:
        w.add(seqs[0])
    store = SequenceStore(tmp_path / "s", verify_reads=False)
    entry = store.record(0).arrays["points"]
    path = tmp_path / "s" / entry.file
    data = bytearray(path.read_bytes())
    t = len(seqs[0].modalities["points"])
    data[entry.offset + 4 * (t - 1) : entry.offset + 4 * t] = (2**32 - 1).to_bytes(4, "little")  # last row count
    path.write_bytes(bytes(data))
    with pytest.raises(StoreFormatError, match=r"points\.00000\.bin: the row table of the lz4 ragged array at byte 0"):
        SequenceStore(tmp_path / "s", verify_reads=False).frames(0, "points", [t - 1])


def test_depth_rgb_float_is_channel_first_over_255() -> None:
    x = np.random.default_rng(5).integers(0, 256, (4, 8, 6, 3)).astype(np.uint8)
    got = build_transform({"name": "depth_rgb_float"})(x)
    assert got.shape == (4, 3, 8, 6) and got.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(got[:, c], x[..., c] / 255.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected \[t, H, W, 3\]"):
        build_transform({"name": "depth_rgb_float"})(x[..., 0])
