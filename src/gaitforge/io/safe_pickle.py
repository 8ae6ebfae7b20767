"""Loading the field's ``.pkl`` files without executing code: a restricted unpickler for numpy arrays only.

``pickle.load`` runs whatever callable a file names. The OpenGait-style datasets ship one pickled numpy array per
modality per sequence, so this loader resolves only the few globals numpy 1.x and 2.x write for a plain array
(``_reconstruct``, ``ndarray``, ``dtype``, ``_frombuffer`` under ``numpy.core`` or ``numpy._core``,
``_codecs.encode`` and an argument-less ``bytes()``, which protocols 0-2 use for byte strings) and refuses every
other global before anything is called.

Allowed globals can still be asked for a lot of memory: ``_reconstruct(ndarray, (10**11,), ...)`` allocates
100 GB before any data is read. Every array a pickle asks for is bounded by ``max_bytes``
(:data:`DEFAULT_MAX_ARRAY_BYTES`, 1 GiB, configurable per call) before it is allocated.
"""

from __future__ import annotations

import codecs
import io
import math
import operator
import pickle
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ALLOWED_GLOBALS",
    "DEFAULT_MAX_ARRAY_BYTES",
    "RefusedPickleError",
    "RestrictedUnpickler",
    "load_numpy_pickle",
    "load_numpy_pickle_list",
]

#: Largest array (in bytes) a pickle may ask for; one sequence's silhouettes are a few MB.
DEFAULT_MAX_ARRAY_BYTES = 2**30


class RefusedPickleError(pickle.UnpicklingError):
    """A pickle names a global outside :data:`ALLOWED_GLOBALS`, or holds something other than a numeric array."""


try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    from numpy.core.numeric import _frombuffer  # type: ignore[no-redef]


def _empty_bytes(*args: Any) -> bytes:
    """Protocols 0-2 write ``bytes()`` for an empty buffer; nothing else is accepted (``bytes(n)`` could allocate)."""
    if args:
        raise RefusedPickleError(f"refused call bytes{args!r}; only bytes() is allowed")
    return b""


#: (module, name) → the object it resolves to. Nothing else can be loaded.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): codecs.encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`ALLOWED_GLOBALS` and refuses persistent ids.

    Args:
        file: Binary file object.
        source: Name used in error messages (usually the file path).
        max_bytes: Largest array it may allocate (:data:`DEFAULT_MAX_ARRAY_BYTES`).
    """

    def __init__(
        self, file: io.BufferedIOBase | io.BytesIO, source: str = "<pickle>", max_bytes: int = DEFAULT_MAX_ARRAY_BYTES
    ) -> None:
        super().__init__(file)
        self.source = source
        self.max_bytes = int(max_bytes)

    def _bounded(self, shape: Any, dtype: Any) -> None:
        """Refuse an array of ``shape`` and ``dtype`` over ``max_bytes``, before it exists."""
        try:
            dims = [operator.index(d) for d in ((shape,) if isinstance(shape, int) else shape)]
            itemsize = np.dtype(dtype).itemsize
        except (TypeError, ValueError) as exc:
            raise RefusedPickleError(f"{self.source}: array shape {shape!r} / dtype {dtype!r} unreadable") from exc
        if any(d < 0 for d in dims):
            raise RefusedPickleError(f"{self.source}: array shape {tuple(dims)} has a negative size")
        nbytes = math.prod(dims) * itemsize
        if nbytes > self.max_bytes:
            raise RefusedPickleError(
                f"{self.source}: declares an array of shape {tuple(dims)} ({nbytes} bytes); the limit is "
                f"{self.max_bytes} bytes (max_bytes); refused before allocating it"
            )

    def _reconstruct(self, subtype: Any, shape: Any, dtype: Any) -> Any:
        self._bounded(shape, dtype)
        return _reconstruct(subtype, shape, dtype)

    def _frombuffer(self, buffer: Any, dtype: Any, shape: Any, order: Any) -> Any:
        self._bounded(shape, dtype)
        return _frombuffer(buffer, dtype, shape, order)

    def find_class(self, module: str, name: str) -> Any:
        try:
            found = ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedPickleError(
                f"{self.source}: refused global '{module}.{name}'; only numpy arrays may be loaded "
                "(allowed: numpy ndarray/dtype/_reconstruct/_frombuffer)"
            ) from None
        if found is _reconstruct:
            return self._reconstruct
        if found is _frombuffer:
            return self._frombuffer
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickleError(f"{self.source}: refused persistent id {pid!r}; only numpy arrays may be loaded")


def load_numpy_pickle(path: str | Path, max_bytes: int = DEFAULT_MAX_ARRAY_BYTES) -> np.ndarray:
    """Load one pickled numpy array safely.

    Args:
        path: ``.pkl`` file holding a single numeric ``np.ndarray``.
        max_bytes: Largest array the pickle may ask for (checked before allocating).

    Returns:
        The array.

    Raises:
        RefusedPickleError: a refused global (named with the file), an array over ``max_bytes``, or content that
            is not a numeric array.
        pickle.UnpicklingError: a damaged file (message names the file).
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            obj = RestrictedUnpickler(f, str(path), max_bytes).load()
        except RefusedPickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise pickle.UnpicklingError(f"{path}: not a readable numpy pickle: {exc}") from exc
    if not isinstance(obj, np.ndarray):
        raise RefusedPickleError(f"{path}: holds a {type(obj).__name__}; expected a numpy array")
    if obj.dtype.hasobject or obj.dtype.kind not in "biuf":
        raise RefusedPickleError(f"{path}: array has dtype {obj.dtype}; expected a plain numeric dtype")
    return obj


class _TotalBoundedUnpickler(RestrictedUnpickler):
    """:class:`RestrictedUnpickler` that also bounds the sum of every array's bytes (a list of many arrays)."""

    def __init__(self, file: io.BufferedIOBase, source: str, max_bytes: int, max_total: int) -> None:
        super().__init__(file, source, max_bytes)
        self.max_total, self.total = int(max_total), 0

    def _bounded(self, shape: Any, dtype: Any) -> None:
        super()._bounded(shape, dtype)
        dims = (shape,) if isinstance(shape, int) else shape
        self.total += math.prod(operator.index(d) for d in dims) * np.dtype(dtype).itemsize
        if self.total > self.max_total:
            raise RefusedPickleError(
                f"{self.source}: its arrays together exceed {self.max_total} bytes (max_total); refused before "
                "allocating more"
            )


def load_numpy_pickle_list(
    path: str | Path, max_bytes: int = DEFAULT_MAX_ARRAY_BYTES, max_total: int = DEFAULT_MAX_ARRAY_BYTES
) -> list[np.ndarray]:
    """Load a pickled list (or tuple) of numeric numpy arrays safely, e.g. SUSTech1K's per-sequence point clouds
    (one ``[N_t, 3]`` array per frame). A pickle holding one array gives a one-element list.

    Args:
        path: ``.pkl`` file.
        max_bytes: Largest single array the pickle may ask for.
        max_total: Largest sum of its arrays' bytes (checked as each is declared, before allocating it).

    Raises:
        RefusedPickleError: a refused global, arrays over the bounds, or an item that is not a numeric array
            (naming the file and the item).
        pickle.UnpicklingError: a damaged file (message names the file).
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            obj = _TotalBoundedUnpickler(f, str(path), max_bytes, max_total).load()
        except RefusedPickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise pickle.UnpicklingError(f"{path}: not a readable numpy pickle: {exc}") from exc
    items = [obj] if isinstance(obj, np.ndarray) else obj
    if not isinstance(items, (list, tuple)):
        raise RefusedPickleError(f"{path}: holds a {type(obj).__name__}; expected a list of numpy arrays")
    for k, item in enumerate(items):
        if not isinstance(item, np.ndarray) or item.dtype.hasobject or item.dtype.kind not in "biuf":
            what = f"dtype {item.dtype}" if isinstance(item, np.ndarray) else f"a {type(item).__name__}"
            raise RefusedPickleError(f"{path}: item {k} is {what}; expected a numeric numpy array")
    return list(items)
