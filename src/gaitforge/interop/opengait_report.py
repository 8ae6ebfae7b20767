"""The result of converting an OpenGait config: the gaitforge config and a report entry per peer key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["ConversionResult", "ReportEntry"]


@dataclass
class ReportEntry:
    """What happened to one peer key.

    Attributes:
        path: Dotted peer key path (``trainer_cfg.sampler.batch_size``, ``loss_cfg[0].margin``).
        status: ``mapped``, ``ignored`` or ``unsupported``.
        target: The gaitforge key(s) it became (mapped only).
        reason: Why it is ignored or unsupported, or a remark on the mapping.
        value: The peer's value.
        source: ``file`` (in the converted file) or ``default`` (from the peer's default.yaml).
    """

    path: str
    status: str
    target: str = ""
    reason: str = ""
    value: Any = None
    source: str = "file"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("path", "status", "target", "reason", "value", "source")}


@dataclass
class ConversionResult:
    """A converted config and its report.

    Attributes:
        config: The gaitforge config as a plain dict (it loads with :func:`gaitforge.config.config_from_dict`).
        entries: One :class:`ReportEntry` per peer key path, in file order.
        source: Where the peer config came from.
        peer_model: The peer's ``model_cfg.model``.
        num_classes: The peer's class count (``None`` for models without a classifier); gaitforge takes it from
            the training set, so it is not in ``config``.
    """

    config: dict[str, Any]
    entries: list[ReportEntry] = field(default_factory=list)
    source: str = "<dict>"
    peer_model: str = ""
    num_classes: int | None = None

    def by_status(self, status: str) -> list[ReportEntry]:
        """Entries with the given status."""
        return [e for e in self.entries if e.status == status]

    @property
    def unsupported(self) -> list[ReportEntry]:
        return self.by_status("unsupported")

    def report(self) -> dict[str, Any]:
        """JSON-ready report: source, counts per status, the peer's model and class count, every entry."""
        counts = {s: len(self.by_status(s)) for s in ("mapped", "ignored", "unsupported")}
        return {
            "source": self.source,
            "peer_model": self.peer_model,
            "num_classes": self.num_classes,
            "counts": counts,
            "entries": [e.to_dict() for e in self.entries],
        }

    def to_yaml(self) -> str:
        """The config as YAML, headed by a comment that summarises the report and lists unsupported keys."""
        counts = self.report()["counts"]
        lines = [
            f"# Converted from the OpenGait config {self.source} by `gaitforge convert opengait-config`.",
            f"# {counts['mapped']} keys mapped, {counts['ignored']} ignored, {counts['unsupported']} unsupported.",
        ]
        if self.num_classes is not None:
            lines.append(
                f"# The peer's classifier has {self.num_classes} classes; gaitforge sizes it from the training set."
            )
        for e in self.unsupported:
            lines.append(f"# UNSUPPORTED {e.path}: {e.reason}")
        return "\n".join(lines) + "\n" + yaml.safe_dump(self.config, sort_keys=False)
