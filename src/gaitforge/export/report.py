"""The result of an export: what the ONNX file takes and gives, and how closely it matches PyTorch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitforge.export.spec import OUTPUT_NAME, InputSpec

__all__ = ["CheckResult", "ExportError", "ExportReport"]


class ExportError(RuntimeError):
    """The exported graph does not reproduce the PyTorch model (or the export itself failed)."""


@dataclass(frozen=True)
class CheckResult:
    """ONNX Runtime vs PyTorch on one check input ``[batch, frames, ...]``."""

    batch: int
    frames: int
    max_abs_diff: float
    max_abs_value: float


@dataclass
class ExportReport:
    """What was exported, and how closely it matches PyTorch.

    Attributes:
        path: The ONNX file.
        model_name: Registered model name (or the class name when it is not registered).
        inputs: One spec per ONNX input (``[batch, frames | T, *frame_shape]``).
        embedding_shape: ``[batch, C, P]``.
        dynamic_axes: Symbolic axes of the inputs (``("batch", "frames")`` or ``("batch",)``).
        exporter: ``"torchscript"`` or ``"dynamo"``.
        opset: ONNX opset of the graph.
        note: Why an axis is fixed or what the export does differently, from the model's export limits.
        checks: ONNX Runtime vs PyTorch per check input (empty with ``check=False``).
        metadata: The ``gaitforge.*`` metadata written into the file.
        size_bytes: File size.
        seconds: Export (and check) wall time.
    """

    path: Path
    model_name: str
    inputs: tuple[InputSpec, ...]
    embedding_shape: tuple[int | str, ...]
    dynamic_axes: tuple[str, ...]
    exporter: str
    opset: int
    note: str = ""
    checks: tuple[CheckResult, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    size_bytes: int = 0
    seconds: float = 0.0

    @property
    def max_abs_diff(self) -> float | None:
        """Largest ``|ONNX − PyTorch|`` over all check inputs (``None`` when not checked)."""
        return max((c.max_abs_diff for c in self.checks), default=None)

    def summary(self) -> str:
        """A few human-readable lines (what the CLI prints)."""
        ins = "; ".join(s.describe() for s in self.inputs)
        emb = ", ".join(str(v) for v in self.embedding_shape)
        lines = [
            f"exported {self.model_name} to {self.path} ({_size(self.size_bytes)}, ONNX opset {self.opset}, "
            f"{self.exporter} exporter, {self.seconds:.1f} s)",
            f"  input:  {ins}",
            f"  output: {OUTPUT_NAME} [{emb}] float32",
            f"  dynamic axes: {', '.join(self.dynamic_axes) or 'none'}",
        ]
        if self.note:
            lines.append(f"  note: {self.note}")
        for c in self.checks:
            lines.append(
                f"  check [{c.batch}, {c.frames}, ...]: max |ONNX - PyTorch| = {c.max_abs_diff:.2e} "
                f"(outputs up to {c.max_abs_value:.3g})"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": str(self.path),
            "model": self.model_name,
            "inputs": [s.to_dict() for s in self.inputs],
            "embedding_shape": list(self.embedding_shape),
            "dynamic_axes": list(self.dynamic_axes),
            "exporter": self.exporter,
            "opset": self.opset,
            "note": self.note,
            "checks": [c.__dict__ for c in self.checks],
            "max_abs_diff": self.max_abs_diff,
            "size_bytes": self.size_bytes,
            "seconds": self.seconds,
        }


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"
