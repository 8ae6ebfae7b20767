"""The bounded archive readers, called directly (no HTTP, no model)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from gaitforge.service import ServiceError, ServiceLimits
from gaitforge.service.archives import read_npy, read_npz, read_png_zip
from tests.service.common import npy_bytes, npz_bytes, zip_bytes

LIMITS = ServiceLimits(max_frames=8, max_archive_members=12, max_uncompressed_bytes=100_000, max_frame_side=64)


def frames(n: int, h: int = 32, w: int = 24) -> np.ndarray:
    x = np.zeros((n, h, w), np.uint8)
    for i in range(n):
        x[i, 4 + i : 20 + i, 6:18] = 255  # a block that moves: frame order can be read back
    return x


def test_zip_frames_come_back_in_name_order_without_clutter() -> None:
    x = frames(5)
    data = zip_bytes(x, {"__MACOSX/._001.png": b"junk", "dir/": b"", "readme.txt": b"hi"})
    got, names = read_png_zip(io.BytesIO(data), LIMITS)
    assert names == [f"{i:03d}.png" for i in range(5)]
    np.testing.assert_array_equal(np.stack(got), x)


def test_npz_and_npy_read_back_exactly() -> None:
    x = frames(6)
    np.testing.assert_array_equal(read_npz(io.BytesIO(npz_bytes(sil=x, other=x[:1])), LIMITS), x)
    np.testing.assert_array_equal(read_npz(io.BytesIO(npz_bytes(walk=x)), LIMITS), x)
    np.testing.assert_array_equal(read_npy(io.BytesIO(npy_bytes(np.asfortranarray(x))), LIMITS), x)
    as_bool = read_npy(io.BytesIO(npy_bytes(x > 0)), LIMITS)
    assert as_bool.dtype == np.uint8 and set(np.unique(as_bool)) == {0, 255}


@pytest.mark.parametrize(
    ("data", "code", "limit"),
    [
        (lambda: zip_bytes(frames(9)), "too_many_frames", 8),
        (lambda: zip_bytes(frames(2), {f"{i}.txt": b"" for i in range(11)}), "too_many_members", 12),
        (lambda: zip_bytes(frames(2, 65, 10)), "frame_too_large", 64),
        (lambda: zip_bytes(frames(1), {"z.png": b"\0" * 100_001}), "archive_too_large", 100_000),
    ],
)
def test_zip_limits(data, code: str, limit: int) -> None:
    with pytest.raises(ServiceError) as info:
        read_png_zip(io.BytesIO(data()), LIMITS, field="walk")
    assert (info.value.status, info.value.code, info.value.field, info.value.limit) == (413, code, "walk", limit)
    assert "field 'walk'" in info.value.message and str(limit) in info.value.message


def test_declared_sizes_are_summed_over_members() -> None:
    each = {f"{i}.bin": b"\0" * 30_000 for i in range(4)}  # 120 kB in total, under the limit one by one
    with pytest.raises(ServiceError, match="archive declares 120"):
        read_png_zip(io.BytesIO(zip_bytes(frames(1), each)), LIMITS)
