"""Helpers shared by the retrieval tests."""

from __future__ import annotations

import numpy as np

#: Small index options so that IVF kinds train (and leave their flat stage) within a few hundred vectors.
INDEX_CASES = [
    ("exact", {}),
    ("ivf", {"nlist": 4, "nprobe": 4, "train_min": 160}),
    ("ivfpq", {"nlist": 4, "nprobe": 4, "m": 8, "nbits": 6, "train_min": 160}),
    ("hnsw", {"M": 8, "ef_search": 64}),
]


def clustered(n_subjects: int, per_subject: int, dim: int = 16, noise: float = 0.05, seed: int = 0):
    """``(centres [S, D], samples [S, K, D])``: identities as well-separated centres with noisy samples around them."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_subjects, dim)).astype(np.float32)
    samples = centres[:, None] + noise * rng.normal(size=(n_subjects, per_subject, dim)).astype(np.float32)
    return centres, samples.astype(np.float32)
