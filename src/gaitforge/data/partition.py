"""The field's subject split (``partition.json``): ``TRAIN_SET`` / ``TEST_SET`` and the named sets some protocols
add (Gait3D's ``PROBE_SET``, CCGR-MINI's ``GALLERY_SET``). One reader for the trainer, the evaluator, ``score``
and the importers; errors name the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Partition", "PARTITION_NAME", "load_partition"]

PARTITION_NAME = "partition.json"

#: Largest partition file read (a real one lists at most a few hundred thousand ids).
MAX_PARTITION_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Partition:
    """A subject split in the field's format.

    Attributes:
        train: ``TRAIN_SET`` (empty when the file has none).
        test: ``TEST_SET`` (empty when the file has none).
        probe: ``PROBE_SET`` (Gait3D), else empty.
        source: The file it was read from ("" for a mapping).
        sets: Every list in the file by name, as read (``PROBE_SET``, ``GALLERY_SET``, ...).
    """

    train: tuple[str, ...]
    test: tuple[str, ...]
    probe: tuple[str, ...] = ()
    source: str = ""
    sets: dict[str, list[str]] = field(default_factory=dict)

    def members(self, name: str) -> set[str]:
        """The ids of set ``name`` (empty when the partition has no such set)."""
        return set(self.sets.get(name, ()))


def load_partition(
    source: str | Path | Mapping[str, Iterable[str]], required: Iterable[str] = ("TRAIN_SET", "TEST_SET")
) -> Partition:
    """Read a partition from a JSON file or a mapping of set name → ids.

    Args:
        source: A ``partition.json`` path, or a mapping such as ``{"TRAIN_SET": [...], "TEST_SET": [...]}``.
        required: Sets that must be present (the trainer needs both; ``score`` and importers need none).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not JSON, not an object, a set that is not a list of ids, or a required set missing.
    """
    where = "partition"
    if isinstance(source, Mapping):
        data: object = source
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: partition file not found")
        if path.stat().st_size > MAX_PARTITION_BYTES:
            raise ValueError(f"{path}: partition file is larger than {MAX_PARTITION_BYTES} bytes")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a JSON object of sets such as TRAIN_SET, got {type(data).__name__}")
    sets: dict[str, list[str]] = {}
    for name, members in data.items():
        if not isinstance(members, (list, tuple, set)):
            raise ValueError(f"{where}: field {name!r} is a {type(members).__name__}; expected a list of subject ids")
        sets[str(name)] = [str(m) for m in members]
    for name in required:
        if name not in sets:
            raise ValueError(f"{where}: field {name!r} must be a list of subject ids")
    return Partition(
        train=tuple(sets.get("TRAIN_SET", ())),
        test=tuple(sets.get("TEST_SET", ())),
        probe=tuple(sets.get("PROBE_SET", ())),
        source="" if isinstance(source, Mapping) else where,
        sets=sets,
    )
