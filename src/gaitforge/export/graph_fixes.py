"""Exporter-side fixes for operators gait models use that the TorchScript ONNX exporter of torch 2.13 gets wrong
or lacks. Each is a pure graph translation checked numerically by the export check (and the test suite).

:func:`register_symbolics` registers with ``torch.onnx.register_custom_op_symbolic``, which is process-wide: later
TorchScript exports in the same process see the same translations.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch

__all__ = ["register_symbolics", "normalize_transpose_perms"]

logger = logging.getLogger(__name__)


def _inplace_logical(op: str) -> Any:
    def symbolic(g: Any, self: Any, other: Any) -> Any:
        return g.op(op, self, other)

    return symbolic


def _inverse_3x3(g: Any, x: Any) -> Any:
    """``torch.linalg.inv`` of ``[..., 3, 3]`` matrices in standard ONNX ops: the columns of the inverse are the
    cross products of the rows (``r1 x r2``, ``r2 x r0``, ``r0 x r1``) over the determinant ``r0 . (r1 x r2)``."""
    # Sizes the tracer lost (None) are taken to be 3; the export check catches a wrong guess numerically.
    sizes = x.type().varyingSizes() if x.type().kind() == "TensorType" else None
    if sizes is not None and (len(sizes) < 2 or any(v not in (3, None) for v in sizes[-2:])):
        raise torch.onnx.errors.SymbolicValueError(
            f"linalg_inv: only [..., 3, 3] matrices can be exported (ONNX has no matrix inverse), got {sizes}", x
        )

    def index(values: list[int]) -> Any:
        return g.op("Constant", value_t=torch.tensor(values, dtype=torch.long))

    def row(i: int) -> Any:
        return g.op("Gather", x, g.op("Constant", value_t=torch.tensor(i)), axis_i=-2)

    def cross(a: Any, b: Any) -> Any:
        i120, i201 = index([1, 2, 0]), index([2, 0, 1])
        left = g.op("Mul", g.op("Gather", a, i120, axis_i=-1), g.op("Gather", b, i201, axis_i=-1))
        right = g.op("Mul", g.op("Gather", a, i201, axis_i=-1), g.op("Gather", b, i120, axis_i=-1))
        return g.op("Sub", left, right)

    r0, r1, r2 = row(0), row(1), row(2)  # each [..., 3]
    cols = [cross(r1, r2), cross(r2, r0), cross(r0, r1)]
    det = g.op("ReduceSum", g.op("Mul", r0, cols[0]), index([-1]), keepdims_i=1)  # [..., 1]
    last = index([-1])
    adjugate = g.op("Concat", *(g.op("Unsqueeze", c, last) for c in cols), axis_i=-1)  # [..., 3, 3]
    return g.op("Div", adjugate, g.op("Unsqueeze", det, last))


def _atan2(g: Any, y: Any, x: Any) -> Any:
    """``torch.atan2(y, x)`` with the quadrants and axes right: torch's own translation divides ``y / x`` unguarded
    (NaN at the origin, where torch gives 0) and sends ``y = 0, x < 0`` to -pi instead of pi."""

    def const(value: float) -> Any:
        return g.op("CastLike", g.op("Constant", value_t=torch.tensor(value, dtype=torch.float32)), y)

    zero, pi, half_pi = const(0.0), const(math.pi), const(math.pi / 2)
    on_y_axis = g.op("Equal", x, zero)
    base = g.op("Atan", g.op("Div", y, g.op("Where", on_y_axis, const(1.0), x)))  # finite everywhere
    y_negative = g.op("Less", y, zero)
    left = g.op("Where", y_negative, g.op("Sub", base, pi), g.op("Add", base, pi))  # x < 0
    off_axis = g.op("Where", g.op("Less", x, zero), left, base)
    axis = g.op(
        "Where", g.op("Greater", y, zero), half_pi, g.op("Where", y_negative, g.op("Neg", half_pi), zero)
    )  # x == 0: pi/2, -pi/2 or 0
    return g.op("Where", on_y_axis, axis, off_axis)


def register_symbolics() -> None:
    """Teach the TorchScript exporter what it lacks and gait models use: the in-place boolean ``&=`` / ``|=``
    (``aten::__iand_`` / ``__ior_``, ONNX ``And`` / ``Or`` on masks), ``torch.linalg.inv`` of 3x3 (affine)
    matrices (opset 13 and up: ``ReduceSum`` and ``Unsqueeze`` take their axes as inputs), and a correct
    ``torch.atan2``."""
    for aten, op in (("__iand_", "And"), ("__ior_", "Or")):
        torch.onnx.register_custom_op_symbolic(f"aten::{aten}", _inplace_logical(op), 9)
    torch.onnx.register_custom_op_symbolic("aten::linalg_inv", _inverse_3x3, 13)
    torch.onnx.register_custom_op_symbolic("aten::atan2", _atan2, 15)  # CastLike


def normalize_transpose_perms(proto: Any) -> None:
    """Rewrite negative ``perm`` entries of Transpose nodes to non-negative ones, in place.

    The TorchScript exporter turns ``movedim`` / ``permute`` with negative dims (e.g. ``pose.movedim(-1, -3)``)
    into a Transpose whose ``perm`` keeps them, which ONNX forbids and ONNX Runtime rejects; the input's rank
    (from shape inference) gives the intended permutation.
    """
    import onnx

    nodes = [
        n for n in proto.graph.node if n.op_type == "Transpose" and any(v < 0 for a in n.attribute for v in a.ints)
    ]
    if not nodes:
        return
    inferred = onnx.shape_inference.infer_shapes(proto)
    ranks = {
        v.name: len(v.type.tensor_type.shape.dim)
        for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
        if v.type.tensor_type.HasField("shape")
    }
    for node in nodes:
        rank = ranks.get(node.input[0])
        perm = next(a for a in node.attribute if a.name == "perm")
        if rank is None or len(perm.ints) != rank:
            continue  # left for the checker to report
        fixed = [v % rank for v in perm.ints]
        del perm.ints[:]
        perm.ints.extend(fixed)
        logger.debug("Transpose %s: negative perm rewritten to %s", node.name, fixed)
