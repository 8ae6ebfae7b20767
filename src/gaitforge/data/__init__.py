"""Data layer: the sequence store, the dataset, samplers, frame sampling, transforms and collation.

Typical use::

    from gaitforge.data import SequenceStore, make_train_loader

    loader = make_train_loader(SequenceStore("store/"), p=8, k=4, num_workers=2)
    batch = next(iter(loader))  # Batch(inputs={"sil": [32, 30, 64, 44]}, labels=[32], ...)

Names are imported on first use, so that the store and the importers do not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Batch": "batch",
    "collate_samples": "collate",
    "GaitDataset": "dataset",
    "GaitSample": "dataset",
    "FRAME_SAMPLING_MODES": "frame_sampling",
    "FrameSampler": "frame_sampling",
    "make_eval_loader": "loaders",
    "make_train_loader": "loaders",
    "InferenceSampler": "samplers",
    "ReadAhead": "samplers",
    "SampleKey": "samplers",
    "TripletSampler": "samplers",
    "MODALITY_DTYPES": "sequence",
    "Sequence": "sequence",
    "SequenceRecord": "store",
    "SequenceStore": "store",
    "StoreFormatError": "store",
    "StoreWriter": "store",
    "TRANSFORMS": "transforms",
    "Compose": "transforms",
    "RandomHorizontalFlip": "transforms",
    "Resize": "transforms",
    "SilCut": "transforms",
    "build_transform": "transforms",
    "MODALITY_SHAPES": "validation",
    "validate_sequence": "validation",
}

__all__ = [
    "FRAME_SAMPLING_MODES",
    "MODALITY_DTYPES",
    "MODALITY_SHAPES",
    "TRANSFORMS",
    "Batch",
    "Compose",
    "FrameSampler",
    "GaitDataset",
    "GaitSample",
    "InferenceSampler",
    "RandomHorizontalFlip",
    "ReadAhead",
    "Resize",
    "SampleKey",
    "Sequence",
    "SequenceRecord",
    "SequenceStore",
    "SilCut",
    "StoreFormatError",
    "StoreWriter",
    "TripletSampler",
    "build_transform",
    "collate_samples",
    "make_eval_loader",
    "make_train_loader",
    "validate_sequence",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gaitforge.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gaitforge.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from gaitforge.data.batch import Batch
    from gaitforge.data.collate import collate_samples
    from gaitforge.data.dataset import GaitDataset, GaitSample
    from gaitforge.data.frame_sampling import FRAME_SAMPLING_MODES, FrameSampler
    from gaitforge.data.loaders import make_eval_loader, make_train_loader
    from gaitforge.data.samplers import InferenceSampler, SampleKey, TripletSampler
    from gaitforge.data.sequence import MODALITY_DTYPES, Sequence
    from gaitforge.data.store import SequenceRecord, SequenceStore, StoreFormatError, StoreWriter
    from gaitforge.data.transforms import (
        TRANSFORMS,
        Compose,
        RandomHorizontalFlip,
        Resize,
        SilCut,
        build_transform,
    )
    from gaitforge.data.validation import MODALITY_SHAPES, validate_sequence
