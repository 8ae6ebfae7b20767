"""Store maintenance: a summary of what a store holds, and rewriting a store with other frame codecs.

Example::

    from gaitforge.data.store_tools import recode_store, store_info
    recode_store("stores/casiab", "stores/casiab-lz4", codec={"sil": "lz4"})  # resumable: run it again after a kill
    print(store_info("stores/casiab-lz4"))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tqdm import tqdm

__all__ = ["recode_store", "store_info"]


def store_info(root: str | Path) -> dict[str, Any]:
    """Sequences, subjects, frames, and per modality: layouts with their codecs, array count and bytes on disk."""
    from gaitforge.data.store import SequenceStore

    store = SequenceStore(root)
    files = dict(store._index.manifest.files)  # noqa: SLF001 - the manifest's file sizes
    modalities: dict[str, Any] = {}
    for m in store.modalities:
        layouts = store._index.modalities[m]  # noqa: SLF001
        codes = store._index.group(m)[2]  # noqa: SLF001
        count = Counter(int(c) for c in codes[codes >= 0].tolist())
        modalities[m] = {
            "arrays": int(sum(count.values())),
            "layouts": [
                {**lay.to_json(), "codec": lay.codec, "arrays": count.get(k, 0)} for k, lay in enumerate(layouts)
            ],
            "bytes_on_disk": sum(size for name, size in files.items() if name.startswith(f"{m}.")),
        }
    return {
        "root": str(store.root),
        "sequences": len(store),
        "subjects": len(store.subjects()),
        "frames": int(store.lengths().sum()) if len(store) else 0,
        "modalities": modalities,
    }


def recode_store(
    src: str | Path,
    dst: str | Path,
    codec: str | Mapping[str, str],
    progress: bool = True,
) -> int:
    """Copy every sequence of ``src`` into ``dst`` written with ``codec`` (see :class:`StoreWriter`); returns the
    number of sequences copied. ``dst`` is written in append mode: sequences already there are skipped, so an
    interrupted run resumes. Arrays are decoded and re-encoded; labels and metadata are kept.
    """
    from gaitforge.data.store import SequenceStore, StoreWriter

    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError(f"recode_store: source and destination are both {src}; write to a new folder")
    store = SequenceStore(src)
    copied = 0
    with StoreWriter(dst, append=True, codec=codec) as writer:
        for i in tqdm(range(len(store)), desc=f"recode {src.name}", unit="seq", disable=not progress):
            rec = store.record(i)
            if rec.key in writer:
                continue
            writer.add(store.get(i))
            copied += 1
    return copied
