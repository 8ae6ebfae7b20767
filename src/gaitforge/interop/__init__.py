"""Interop with the field's other frameworks (OpenGait configs, checkpoints and calling convention).

Submodules are imported on use: ``from gaitforge.interop.opengait import build_model``.
"""

from __future__ import annotations

__all__: list[str] = []
