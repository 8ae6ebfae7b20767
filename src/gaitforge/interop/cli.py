"""``gaitforge convert``: translate other frameworks' files into gaitforge's.

``gaitforge convert opengait-config PEER.yaml --out OUT.yaml [--report REPORT.json] [--strict]`` converts an
OpenGait config (see :mod:`gaitforge.interop.opengait_config`) and prints what was mapped, ignored and unsupported.

``gaitforge convert opengait-checkpoint CKPT --config PEER.yaml --out RUN/`` (and ``fastposegait-checkpoint``) turns a
released checkpoint into a run folder that ``eval``, ``enroll``, ``identify``, ``serve`` and ``export`` accept (see
:mod:`gaitforge.interop.peer_checkpoint`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def _cmd_opengait_config(args: argparse.Namespace) -> int:
    from gaitforge.interop.opengait_config import convert_opengait_config
    from gaitforge.utils.atomic import atomic_write_text
    from gaitforge.utils.safe_yaml import load_yaml_file

    src = Path(args.peer)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: OpenGait config not found")
    peer = load_yaml_file(src)  # bounded size and alias expansion, no duplicate keys; one-line errors
    if not isinstance(peer, dict):
        raise ValueError(f"{src}: expected a mapping of config sections at the top level, got {type(peer).__name__}")
    result = convert_opengait_config(peer, source=str(src))
    unsupported = result.unsupported
    if args.strict and unsupported:
        listed = "; ".join(f"{e.path} ({e.reason})" for e in unsupported)
        raise ValueError(f"{src}: {len(unsupported)} unsupported key(s) and --strict given: {listed}")
    out = atomic_write_text(args.out, result.to_yaml())
    if args.report:
        atomic_write_text(args.report, json.dumps(result.report(), indent=1, default=str) + "\n")
    counts = result.report()["counts"]
    print(
        f"{src} ({result.peer_model}) -> {out}: {counts['mapped']} keys mapped, {counts['ignored']} ignored, "
        f"{counts['unsupported']} unsupported" + (f"; report {args.report}" if args.report else "")
    )
    if not args.quiet:
        for e in unsupported:
            print(f"  unsupported {e.path}: {e.reason}")
        if args.verbose:
            for e in result.entries:
                if e.status == "ignored":
                    print(f"  ignored {e.path}: {e.reason}")
    return 0


def _cmd_peer_checkpoint(args: argparse.Namespace) -> int:
    from gaitforge.interop.peer_checkpoint import convert_peer_checkpoint

    try:
        outcome = convert_peer_checkpoint(args.checkpoint, args.config, args.out, peer=args.peer, name=args.name or "")
    except FileExistsError as exc:  # a user error like the others: one line, exit 2
        raise ValueError(str(exc)) from None
    print(outcome.summary())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``convert`` and its sub-subcommands to the ``gaitforge`` parser."""
    p = sub.add_parser("convert", help="convert other frameworks' files (OpenGait configs) into gaitforge's")
    conv = p.add_subparsers(dest="convert_command", required=True)
    q = conv.add_parser(
        "opengait-config",
        help="an OpenGait YAML config -> a gaitforge config, with a report of every key",
        description="Convert an OpenGait YAML config into a gaitforge config. Every key of the peer's config "
        "(merged over its defaults) is reported as mapped, ignored (with the reason) or unsupported.",
    )
    q.add_argument("peer", help="the OpenGait YAML config")
    q.add_argument("--out", required=True, help="the gaitforge YAML config to write")
    q.add_argument("--report", help="also write the per-key report as JSON here")
    q.add_argument("--strict", action="store_true", help="fail (exit 2, nothing written) when a key is unsupported")
    q.set_defaults(func=_cmd_opengait_config)
    for peer, label in (("opengait", "OpenGait"), ("fastposegait", "FastPoseGait")):
        q = conv.add_parser(
            f"{peer}-checkpoint",
            help=f"a released {label} checkpoint + its YAML config -> a gaitforge run folder",
            description=f"Convert a {label} checkpoint (read with weights_only=True: tensors and plain containers "
            "only) and the YAML config it was trained with into a run folder that gaitforge eval, enroll, identify, "
            "serve and export accept. The peer's test-time input transform is recorded in the run's config "
            "(data.test_transforms) and in RUN/conversion.json. The checkpoint must have exactly the keys and shapes "
            "of the model the config describes. Nothing is written unless the conversion succeeds.",
        )
        q.add_argument("checkpoint", help=f"the {label} .pt checkpoint")
        q.add_argument("--config", required=True, help=f"the {label} YAML config the checkpoint was trained with")
        q.add_argument("--out", required=True, help="the run folder to create (must not exist, or be empty)")
        q.add_argument("--name", help="run name (default: the config's evaluator_cfg.save_name or file name)")
        q.set_defaults(func=_cmd_peer_checkpoint, peer=peer)
