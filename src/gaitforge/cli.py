"""The ``gaitforge`` command line: parses arguments and calls the Python API, nothing more.

Subcommands: ``synth``, ``train``, ``eval``, ``score``, ``demo``, ``models``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

# Modules that add their own subcommands: each defines ``register(sub)`` taking the subparsers action, adds its
# parsers there with ``set_defaults(func=...)``, and imports its heavy dependencies inside the handlers only.
COMMAND_MODULES: tuple[str, ...] = (
    "gaitforge.data.cli",  # store info|verify|recode
    "gaitforge.io.cli",  # import sustech1k|gait3d|depth-png
    "gaitforge.interop.cli",  # convert opengait-config
    "gaitforge.preprocess.cli",  # preprocess video
    "gaitforge.retrieval.cli",  # enroll, identify
    "gaitforge.export.cli",  # export (ONNX)
    "gaitforge.service.cli",  # serve
    "gaitforge.preprocess.video.watch_cli",  # watch
)


def _cmd_synth(args: argparse.Namespace) -> int:
    from gaitforge.synth import get_preset, make_world

    cfg = get_preset(args.preset, seed=args.seed)
    path = make_world(cfg, Path(args.out), workers=args.workers, progress=not args.quiet)
    print(f"synthetic world '{args.preset}' (seed {args.seed}) written to {path}")
    return 0


def _is_main() -> bool:
    """False on the non-zero ranks of a torchrun job, which then print nothing (rank 0 reports)."""
    from gaitforge.engine.distributed import is_main

    return is_main()


def _cmd_train(args: argparse.Namespace) -> int:
    from gaitforge.config import load_config
    from gaitforge.engine.trainer import train

    cfg = load_config(args.config, args.set)
    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / cfg.name
    result = train(cfg, run_dir, resume=args.resume, progress=not args.quiet)
    if _is_main():
        print(f"trained {result.iterations} iterations in {result.seconds:.0f} s; checkpoint {result.checkpoint}")
    if args.eval:
        return _evaluate(result.checkpoint, args)
    return 0


def _evaluate(target: Path, args: argparse.Namespace) -> int:
    from gaitforge.engine.evaluate import evaluate_checkpoint

    result = evaluate_checkpoint(
        target,
        store=getattr(args, "store", None),
        partition=getattr(args, "partition", None),
        protocol=getattr(args, "protocol", None),
        metric=getattr(args, "metric", None),
        out_dir=Path(args.out) if getattr(args, "out", None) else None,
        progress=not args.quiet,
    )
    if _is_main():
        print(result.format_table())
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    return _evaluate(Path(args.target), args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from gaitforge.demo import run_demo

    run_demo(
        Path(args.out),
        preset=args.preset,
        iterations=args.iterations,
        workers=args.workers,
        progress=not args.quiet,
        seed=args.seed,
    )
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from gaitforge.models import MODELS, list_models
    from gaitforge.models.modalities import declared_input_modalities

    rows = []
    for name in list_models():
        cls = MODELS.get(name)
        doc = (cls.__doc__ or "").strip().splitlines()
        rows.append(
            {
                "name": name,
                "class": f"{cls.__module__}.{cls.__qualname__}",
                "modalities": ",".join(declared_input_modalities(cls)),
                "summary": doc[0] if doc else "",
            }
        )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['modalities']:<14} {r['summary']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="gaitforge", description="Gait recognition: synthesize, train, evaluate.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate a synthetic gait world into a sequence store")
    p.add_argument(
        "--preset",
        default="default",
        help="world preset: tiny | default | casia-b | realistic | realistic-casia-b | realistic-tiny | heat | "
        "heat-hmspace | heat-tiny",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("config", help="YAML config (see configs/)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (repeatable)")
    p.add_argument("--run-dir", help="output folder (default runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in the run folder")
    p.add_argument("--eval", action="store_true", help="evaluate the final checkpoint afterwards")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="evaluate a run folder or checkpoint on its dataset's protocol")
    p.add_argument("target", help="run folder or checkpoint file")
    p.add_argument("--store", help="evaluate on another store (cross-domain)")
    p.add_argument("--partition", help="partition JSON for --store")
    p.add_argument("--protocol", help="override the protocol (default: from the dataset)")
    p.add_argument("--metric", choices=["euc", "cos"], help="distance (default: the config's)")
    p.add_argument("--out", help="folder for results.json, embeddings and plots (default: <run>/eval)")
    p.set_defaults(func=_cmd_eval)

    from gaitforge.evaluation.cli import add_score_arguments, run_score

    p = sub.add_parser("score", help="score precomputed embeddings (npz) under a protocol")
    add_score_arguments(p)
    p.set_defaults(func=run_score)

    p = sub.add_parser("demo", help="synthetic world → GaitBase → CASIA-B protocol, on a CPU in minutes")
    p.add_argument("--out", default="demo_out", help="output folder")
    p.add_argument("--preset", default="default")
    p.add_argument("--iterations", type=int, default=None, help="training iterations (default: the demo config's)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("models", help="list registered models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_models)

    import importlib

    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not exc.name or not (module_name + ".").startswith(exc.name + "."):  # a missing dependency: report it
                raise
            continue  # that command family is not part of this build
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gaitforge`` and ``python -m gaitforge``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        # user errors: one clear line, no traceback (use -v for the traceback)
        if args.verbose:
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"gaitforge {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
