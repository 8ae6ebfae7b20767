"""Result records of the retrieval API: matches, identifications, subjects and calibrations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Calibration", "Identification", "Match", "SubjectInfo"]


@dataclass(frozen=True)
class Match:
    """One gallery subject returned for a probe.

    Attributes:
        subject: The enrolled subject's name.
        distance: Distance from the probe to the subject's closest enrolled sequence (smaller is closer;
            ``euc``: Euclidean distance of the flattened vectors, ``cos``: ``1 - cosine similarity``).
        sequence_id: Gallery id of that closest sequence.
        provenance: What was recorded when that sequence was enrolled (video, frames, boxes, source, time, ...).
    """

    subject: str
    distance: float
    sequence_id: int
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Identification:
    """The answer to one probe.

    Attributes:
        matches: Up to ``k`` subjects, closest first (one entry per subject: its best sequence).
        known: Open-set decision: ``True`` when the best distance is at most the gallery's threshold,
            ``False`` when it exceeds it (or the gallery is empty), ``None`` when no threshold is set.
    """

    matches: list[Match]
    known: bool | None

    @property
    def best(self) -> Match | None:
        """The closest match, or ``None`` for an empty gallery."""
        return self.matches[0] if self.matches else None


@dataclass(frozen=True)
class SubjectInfo:
    """An enrolled subject.

    Attributes:
        subject: Name.
        n_sequences: Enrolled sequences.
        created: When the subject was first enrolled (unix time, seconds).
    """

    subject: str
    n_sequences: int
    created: float


@dataclass(frozen=True)
class Calibration:
    """An open-set threshold chosen from genuine and impostor distances.

    A probe is accepted as known when its best distance is ``<= threshold``.

    Attributes:
        threshold: The acceptance distance.
        far: False-accept rate measured at ``threshold`` (fraction of impostor distances ``<= threshold``);
            at most ``target_far``.
        tar: True-accept rate at ``threshold`` (fraction of genuine distances ``<= threshold``).
        target_far: The requested false-accept rate.
        n_genuine: Genuine distances used.
        n_impostor: Impostor distances used.
    """

    threshold: float
    far: float
    tar: float
    target_far: float
    n_genuine: int
    n_impostor: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict (JSON-ready)."""
        return {
            "threshold": self.threshold,
            "far": self.far,
            "tar": self.tar,
            "target_far": self.target_far,
            "n_genuine": self.n_genuine,
            "n_impostor": self.n_impostor,
        }
