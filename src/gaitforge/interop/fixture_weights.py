"""The deterministic weight recipe of the OpenGait model fixtures (``../shared/fixtures/opengait/models``).

Every state-dict entry is drawn from its own NumPy PCG64 generator seeded by
``sha256(f"{salt}:{key}")`` (first 8 hex digits), so a re-implementation with the same keys and shapes gets
the same weights as the reference run. A test utility, shared by every model's fixture test.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["recipe_seed", "recipe_value", "recipe_state_dict", "fill_with_recipe"]


def recipe_seed(salt: str, key: str) -> int:
    """32-bit seed: the first 8 hex digits of ``sha256(f"{salt}:{key}")``."""
    return int(hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:8], 16)


def recipe_value(salt: str, key: str, shape: Sequence[int]) -> torch.Tensor:
    """The recipe's tensor for one state-dict entry (float32, or int64 zeros for ``num_batches_tracked``)."""
    shape = tuple(int(s) for s in shape)
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    rng = np.random.default_rng(recipe_seed(salt, key))
    numel = math.prod(shape)
    if key.endswith("running_var"):
        value = 0.5 + rng.random(shape)
    elif key.endswith("running_mean"):
        value = 0.1 * rng.standard_normal(shape)
    elif len(shape) == 1 and key.endswith("weight"):
        value = 1.0 + 0.1 * rng.standard_normal(shape)
    elif len(shape) <= 1:
        value = 0.1 * rng.standard_normal(shape)
    elif key.endswith("fc_bin"):
        value = rng.standard_normal(shape) / math.sqrt(shape[1])
    else:
        value = rng.standard_normal(shape) / math.sqrt(numel / shape[0])
    return torch.from_numpy(np.asarray(value, dtype=np.float64).astype(np.float32))


def _entries(entries: Iterable[Sequence[Any]], salt: str, keep: set[str]) -> OrderedDict[str, torch.Tensor]:
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape, dtype in entries:
        if key in keep:
            continue
        if dtype not in ("float32", "int64"):
            raise ValueError(f"state_dict entry {key!r}: dtype {dtype!r} is not covered by the recipe")
        if dtype == "int64" and not key.endswith("num_batches_tracked"):
            raise ValueError(
                f"state_dict entry {key!r}: int64 entries other than num_batches_tracked must be listed "
                "in state_dict_entries_kept_as_constructed"
            )
        out[key] = recipe_value(salt, key, shape)
    return out


def recipe_state_dict(meta: dict[str, Any]) -> OrderedDict[str, torch.Tensor]:
    """Recipe weights for a fixture json (``meta``: the parsed ``<Name>.json``).

    Entries listed in ``meta["state_dict_entries_kept_as_constructed"]`` are left out: merge the result over
    the model's own ``state_dict()`` before loading when that list is non-empty.

    Returns:
        Key → tensor in the json's state-dict order.
    """
    for field in ("salt", "state_dict"):
        if field not in meta:
            raise KeyError(f"fixture json: missing field {field!r}")
    keep = set(meta.get("state_dict_entries_kept_as_constructed") or [])
    return _entries(meta["state_dict"], meta["salt"], keep)


def fill_with_recipe(model: nn.Module, salt: str) -> nn.Module:
    """Overwrite every float entry and ``num_batches_tracked`` of ``model.state_dict()`` with recipe values.

    For models without a fixture (e.g. CPU-sized widths); other integer buffers keep their values.
    """
    state = model.state_dict()
    new = OrderedDict()
    for key, tensor in state.items():
        if tensor.is_floating_point() or key.endswith("num_batches_tracked"):
            new[key] = recipe_value(salt, key, tensor.shape).to(tensor.dtype)
        else:
            new[key] = tensor
    model.load_state_dict(new, strict=True)
    return model
