"""``gaitforge enroll``, ``gaitforge identify`` and ``gaitforge gallery list|info|remove|calibrate|reindex``.

Only argument parsing and printing; the work is done by :class:`~gaitforge.retrieval.Recognizer` and
:class:`~gaitforge.retrieval.Gallery`. Heavy modules (torch, FAISS) are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["register"]

logger = logging.getLogger(__name__)

_INDEX_KINDS = ("exact", "ivf", "ivfpq", "hnsw")  # as gaitforge.retrieval.INDEX_KINDS (kept import-free here)


def _user_errors(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A held gallery lock is a user-facing condition: report it as one line like other user errors."""

    @functools.wraps(fn)
    def wrapper(args: argparse.Namespace) -> int:
        from gaitforge.retrieval.lock import LockTimeout

        try:
            return fn(args)
        except LockTimeout as exc:
            raise ValueError(str(exc)) from exc

    return wrapper


def _options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--index-option: {pair!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _limits(args: argparse.Namespace) -> Any:
    """The input bounds of ``--max-frames``, ``--max-frame-side``, ``--min-frames`` (defaults: InputLimits')."""
    from gaitforge.io.silhouettes import InputLimits

    given = {k: getattr(args, k) for k in ("max_frames", "max_frame_side", "min_frames") if getattr(args, k, None)}
    return InputLimits(**given)


def _add_limit_arguments(p: argparse.ArgumentParser) -> None:
    """``--max-frames``, ``--max-frame-side``, ``--min-frames``: the bounds the service applies to uploads."""
    p.add_argument("--max-frames", type=int, help="frames per sequence or video (default 2000, as the service)")
    p.add_argument("--max-frame-side", type=int, help="pixels per frame side, checked before decoding (default 1024)")
    p.add_argument("--min-frames", type=int, help="frames that must hold a silhouette (default 5)")


def _load_items(items: list[Any], progress: bool) -> list[Any]:
    """Read and check every input (a video may give several sequences) before a gallery is opened or created, so
    that a refused input leaves nothing behind."""
    from tqdm import tqdm

    return [entry for item in tqdm(items, desc="read", unit="input", disable=not progress) for entry in item.load()]


def _embed_items(rec: Any, loaded: list[Any], progress: bool, desc: str) -> tuple[list[Any], Any]:
    """Embed loaded inputs; returns ``(loaded, vectors [N, dim])``."""
    import numpy as np
    from tqdm import tqdm

    vectors = [rec.embed(entry.data) for entry in tqdm(loaded, desc=desc, unit="seq", disable=not progress)]
    return loaded, np.stack(vectors) if vectors else np.empty((0, rec.dim), np.float32)


def _pick_tracks(loaded: list[Any], vectors: Any, args: argparse.Namespace) -> tuple[list[Any], Any]:
    """Videos with several tracked people: enroll the ``--track`` asked for, all with ``--all-tracks``, else refuse."""
    if args.all_tracks:
        return loaded, vectors
    keep = []
    videos: dict[str, list[Any]] = {}
    for i, entry in enumerate(loaded):
        if "track" in entry.provenance and "video" in entry.provenance:
            videos.setdefault(entry.provenance["video"], []).append(entry.provenance["track"])
            if args.track is not None and entry.provenance["track"] != args.track:
                continue
        keep.append(i)
    for video, tracks in videos.items():
        if args.track is None and len(tracks) > 1:
            raise ValueError(
                f"{video}: {len(tracks)} people were tracked (tracks {', '.join(map(str, tracks))}); pick the one to "
                "enroll with --track ID, or enroll them all under one name with --all-tracks"
            )
        if args.track is not None and args.track not in tracks:
            raise ValueError(f"{video}: no track {args.track}; tracks found: {', '.join(map(str, tracks))}")
    return [loaded[i] for i in keep], vectors[keep]


def _check_model(gallery: Any, rec: Any) -> None:
    """Record the model on a new gallery; warn when a different checkpoint is used later."""
    described = rec.describe()
    if gallery.model is None:
        gallery.model = described
    elif gallery.model.get("checkpoint") != described["checkpoint"]:
        logger.warning(
            "gallery %s was enrolled with %s; embedding with %s (distances are only comparable for one model)",
            gallery.path,
            gallery.model.get("checkpoint"),
            described["checkpoint"],
        )


@_user_errors
def _cmd_enroll(args: argparse.Namespace) -> int:
    from gaitforge.retrieval import Gallery, Recognizer
    from gaitforge.retrieval.inputs import resolve_inputs
    from gaitforge.retrieval.names import check_subject_name

    limits = _limits(args)
    if args.subject is not None:
        args.subject = check_subject_name(args.subject, "--subject", limits.max_subject_length)
    items = resolve_inputs(args.inputs, args.select, limits)
    unnamed = [item.name for item in items if item.subject is None]
    if args.subject is None and unnamed:
        raise ValueError(f"--subject is required for {unnamed[0]} (only store inputs carry subject names)")
    rec = Recognizer.from_checkpoint(args.model, device=args.device, limits=limits)
    entries = _load_items(items, not args.quiet)
    with Gallery.open_or_create(args.gallery, rec.dim, rec.metric, args.index, **_options(args.index_option)) as g:
        _check_model(g, rec)
        loaded, vectors = _embed_items(rec, entries, not args.quiet, "enroll")
        loaded, vectors = _pick_tracks(loaded, vectors, args)
        subjects = [args.subject or entry.subject for entry in loaded]
        provenance = [entry.provenance for entry in loaded]
        if args.replace:
            ids: list[int] = []
            enrolled = {info.subject for info in g.subjects()}
            for name in dict.fromkeys(subjects):
                rows = [i for i, s in enumerate(subjects) if s == name]
                sub_prov = [provenance[i] for i in rows]
                ids += (g.update if name in enrolled else g.enroll)(name, vectors[rows], sub_prov)
        else:
            ids = g.enroll_many(subjects, vectors, provenance)  # one transaction: all or nothing
        summary = {
            "gallery": str(g.path),
            "enrolled": len(ids),
            "subjects": sorted(set(subjects)),
            "sequence_ids": ids,
            "gallery_sequences": len(g),
        }
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(
            f"enrolled {len(ids)} sequence(s) of {len(summary['subjects'])} subject(s) into {summary['gallery']} "
            f"({summary['gallery_sequences']} sequences in the gallery)"
        )
    return 0


def _known_text(known: bool | None) -> str:
    return "no threshold set" if known is None else ("known" if known else "UNKNOWN (rejected by the threshold)")


@_user_errors
def _cmd_identify(args: argparse.Namespace) -> int:
    from gaitforge.retrieval import Gallery, Recognizer
    from gaitforge.retrieval.inputs import resolve_inputs

    limits = _limits(args)
    items = resolve_inputs(args.inputs, args.select, limits)
    with Gallery.open(args.gallery, read_only=True) as g:
        rec = Recognizer.from_checkpoint(args.model, device=args.device, limits=limits)
        if (rec.dim, rec.metric) != (g.dim, g.metric):
            raise ValueError(
                f"{args.gallery}: gallery holds dim {g.dim} / {g.metric} vectors but the model gives dim {rec.dim} / "
                f"{rec.metric}; use the model the gallery was enrolled with"
            )
        entries = _load_items(items, not args.quiet)
        loaded, vectors = _embed_items(rec, entries, not args.quiet, "identify")
        results = g.identify_many(vectors, k=args.top_k) if len(loaded) else []
    if args.annotate:  # video input: the tracks drawn with their identities (gaitforge.preprocess.video.annotate)
        from gaitforge.preprocess.video.annotate import annotate_identify

        annotate_identify(args.annotate, loaded, results, limits)
    rows = [
        {
            "probe": entry.name,
            "provenance": entry.provenance,
            "known": res.known,
            "matches": [
                {
                    "rank": r + 1,
                    "subject": m.subject,
                    "distance": m.distance,
                    "sequence_id": m.sequence_id,
                    # the service stores a base64 PNG thumbnail in provenance: not for a terminal
                    "provenance": {k: v for k, v in m.provenance.items() if k != "thumbnail"},
                }
                for r, m in enumerate(res.matches)
            ],
        }
        for entry, res in zip(loaded, results)
    ]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    from gaitforge.retrieval.names import display_name

    for row in rows:
        print(f"probe {row['probe']}: {_known_text(row['known'])}")
        names = [display_name(m["subject"]) for m in row["matches"]]
        width = max([len("subject")] + [len(n) for n in names])
        print(f"  {'rank':>4}  {'subject':<{width}}  {'distance':>10}  {'sequence':>8}  source")
        for m, name in zip(row["matches"], names):
            source = m["provenance"].get("store_key") or m["provenance"].get("source", "")
            print(f"  {m['rank']:>4}  {name:<{width}}  {m['distance']:>10.4f}  {m['sequence_id']:>8}  {source}")
        if not row["matches"]:
            print("  (the gallery is empty)")
    return 0


@_user_errors
def _cmd_gallery_list(args: argparse.Namespace) -> int:
    from gaitforge.retrieval import Gallery

    with Gallery.open(args.gallery, read_only=True) as g:
        subjects = g.subjects()
    if args.json:
        print(
            json.dumps([{"subject": s.subject, "n_sequences": s.n_sequences, "created": s.created} for s in subjects])
        )
        return 0
    import datetime

    from gaitforge.retrieval.names import display_name, name_problem

    names = [display_name(s.subject) for s in subjects]
    width = max([len("subject")] + [len(n) for n in names])
    print(f"{'subject':<{width}}  {'sequences':>9}  enrolled")
    for row, (s, name) in enumerate(zip(subjects, names), start=1):
        problem = name_problem(s.subject, max(len(s.subject), 1))
        if problem is not None or not s.subject.isprintable():
            logger.warning(
                "%s: row %d, subject %s breaks the name rule (%s); shown escaped; remove it with "
                "`gaitforge gallery remove %s %s` or re-enroll under a valid name",
                args.gallery,
                row,
                name,
                problem or "not printable",
                args.gallery,
                name,
            )
        when = datetime.datetime.fromtimestamp(s.created).isoformat(sep=" ", timespec="seconds")
        print(f"{name:<{width}}  {s.n_sequences:>9}  {when}")
    print(f"{len(subjects)} subject(s), {sum(s.n_sequences for s in subjects)} sequence(s)")
    return 0


@_user_errors
def _cmd_gallery_info(args: argparse.Namespace) -> int:
    from gaitforge.retrieval import Gallery

    with Gallery.open(args.gallery, read_only=True) as g:
        info = g.info()
        if args.verify:
            info["verified"] = g.verify()
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for key, value in info.items():
            print(f"{key:>18}: {json.dumps(value) if isinstance(value, dict | list) else value}")
    return 0


@_user_errors
def _cmd_gallery_remove(args: argparse.Namespace) -> int:
    from gaitforge.retrieval import Gallery

    with Gallery.open(args.gallery) as g:
        from gaitforge.retrieval.names import display_name

        for subject in args.subjects:
            n = g.remove(subject)
            print(f"removed {display_name(subject)} ({n} sequence(s))")
    return 0


@_user_errors
def _cmd_gallery_calibrate(args: argparse.Namespace) -> int:
    from gaitforge.retrieval import Gallery

    with Gallery.open(args.gallery) as g:
        if args.clear or args.threshold is not None:
            g.threshold = None if args.clear else args.threshold
            print(f"threshold of {g.path}: {g.threshold}")
            return 0
        if args.store:
            from gaitforge.retrieval import Recognizer, leave_one_out_distances
            from gaitforge.retrieval.inputs import resolve_inputs

            if not args.model:
                raise ValueError("--store needs --model (the held-out sequences are embedded with it)")
            limits = _limits(args)
            rec = Recognizer.from_checkpoint(args.model, device=args.device, limits=limits)
            entries = _load_items(resolve_inputs([args.store], args.select, limits), not args.quiet)
            loaded, vectors = _embed_items(rec, entries, not args.quiet, "embed")
            genuine, impostor = leave_one_out_distances(vectors, [e.subject for e in loaded], g.metric)
        else:
            genuine, impostor = g.leave_one_out_distances(max_probes=args.max_probes)
        cal = g.calibrate(genuine, impostor, far=args.far)
    if args.json:
        print(json.dumps(cal.to_dict(), indent=1))
    else:
        print(
            f"threshold {cal.threshold:.6g}: FAR {cal.far:.4f} (target {cal.target_far}), TAR {cal.tar:.4f} "
            f"from {cal.n_genuine} genuine / {cal.n_impostor} impostor distances"
        )
    return 0


@_user_errors
def _cmd_gallery_reindex(args: argparse.Namespace) -> int:
    from gaitforge.retrieval import Gallery

    with Gallery.open(args.gallery) as g:
        g.reindex(args.index, **_options(args.index_option))
        print(f"{g.path}: {g.index_kind} index of {len(g)} sequences ({g.info()['index_stage']} stage)")
    return 0


def register(sub: Any) -> None:
    """Add ``enroll``, ``identify`` and ``gallery`` to the ``gaitforge`` subparsers."""
    inputs_help = "silhouette PNG folder, sequence store folder (with --select), .npy silhouettes [T,H,W], or video"
    select_help = "store filter: subject=A|B,condition=nm-01,view=090"

    p = sub.add_parser("enroll", help="embed walking sequences and add them to a gallery")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=inputs_help)
    p.add_argument("--model", required=True, help="run folder or checkpoint file")
    p.add_argument("--gallery", required=True, help="gallery folder (created when missing)")
    p.add_argument("--subject", help="name to enroll under (store inputs default to each sequence's subject)")
    p.add_argument("--select", help=select_help)
    p.add_argument("--replace", action="store_true", help="replace the subject's sequences instead of adding")
    p.add_argument("--track", type=int, help="video inputs: enroll only this track id")
    p.add_argument("--all-tracks", action="store_true", help="video inputs: enroll every tracked person")
    p.add_argument("--index", choices=_INDEX_KINDS, default="exact", help="index kind of a new gallery")
    p.add_argument("--index-option", action="append", default=[], metavar="KEY=VALUE", help="e.g. nlist=1024")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    _add_limit_arguments(p)
    p.set_defaults(func=_cmd_enroll)

    p = sub.add_parser("identify", help="rank gallery subjects for each input sequence")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=inputs_help)
    p.add_argument("--model", required=True, help="run folder or checkpoint file")
    p.add_argument("--gallery", required=True, help="gallery folder")
    p.add_argument("-k", "--top-k", type=int, default=5, help="subjects per probe")
    p.add_argument("--select", help=select_help)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--annotate", metavar="OUT.mp4", help="video input: write it with boxes, outlines and identities")
    _add_limit_arguments(p)
    p.set_defaults(func=_cmd_identify)

    p = sub.add_parser("gallery", help="inspect and maintain a gallery: list, info, remove, calibrate, reindex")
    gsub = p.add_subparsers(dest="gallery_command", required=True)
    q = gsub.add_parser("list", help="enrolled subjects")
    q.add_argument("gallery")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_cmd_gallery_list)
    q = gsub.add_parser("info", help="dim, metric, index, counts, threshold")
    q.add_argument("gallery")
    q.add_argument("--verify", action="store_true", help="check that the index holds exactly the committed sequences")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_cmd_gallery_info)
    q = gsub.add_parser("remove", help="remove subjects and their sequences")
    q.add_argument("gallery")
    q.add_argument("subjects", nargs="+", metavar="SUBJECT")
    q.set_defaults(func=_cmd_gallery_remove)
    q = gsub.add_parser("calibrate", help="set the open-set threshold at a false-accept rate")
    q.add_argument("gallery")
    q.add_argument("--far", type=float, default=0.01, help="target false-accept rate (default 0.01)")
    q.add_argument("--model", help="with --store: embed a held-out labelled set with this model")
    q.add_argument("--store", help="held-out labelled sequence store (default: leave-one-out over the gallery)")
    q.add_argument("--select", help=select_help)
    q.add_argument("--max-probes", type=int, default=2000, help="gallery sequences used as probes (leave-one-out)")
    q.add_argument("--threshold", type=float, help="set this threshold instead of calibrating")
    q.add_argument("--clear", action="store_true", help="remove the threshold (no open-set decision)")
    q.add_argument("--device", default="cpu")
    q.add_argument("--json", action="store_true")
    _add_limit_arguments(q)
    q.set_defaults(func=_cmd_gallery_calibrate)
    q = gsub.add_parser("reindex", help="rebuild the FAISS index, optionally as another kind")
    q.add_argument("gallery")
    q.add_argument("--index", choices=_INDEX_KINDS, help="new index kind (default: keep)")
    q.add_argument("--index-option", action="append", default=[], metavar="KEY=VALUE")
    q.set_defaults(func=_cmd_gallery_reindex)
