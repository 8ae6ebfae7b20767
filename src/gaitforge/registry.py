"""One small registry type, used once per extension point (models, losses, protocols, samplers).

Entries can be objects or lazy ``"module:attr"`` strings, so that registering a model never imports
its module (and its optional dependencies) until it is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Name → builder table for one kind of extension.

    Args:
        kind: What the entries are ("model", "loss", ...); used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, obj: T | str | None = None) -> Callable[[T], T] | T | str:
        """Register ``obj`` under ``name``; without ``obj`` returns a decorator.

        ``obj`` may be a ``"package.module:attr"`` string that is imported on first use.
        """
        key = name.lower()

        def _add(o: T | str) -> T | str:
            if key in self._entries and self._entries[key] is not o:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._entries[key] = o
            return o

        if obj is None:
            return _add  # type: ignore[return-value]
        return _add(obj)

    def get(self, name: str) -> T:
        """Return the entry for ``name`` (case-insensitive), importing it if it is lazy."""
        key = name.lower()
        if key not in self._entries:
            raise KeyError(f"unknown {self.kind} {name!r}; expected one of: {', '.join(self.names())}")
        entry = self._entries[key]
        if isinstance(entry, str):
            module_name, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module_name), attr)
            self._entries[key] = entry
        return entry  # type: ignore[return-value]

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def build(self, name: str, **kwargs: Any) -> Any:
        """Call the registered builder with keyword arguments."""
        return self.get(name)(**kwargs)  # type: ignore[operator]
