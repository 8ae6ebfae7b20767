"""Which frames of a sequence go into a training or evaluation sample.

The six modes follow the field's convention (OpenGait, Fan et al., CVPR 2023; GaitSet, Chao et al., AAAI 2019
introduced unordered frame sets): ``{fixed|unfixed|all}_{ordered|unordered}``.

* ``fixed``: ``num`` frames; ``unfixed``: a count in ``[min, max]`` drawn once per batch (shared by the batch);
  ``all``: every frame, at most ``max_all``.
* ``unordered``: frames drawn at random, with replacement only when the sequence is shorter than the count.
* ``ordered``: a random contiguous window of ``count + skip`` frames (the sequence is tiled when shorter),
  from which ``count`` distinct positions are drawn and kept in temporal order.

Two sources of randomness: a numpy ``Generator`` (:meth:`FrameSampler.sample`, one sequence), or a key per
sequence (:meth:`FrameSampler.sample_keyed`, a whole batch at once): the picks of a sequence then depend only on
its ``(seed, slot)`` key, its length and the count, whatever else is in the batch or on which rank or worker it is
read. The keyed draws come from a counter-based hash (SplitMix64's finaliser, Steele, Lea & Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014), vectorised over the batch: about 2 µs per sequence
against about 18 µs for a seeded ``Generator`` per sequence.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FRAME_SAMPLING_MODES", "FrameSampler", "keyed_uniform"]

FRAME_SAMPLING_MODES = (
    "fixed_ordered",
    "fixed_unordered",
    "unfixed_ordered",
    "unfixed_unordered",
    "all_ordered",
    "all_unordered",
)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser of uint64 ``z`` (wrapping arithmetic), a new array."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def keyed_uniform(seeds: np.ndarray, slots: np.ndarray, n: int) -> np.ndarray:
    """Uniform floats in ``[0, 1)``, float64 ``[B, n]``: row ``b`` a function of ``(seeds[b], slots[b])`` alone
    (any integers; taken modulo 2**64), column ``j`` the ``j``-th draw of that key. Counter-based: no state, and
    a prefix of a longer row is the shorter row."""
    seeds = np.asarray(seeds).astype(np.uint64, casting="unsafe").reshape(-1, 1)
    slots = np.asarray(slots).astype(np.uint64, casting="unsafe").reshape(-1, 1)
    with np.errstate(over="ignore"):
        key = _mix(_mix(seeds + _GOLDEN) ^ (slots * _GOLDEN))
        z = _mix(key + np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


class FrameSampler:
    """Chooses frame indices for one sequence.

    Args:
        mode: One of :data:`FRAME_SAMPLING_MODES`.
        num: Frame count for ``fixed_*``.
        min: Smallest count for ``unfixed_*``.
        max: Largest count for ``unfixed_*`` (inclusive).
        skip: Extra frames in the window of ``*_ordered`` modes (the peer's ``frames_skip_num``).
        max_all: Frame limit for ``all_*`` (the peer's ``frames_all_limit``); ``None`` for no limit.

    Randomness comes only from the ``rng`` passed to :meth:`sample`, so results are reproducible from a seed
    (the dataset derives it from the batch sampler's seed or from the DataLoader worker's torch seed).
    """

    def __init__(
        self,
        mode: str = "fixed_unordered",
        num: int = 30,
        min: int = 25,
        max: int = 50,
        skip: int = 0,
        max_all: int | None = 720,
    ) -> None:
        if mode not in FRAME_SAMPLING_MODES:
            raise ValueError(
                f"FrameSampler: mode {mode!r} is unknown; expected one of {', '.join(FRAME_SAMPLING_MODES)}"
            )
        self.mode = mode
        self.kind, _, order = mode.partition("_")
        self.ordered = order == "ordered"
        if self.kind == "fixed" and num < 1:
            raise ValueError(f"FrameSampler: num is {num}; expected >= 1")
        if self.kind == "unfixed" and not 1 <= min <= max:
            raise ValueError(f"FrameSampler: min={min}, max={max}; expected 1 <= min <= max")
        if skip < 0:
            raise ValueError(f"FrameSampler: skip is {skip}; expected >= 0")
        if max_all is not None and max_all < 1:
            raise ValueError(f"FrameSampler: max_all is {max_all}; expected >= 1 or None")
        self.num, self.min, self.max, self.skip, self.max_all = (
            int(num),
            int(min),
            int(max),
            int(skip),
            max_all,
        )

    def __repr__(self) -> str:
        return (
            f"FrameSampler({self.mode!r}, num={self.num}, min={self.min}, max={self.max}, "
            f"skip={self.skip}, max_all={self.max_all})"
        )

    @property
    def equal_lengths(self) -> bool:
        """True when every sample of a batch has the same frame count (fixed and unfixed modes)."""
        return self.kind != "all"

    def draw_count(self, rng: np.random.Generator) -> int | None:
        """The batch's frame count: ``num`` (fixed), a draw in ``[min, max]`` (unfixed), ``None`` (all)."""
        if self.kind == "fixed":
            return self.num
        if self.kind == "unfixed":
            return int(rng.integers(self.min, self.max + 1))
        return None

    def sample(self, length: int, rng: np.random.Generator, count: int | None = None) -> np.ndarray:
        """Frame indices for a sequence of ``length`` frames.

        Args:
            length: Frame count ``T >= 1``.
            rng: Source of randomness.
            count: The batch's count from :meth:`draw_count`; drawn here when omitted.

        Returns:
            int64 ``[count]`` (fixed/unfixed) or ``[min(T, max_all)]`` (all), values in ``[0, T)``.
        """
        if length < 1:
            raise ValueError(f"FrameSampler: sequence length is {length}; expected >= 1")
        if self.kind == "all":
            n = length if self.max_all is None else min(length, self.max_all)
            idx = np.arange(n, dtype=np.int64)
            return idx if self.ordered else rng.permutation(idx)
        if count is None:
            count = self.draw_count(rng)
        assert count is not None
        if not self.ordered:
            return rng.choice(length, size=count, replace=length < count).astype(np.int64)
        window = count + self.skip
        tiles = math.ceil(window / length)
        tiled = np.tile(np.arange(length, dtype=np.int64), tiles)  # [length * tiles]
        start = int(rng.integers(0, tiled.size - window + 1))
        picks = np.sort(rng.choice(window, size=count, replace=False))
        return tiled[start + picks]

    def sample_keyed(
        self,
        lengths: np.ndarray | list[int],
        seeds: np.ndarray | list[int],
        slots: np.ndarray | list[int],
        count: int | None = None,
    ) -> np.ndarray | list[np.ndarray]:
        """Frame indices for a batch of sequences at once, each from its own key ``(seeds[b], slots[b])``.

        The same modes and rules as :meth:`sample` (uniform subsets, replacement only for short sequences, tiled
        windows), drawn from :func:`keyed_uniform` instead of a ``Generator``: sequence ``b``'s picks depend only
        on its key, ``lengths[b]`` and ``count``, so a batch split across ranks or read item by item picks the
        same frames.

        Args:
            lengths: Frame count ``T >= 1`` of each sequence.
            seeds, slots: The keys (e.g. a :class:`~gaitforge.data.samplers.SampleKey`'s ``seed`` and ``slot``).
            count: The batch's count (:meth:`draw_count`); required for ``unfixed`` modes, ``num`` by default.

        Returns:
            int64 ``[B, count]`` (fixed/unfixed), or for ``all`` modes a list of ``B`` arrays ``[min(T, max_all)]``.
        """
        lengths = np.asarray(lengths, np.int64).reshape(-1)
        if lengths.size and int(lengths.min()) < 1:
            raise ValueError(f"FrameSampler: sequence length is {int(lengths.min())}; expected >= 1")
        if self.kind == "all":
            ns = lengths if self.max_all is None else np.minimum(lengths, self.max_all)
            if self.ordered:
                return [np.arange(n, dtype=np.int64) for n in ns.tolist()]
            u = keyed_uniform(seeds, slots, int(ns.max(initial=0)))
            return [np.argsort(u[b, :n], kind="stable").astype(np.int64) for b, n in enumerate(ns.tolist())]
        if count is None:
            if self.kind == "unfixed":
                raise ValueError("FrameSampler.sample_keyed: an unfixed mode needs the batch's count (draw_count)")
            count = self.num
        if not self.ordered:
            return _subsets(keyed_uniform(seeds, slots, max(int(lengths.max(initial=0)), count)), lengths, count)
        window = count + self.skip
        u = keyed_uniform(seeds, slots, window + 1)  # column 0: the window's start; then the picks in it
        tiles = -(-window // lengths)
        start = np.floor(u[:, 0] * (tiles * lengths - window + 1)).astype(np.int64)
        picks = np.sort(_subsets(u[:, 1:], np.full(len(lengths), window), count), axis=1)
        return (start[:, None] + picks) % lengths[:, None]


def _subsets(u: np.ndarray, lengths: np.ndarray, count: int) -> np.ndarray:
    """Per row ``b`` of uniforms ``u`` ``[B, >= max(lengths, count)]``: ``count`` distinct positions of
    ``0..lengths[b]-1`` in random order (those with the smallest draws, a uniform random subset), or ``count``
    draws with replacement when ``lengths[b] < count``. int64 ``[B, count]``."""
    n_rows = len(lengths)
    out = np.empty((n_rows, count), np.int64)
    if not n_rows:
        return out
    short = lengths < count
    if short.any():
        out[short] = np.floor(u[short, :count] * lengths[short, None]).astype(np.int64)
    long = np.flatnonzero(~short)
    if long.size:
        keys = u[long, : int(lengths[long].max())].copy()
        keys[np.arange(keys.shape[1]) >= lengths[long, None]] = 2.0  # beyond the sequence: never among the smallest
        part = np.argpartition(keys, count - 1, axis=1)[:, :count] if count < keys.shape[1] else np.argsort(keys, 1)
        order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)
        out[long] = np.take_along_axis(part, order, axis=1)
    return out
