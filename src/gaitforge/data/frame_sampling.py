"""Which frames of a sequence go into a training or evaluation sample.

The six modes follow the field's convention (OpenGait, Fan et al., CVPR 2023; GaitSet, Chao et al., AAAI 2019
introduced unordered frame sets): ``{fixed|unfixed|all}_{ordered|unordered}``.

* ``fixed``: ``num`` frames; ``unfixed``: a count in ``[min, max]`` drawn once per batch (shared by the batch);
  ``all``: every frame, at most ``max_all``.
* ``unordered``: frames drawn at random, with replacement only when the sequence is shorter than the count.
* ``ordered``: a random contiguous window of ``count + skip`` frames (the sequence is tiled when shorter),
  from which ``count`` distinct positions are drawn and kept in temporal order.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FRAME_SAMPLING_MODES", "FrameSampler"]

FRAME_SAMPLING_MODES = (
    "fixed_ordered",
    "fixed_unordered",
    "unfixed_ordered",
    "unfixed_unordered",
    "all_ordered",
    "all_unordered",
)


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
