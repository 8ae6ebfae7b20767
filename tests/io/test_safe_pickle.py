"""The restricted unpickler: numpy arrays from numpy 1.x/2.x pickles load; everything else is refused unexecuted."""

from __future__ import annotations

import builtins
import io
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gaitforge.io.safe_pickle import RefusedPickleError, RestrictedUnpickler, load_numpy_pickle


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(
    "arr",
    [
        np.arange(2 * 6 * 5, dtype=np.uint8).reshape(2, 6, 5),
        np.linspace(0, 1, 2 * 17 * 3).reshape(2, 17, 3).astype(np.float32),
        np.ones((3, 4), np.float64)[:, ::2],  # non-contiguous
        np.zeros((0, 3), np.float16),
    ],
)
def test_arrays_load(tmp_path: Path, protocol: int, arr: np.ndarray) -> None:
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps(arr, protocol=protocol))
    out = load_numpy_pickle(path)
    assert out.shape == arr.shape and out.dtype.kind == arr.dtype.kind
    np.testing.assert_array_equal(out, arr)


def test_numpy1_module_names_load(tmp_path: Path) -> None:
    """numpy 1.x writes ``numpy.core.multiarray``; protocol 2 names globals as plain text lines."""
    blob = pickle.dumps(np.arange(6, dtype=np.uint8).reshape(2, 3), protocol=2)
    assert b"numpy._core.multiarray" in blob
    path = tmp_path / "np1.pkl"
    path.write_bytes(blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    np.testing.assert_array_equal(load_numpy_pickle(path), np.arange(6).reshape(2, 3))


class _System:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


class _Popen:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (subprocess.Popen, (["touch", str(self.marker)],))


@pytest.mark.parametrize(
    ("cls", "refused"), [(_System, "posix.system"), (_Eval, "builtins.eval"), (_Popen, "subprocess.Popen")]
)
def test_malicious_pickles_refused_without_running(tmp_path: Path, cls, refused: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(cls(marker)))
    with pytest.raises(RefusedPickleError, match=rf"evil\.pkl: refused global '{refused}'"):
        load_numpy_pickle(path)
    assert not marker.exists()


def test_payload_hidden_inside_a_tuple_with_an_array(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "mixed.pkl"
    path.write_bytes(pickle.dumps((np.zeros(3), _System(marker))))
    with pytest.raises(RefusedPickleError, match="refused global 'posix.system'"):
        load_numpy_pickle(path)
    assert not marker.exists()


def test_non_arrays_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(RefusedPickleError, match=r"d\.pkl: holds a dict; expected a numpy array"):
        load_numpy_pickle(path)
    path.write_bytes(pickle.dumps(np.array([1, "x"], dtype=object)))
    with pytest.raises(RefusedPickleError, match=r"d\.pkl: array has dtype object"):
        load_numpy_pickle(path)


def test_bytes_with_arguments_refused() -> None:
    # GLOBAL builtins.bytes, (10**9,), REDUCE: would allocate 1 GB if bytes itself were allowed
    blob = b"c__builtin__\nbytes\n(I1000000000\ntR."
    with pytest.raises(RefusedPickleError, match="only bytes"):
        RestrictedUnpickler(io.BytesIO(blob), "mem").load()


def test_persistent_id_refused() -> None:
    blob = b"Pabc\n."
    with pytest.raises(RefusedPickleError, match="mem: refused persistent id 'abc'"):
        RestrictedUnpickler(io.BytesIO(blob), "mem").load()


def test_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(np.arange(100))[:-7])
    with pytest.raises(pickle.UnpicklingError, match=r"cut\.pkl: not a readable numpy pickle"):
        load_numpy_pickle(path)


class _Declares:
    """Pickles as ``_reconstruct(ndarray, shape, dtype)``: allowed globals only, asking for ``shape`` elements."""

    def __init__(self, shape: tuple[int, ...], dtype: object = b"b") -> None:
        self.shape, self.dtype = shape, dtype

    def __reduce__(self) -> tuple:
        from numpy._core.multiarray import _reconstruct

        return _reconstruct, (np.ndarray, self.shape, self.dtype)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_an_array_declared_too_large_is_refused_before_allocating(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "huge.pkl"
    path.write_bytes(pickle.dumps(_Declares((10**11,)), protocol=protocol))
    assert path.stat().st_size < 400  # a few hundred bytes asking for 100 GB
    with pytest.raises(RefusedPickleError, match=r"\(100000000000 bytes\); the limit is 1073741824 bytes"):
        load_numpy_pickle(path)
    path.write_bytes(pickle.dumps(_Declares((1000, 1000), np.dtype(np.float64)), protocol=protocol))  # 8 MB
    with pytest.raises(RefusedPickleError, match="8000000 bytes.*limit is 1000000"):
        load_numpy_pickle(path, max_bytes=1_000_000)
    assert load_numpy_pickle(path).shape == (1000, 1000)  # under the default bound it loads
