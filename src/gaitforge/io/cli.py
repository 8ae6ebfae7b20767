"""``gaitforge import sustech1k|gait3d|depth-png``: the field's LiDAR, SMPL, parsing and depth files into a store.

Each prints the import report (counts, then one line per skipped sequence naming the file and the field) and exits
with 1 when something was skipped, 0 otherwise. Imports are resumable: run the same command again after a kill.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def _report(report, as_json: bool) -> int:  # noqa: ANN001 - an ImportReport
    if as_json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(f"{report.store_root}: {report.summary()}")
        for p in report.problems:
            print(f"  skipped {p.where} ({p.kind}): {p.reason}")
    return 0 if report.ok else 1


def _sustech1k(args: argparse.Namespace) -> int:
    from gaitforge.io.sustech1k import import_sustech1k

    report = import_sustech1k(
        args.root, args.out, modalities=args.modalities, sync=args.sync, workers=args.workers,
        progress=not args.quiet, partition=args.partition, overwrite=args.overwrite,
    )  # fmt: skip
    return _report(report, args.json)


def _gait3d(args: argparse.Namespace) -> int:
    from gaitforge.io.gait3d import import_gait3d

    report = import_gait3d(
        args.out, smpl_root=args.smpl, parsing_root=args.parsing, size=tuple(args.size) if args.size else None,
        workers=args.workers, progress=not args.quiet, partition=args.partition, overwrite=args.overwrite,
    )  # fmt: skip
    return _report(report, args.json)


def _depth_png(args: argparse.Namespace) -> int:
    from gaitforge.io.depth_png import import_depth_png

    report = import_depth_png(
        args.root, args.out, workers=args.workers, progress=not args.quiet, partition=args.partition,
        overwrite=args.overwrite,
    )  # fmt: skip
    return _report(report, args.json)


def _common(q: argparse.ArgumentParser) -> None:
    q.add_argument("--out", required=True, help="store folder (created, or resumed)")
    q.add_argument("--workers", type=int, default=None, help="reader processes (default min(4, CPUs); 0 = none)")
    q.add_argument("--partition", default=None, help="partition JSON: only its subjects, recorded in meta['sets']")
    q.add_argument("--overwrite", action="store_true", help="replace an existing store instead of extending it")
    q.add_argument("--json", action="store_true", help="print the full report as JSON")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import LiDAR point clouds, depth, SMPL and parsing data into a store")
    ss = p.add_subparsers(dest="import_command", required=True)
    q = ss.add_parser("sustech1k", help="SUSTech1K's released pickles: points (LiDAR-PCDs), depth_rgb (PCDs_depths)")
    q.add_argument("root", help="the SUSTech1K-Released-pkl folder (<subject>/<seq-covariate>/<view>/)")
    q.add_argument("--modalities", nargs="+", default=["points", "depth_rgb"], choices=["points", "depth_rgb"])
    q.add_argument("--sync", action="store_true", help="read the -sync- pickles (frames matched to the camera)")
    _common(q)
    q.set_defaults(func=_sustech1k)
    q = ss.add_parser("gait3d", help="Gait3D SMPL pickles (smpl [T,85]) and / or Gait3D-Parsing label PNGs (parsing)")
    q.add_argument("--smpl", default=None, help="folder of <subject>/<camera_video>/<seq>/<seq>.pkl")
    q.add_argument("--parsing", default=None, help="folder of <subject>/<camera_video>/<seq>/*.png label maps")
    q.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None, help="resize label maps (nearest)")
    _common(q)
    q.set_defaults(func=_gait3d)
    q = ss.add_parser("depth-png", help="folders of single-channel (16- or 8-bit) depth PNGs as depth uint16")
    q.add_argument("root", help="dataset folder (<subject>/<type>/<view>/*.png)")
    _common(q)
    q.set_defaults(func=_depth_png)
