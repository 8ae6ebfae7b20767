"""``gaitforge score``: the arguments and the runner the top-level CLI wires in.

gaitforge score --protocol casia-b --metric euc --embeddings emb.npz --json out/casiab.json
gaitforge score --protocol gait3d --partition Gait3D.json --embeddings emb.npz --json out/gait3d.json
gaitforge score --protocol grew-submission --embeddings emb.npz --submission out/grew.csv
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from gaitforge.data.partition import load_partition

from .data import load_embeddings_npz
from .distance import DEFAULT_MEMORY_LIMIT_MB, METRICS
from .protocols import list_protocols
from .score import score_data

__all__ = ["add_score_arguments", "run_score"]

logger = logging.getLogger(__name__)


def add_score_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``score`` options to ``parser`` (a sub-command parser of the main CLI)."""
    parser.add_argument("--protocol", required=True, choices=list_protocols(), help="evaluation protocol")
    parser.add_argument(
        "--embeddings",
        required=True,
        type=Path,
        help="npz with embeddings [N,C,P] float32, labels, types, views",
    )
    parser.add_argument("--metric", default="euc", choices=METRICS, help="part distance (default: euc)")
    parser.add_argument(
        "--cross-view-gallery",
        action="store_true",
        help="cross-view-gallery variant (casia-b, oumvlp): Rank-1 and mAP",
    )
    parser.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (hid-submission)")
    parser.add_argument(
        "--partition", type=Path, help="partition JSON (gait3d/freegait: PROBE_SET; ccgr-mini: GALLERY_SET)"
    )
    parser.add_argument("--json", type=Path, help="write the full result here (atomically)")
    parser.add_argument(
        "--submission",
        type=Path,
        help="submission CSV path (grew-submission, hid-submission); default: next to --json",
    )
    parser.add_argument("--plots-dir", type=Path, help="folder for PNG plots (default: next to --json)")
    parser.add_argument("--no-plots", action="store_true", help="do not draw plots")
    parser.add_argument(
        "--memory-limit-mb",
        type=float,
        default=DEFAULT_MEMORY_LIMIT_MB,
        help=f"working-memory cap of the distance chunks (default: {DEFAULT_MEMORY_LIMIT_MB})",
    )
    return parser


def run_score(args: argparse.Namespace) -> int:
    """Score, print the table, write JSON / CSV / plots. Returns the process exit code (0 ok, 2 bad input)."""
    try:
        data = load_embeddings_npz(args.embeddings)
        partition = load_partition(args.partition, required=()).sets if args.partition else None
        submission = args.submission
        if args.protocol.endswith("-submission") and submission is None:
            if args.json is None:
                raise ValueError(
                    f"{args.protocol} writes a CSV: give --submission PATH (or --json to put it "
                    f"next to the JSON)"
                )
            submission = args.json.with_suffix(".csv")
        result = score_data(
            args.protocol,
            data,
            metric=args.metric,
            cross_view_gallery=args.cross_view_gallery,
            rerank=args.rerank,
            partition=partition,
            submission_path=submission,
            memory_limit_mb=args.memory_limit_mb,
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.format_table())
    if args.json is not None:
        print(f"wrote {result.save_json(args.json)}")
    if result.submission and result.submission.get("path"):
        print(f"wrote {result.submission['path']}")
    plots_dir = args.plots_dir or (args.json.parent if args.json is not None else None)
    if not args.no_plots and plots_dir is not None:
        from .plots import save_plots

        stem = args.json.stem if args.json is not None else result.protocol
        for path in save_plots(result, plots_dir, stem):
            print(f"wrote {path}")
    return 0
