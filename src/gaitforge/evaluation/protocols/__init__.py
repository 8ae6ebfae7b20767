"""Evaluation protocols as data, behind one registry.

``get_protocol("casia-b")`` returns a frozen dataclass describing the probe/gallery rules; its family's
``evaluate`` applies them. ``protocol_for_dataset("CASIA-B")`` maps dataset spellings to protocol names.
"""

from __future__ import annotations

import re

from ...registry import Registry
from .base import Condition, Protocol, ScoreOptions, TypeSet
from .catalog import CATALOG
from .ccgr import CrossCovariateGrid
from .ccpg import ClothChangingProtocol
from .classification import Classification
from .retrieval import PartitionRetrieval, RealScene
from .submissions import NearestLabelSubmission, TopKSubmission
from .view_grid import CrossViewGallery, SingleViewGallery

__all__ = [
    "PROTOCOLS",
    "Protocol",
    "TypeSet",
    "Condition",
    "ScoreOptions",
    "SingleViewGallery",
    "CrossViewGallery",
    "RealScene",
    "PartitionRetrieval",
    "ClothChangingProtocol",
    "CrossCovariateGrid",
    "TopKSubmission",
    "NearestLabelSubmission",
    "Classification",
    "get_protocol",
    "list_protocols",
    "protocol_for_dataset",
]

#: Protocol name → declaration.
PROTOCOLS: Registry[Protocol] = Registry("protocol")
for _p in CATALOG:
    PROTOCOLS.register(_p.name, _p)


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name`` (case-insensitive)."""
    return PROTOCOLS.get(name)


def list_protocols() -> list[str]:
    """Registered protocol names."""
    return PROTOCOLS.names()


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def protocol_for_dataset(dataset: str) -> str:
    """Protocol name for a dataset name as configs and partition files spell it.

    ``"CASIA-B"``, ``"casia_b"`` → ``"casia-b"``; ``"OU-MVLP"`` → ``"oumvlp"``; ``"GREW"`` → ``"grew"``
    (the local check; the official test is ``"grew-submission"``); ``"HID"`` → ``"hid-submission"``.

    Raises:
        KeyError: unknown dataset (the message lists the known ones).
    """
    key = _norm(dataset)
    table: dict[str, str] = {}
    for proto in CATALOG:
        if proto.name.endswith("-submission") and proto.name != "hid-submission":
            continue
        for spelling in (proto.name, proto.dataset, *proto.aliases):
            table.setdefault(_norm(spelling), proto.name)
    if key not in table:
        known = sorted({p.dataset for p in CATALOG})
        raise KeyError(f"no evaluation protocol for dataset {dataset!r}; known datasets: {', '.join(known)}")
    return table[key]
