"""``gaitforge convert``: translate other frameworks' files into gaitforge's.

``gaitforge convert opengait-config PEER.yaml --out OUT.yaml [--report REPORT.json] [--strict]`` converts an
OpenGait config (see :mod:`gaitforge.interop.opengait_config`) and prints what was mapped, ignored and unsupported.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def _cmd_opengait_config(args: argparse.Namespace) -> int:
    import yaml

    from gaitforge.interop.opengait_config import convert_opengait_config
    from gaitforge.utils.atomic import atomic_write_text

    src = Path(args.peer)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: OpenGait config not found")
    try:
        peer = yaml.safe_load(src.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{src}: not valid YAML: {exc}") from None
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
