"""Deployment export: ONNX graphs of a model's inference path and an ONNX Runtime embedder.

Example:
    >>> from gaitforge.export import export_checkpoint, OnnxEmbedder
    >>> report = export_checkpoint("runs/gaitbase_synth_cpu", "gaitbase.onnx")
    >>> embeddings = OnnxEmbedder("gaitbase.onnx")(silhouettes)  # [B, T, H, W] float32 → [B, C, P]

Names are imported on first use, so that ``gaitforge.export.cli`` (imported by every ``gaitforge`` command) does
not pull in torch, onnx or onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_OPSET",
    "EXPORT_LIMITS",
    "UNEXPORTABLE_MODELS",
    "CheckResult",
    "ExportError",
    "ExportReport",
    "InputSpec",
    "ModelExportLimits",
    "OnnxEmbedder",
    "export_checkpoint",
    "export_onnx",
    "frame_shapes_from_config",
    "read_metadata",
]

_WHERE = {
    "DEFAULT_OPSET": "onnx",
    "export_onnx": "onnx",
    "CheckResult": "report",
    "ExportError": "report",
    "ExportReport": "report",
    "export_checkpoint": "checkpoint",
    "frame_shapes_from_config": "checkpoint",
    "OnnxEmbedder": "runtime",
    "read_metadata": "runtime",
    "EXPORT_LIMITS": "spec",
    "UNEXPORTABLE_MODELS": "spec",
    "InputSpec": "spec",
    "ModelExportLimits": "spec",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gaitforge.export' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gaitforge.export.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
