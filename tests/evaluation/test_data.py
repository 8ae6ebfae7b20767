from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitforge.evaluation.data import load_embeddings_npz, make_eval_data


def _save(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _good(n=4):
    return dict(
        embeddings=np.zeros((n, 3, 2), np.float32),
        labels=np.array(["1"] * n),
        types=np.array(["a"] * n),
        views=np.array(["v"] * n),
    )


def test_loads_valid_file(tmp_path: Path) -> None:
    d = load_embeddings_npz(_save(tmp_path / "e.npz", **_good()))
    assert d.embeddings.shape == (4, 3, 2) and d.embeddings.dtype == np.float32 and d.labels.dtype.kind == "U"
    assert d.source.endswith("e.npz") and d.num_rows == 4


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_embeddings_npz(tmp_path / "nope.npz")


def test_not_an_npz(tmp_path: Path) -> None:
    p = tmp_path / "x.npz"
    p.write_text("hello")
    with pytest.raises(ValueError, match="x.npz"):
        load_embeddings_npz(p)


def test_missing_key_names_file_and_key(tmp_path: Path) -> None:
    arrays = _good()
    del arrays["views"]
    with pytest.raises(ValueError, match=r"m\.npz.*missing key.*'views'"):
        load_embeddings_npz(_save(tmp_path / "m.npz", **arrays))


def test_mismatched_lengths(tmp_path: Path) -> None:
    arrays = _good()
    arrays["types"] = np.array(["a"] * 3)
    with pytest.raises(ValueError, match=r"l\.npz: key 'types' has 3 rows but 'embeddings' has 4"):
        load_embeddings_npz(_save(tmp_path / "l.npz", **arrays))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_embeddings(tmp_path: Path, bad: float) -> None:
    arrays = _good()
    arrays["embeddings"][2, 1, 0] = bad
    with pytest.raises(
        ValueError, match=r"n\.npz: key 'embeddings' has NaN or inf values in 1 of 4 rows.*\[2\]"
    ):
        load_embeddings_npz(_save(tmp_path / "n.npz", **arrays))


def test_wrong_rank(tmp_path: Path) -> None:
    arrays = _good()
    arrays["embeddings"] = np.zeros((4, 6), np.float32)
    with pytest.raises(ValueError, match=r"r\.npz: key 'embeddings' must be \[N, C, P\]"):
        load_embeddings_npz(_save(tmp_path / "r.npz", **arrays))


def test_object_arrays_are_refused_without_unpickling(tmp_path: Path) -> None:
    arrays = _good()
    arrays["labels"] = np.array(["1", "2", "3", 4], dtype=object)
    with pytest.raises(ValueError, match="object array"):
        load_embeddings_npz(_save(tmp_path / "o.npz", **arrays))


def test_integer_labels_become_strings_and_float64_is_cast() -> None:
    d = make_eval_data(np.zeros((2, 3, 1)), np.array([1, 2]), ["a", "b"], ["v", "w"])
    assert d.labels.tolist() == ["1", "2"] and d.embeddings.dtype == np.float32


def test_non_float_embeddings_rejected() -> None:
    with pytest.raises(ValueError, match="floating point"):
        make_eval_data(np.zeros((2, 3, 1), np.int32), ["1", "2"], ["a", "b"], ["v", "w"])


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (lambda: __import__("pickle").dumps({"embeddings": [1.0]}), "a pickle"),
        (lambda: b"\x93NUMPY\x01\x00" + b"x" * 60, "one .npy array"),
        (lambda: b"embeddings,labels\n1,2\n", "not a ZIP file"),
    ],
)
def test_not_an_npz_says_what_was_expected_not_how_to_load_unsafely(tmp_path: Path, content, kind: str) -> None:
    path = tmp_path / "emb.npz"
    path.write_bytes(content())
    with pytest.raises(ValueError) as info:
        load_embeddings_npz(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {kind}, not an .npz archive; expected an .npz written by numpy.savez")
    assert "allow_pickle" not in message and "unsafely" not in message and "pickle.load" not in message
