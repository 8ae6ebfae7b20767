"""``gaitforge store info|verify|recode``: inspect, check and rewrite sequence stores."""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def _codec(values: list[str]) -> str | dict[str, str]:
    """``["lz4"]`` → ``"lz4"``; ``["sil=lz4", "pose=raw"]`` → a mapping."""
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    out = {}
    for v in values:
        m, sep, c = v.partition("=")
        if not sep or not m or not c:
            raise ValueError(f"--codec: {v!r}; expected CODEC, or MODALITY=CODEC for each modality")
        out[m] = c
    return out


def _info(args: argparse.Namespace) -> int:
    from gaitforge.data.store_tools import store_info

    print(json.dumps(store_info(args.store), indent=1))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from gaitforge.data.store import SequenceStore

    store = SequenceStore(args.store)
    store.verify()
    print(f"{args.store}: {len(store)} sequences, every checksum matches")
    return 0


def _recode(args: argparse.Namespace) -> int:
    from gaitforge.data.store_tools import recode_store, store_info

    n = recode_store(args.store, args.out, _codec(args.codec), progress=not args.quiet)
    before, after = store_info(args.store), store_info(args.out)
    sizes = {
        m: [before["modalities"][m]["bytes_on_disk"], after["modalities"].get(m, {}).get("bytes_on_disk", 0)]
        for m in before["modalities"]
    }
    print(json.dumps({"copied": n, "sequences": after["sequences"], "bytes_before_after": sizes}, indent=1))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="inspect, verify and rewrite sequence stores (info, verify, recode)")
    ss = p.add_subparsers(dest="store_command", required=True)
    q = ss.add_parser("info", help="sequences, subjects, frames; per modality its layouts, codecs and bytes")
    q.add_argument("store")
    q.set_defaults(func=_info)
    q = ss.add_parser("verify", help="check every array against its checksum")
    q.add_argument("store")
    q.set_defaults(func=_verify)
    q = ss.add_parser("recode", help="copy a store with other frame codecs (resumable)")
    q.add_argument("store")
    q.add_argument("--out", required=True, help="destination store (created, or resumed)")
    q.add_argument(
        "--codec", nargs="+", required=True, metavar="CODEC",
        help="raw, lz4 or lz4hc for every modality, or MODALITY=CODEC pairs (others raw)",
    )  # fmt: skip
    q.set_defaults(func=_recode)
