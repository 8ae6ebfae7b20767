"""``gaitforge export RUN_OR_CKPT --out model.onnx``: a trained model as an ONNX graph, checked against PyTorch."""

from __future__ import annotations

import argparse

__all__ = ["register", "parse_input_shape"]


def parse_input_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """``"sil=64x44"`` → ``("sil", (64, 44))``."""
    name, sep, dims = text.partition("=")
    try:
        shape = tuple(int(v) for v in dims.lower().split("x"))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or min(shape) < 1:
        raise ValueError(f"--input-shape: expected MODALITY=DxDx... (e.g. sil=64x44), got {text!r}")
    return name, shape


def _cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gaitforge.export import export_checkpoint

    if args.format != "onnx":  # argparse restricts the choices; kept for formats added later
        raise ValueError(f"--format: only 'onnx' is supported, got {args.format!r}")
    shapes = dict(parse_input_shape(s) for s in args.input_shape) or None
    report = export_checkpoint(
        Path(args.target),
        Path(args.out),
        frames=args.frames,
        opset=args.opset,
        inputs=shapes,
        check=not args.no_check,
        exporter=args.exporter,
    )
    print(report.summary())
    if report.max_abs_diff is not None:
        print(f"max abs difference against PyTorch on the check inputs: {report.max_abs_diff:.3e}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    p = sub.add_parser("export", help="export a run or checkpoint to ONNX (embeddings [B, C, P])")
    p.add_argument("target", metavar="RUN_OR_CKPT", help="run folder (its newest checkpoint) or checkpoint file")
    p.add_argument("--out", required=True, help="output file (e.g. model.onnx)")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="export format (default onnx)")
    p.add_argument("--frames", type=int, help="fix the sequence length (default: dynamic where the model allows)")
    p.add_argument("--opset", type=int, help="ONNX opset (default 17, or the lowest the model needs)")
    p.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="MODALITY=HxW",
        help="per-frame input shape (default: from the run's test transforms), repeatable",
    )
    p.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript", help=argparse.SUPPRESS)
    p.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime vs PyTorch comparison")
    p.set_defaults(func=_cmd_export)
