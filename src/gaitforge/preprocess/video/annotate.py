"""Annotated videos: each person's box, track id, silhouette outline and identity drawn on the frames.

:class:`VideoAnnotator` writes frames as they come (``gaitforge watch --annotate``) into a temporary file next to
the target and renames it into place only when closed normally, so an interrupted or failed run leaves no
half-written video (:meth:`VideoAnnotator.abort` removes the temporary file). :func:`annotate_result` draws a finished
:class:`~gaitforge.preprocess.video.results.VideoResult` (``gaitforge identify --annotate``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gaitforge.preprocess.video.encode import CONTAINER_FORMATS
from gaitforge.preprocess.video.segment import MaskCrop

__all__ = ["Overlay", "VideoAnnotator", "annotate_identify", "annotate_result", "draw_overlays", "identity_label"]

logger = logging.getLogger(__name__)

_PALETTE = np.array(
    [
        [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
        [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255],
    ],
    np.uint8,
)  # fmt: skip


@dataclass
class Overlay:
    """One person drawn on a frame.

    Attributes:
        track_id: Track id (shown as ``#id``; picks the colour).
        box: float ``[4]`` xyxy.
        mask: The silhouette crop (its outline is drawn) or ``None``.
        label: Text after the id (identity, ``unknown``, ...).
        muted: Draw in grey (e.g. a track that was dropped).
    """

    track_id: int
    box: np.ndarray
    mask: MaskCrop | None = None
    label: str = ""
    muted: bool = False


def identity_label(subject: str | None, known: bool | None) -> str:
    """The text of an identification: the subject when accepted, ``unknown`` when the gallery's open-set threshold
    rejects it, ``subject?`` when the gallery has no threshold, ``...`` when not identified yet."""
    if subject is None:
        return "..."
    if known is False:
        return "unknown"
    return subject if known else f"{subject}?"


def draw_overlays(frame: np.ndarray, overlays: Iterable[Overlay]) -> np.ndarray:
    """Draw boxes, ids, outlines and labels on a copy of ``frame`` (uint8 ``[H, W, 3]`` RGB)."""
    out = np.ascontiguousarray(frame).copy()
    h, w = out.shape[:2]
    scale = max(0.4, h / 1100)
    thick = max(1, round(h / 400))
    for o in overlays:
        colour = (160, 160, 160) if o.muted else tuple(int(c) for c in _PALETTE[o.track_id % len(_PALETTE)])
        if o.mask is not None and o.mask.mask.size > 1:
            binary = (o.mask.mask > 0).astype(np.uint8)
            contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            if contours:
                origin = tuple(int(v) for v in o.mask.origin)
                cv2.drawContours(out, contours, -1, colour, thick, cv2.LINE_AA, offset=origin)
        x1, y1, x2, y2 = (int(round(float(v))) for v in o.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
        text = f"#{o.track_id} {o.label}".strip()
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = y1 - 3 if y1 - th - base - 3 >= 0 else min(h - 1, y2 + th + 3)
        tx = int(np.clip(x1, 0, max(0, w - tw - 1)))
        cv2.rectangle(out, (tx, ty - th - 2), (tx + tw + 2, ty + base), colour, -1)
        ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
        cv2.putText(out, text, (tx + 1, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thick, cv2.LINE_AA)
    return out


class VideoAnnotator:
    """Writes annotated frames to a video file, atomically.

    Args:
        path: Output file (``.mp4``, ``.mkv``, ``.avi``, ``.mov``).
        fps: Frame rate of the output.
        codec: FFmpeg encoder.
        crf: ``libx264`` quality.

    Use as a context manager: a normal exit publishes the file, an exception removes the temporary file.
    """

    def __init__(self, path: str | Path, fps: float, codec: str = "libx264", crf: int = 23) -> None:
        self.path = Path(path)
        self._format = CONTAINER_FORMATS.get(self.path.suffix.lower())
        if self._format is None:
            raise ValueError(
                f"{self.path}: unknown video suffix {self.path.suffix!r}; expected one of {sorted(CONTAINER_FORMATS)}"
            )
        if not self.path.parent.exists():
            raise FileNotFoundError(f"{self.path}: folder {self.path.parent} does not exist")
        self.fps = fps if fps > 0 else 25.0
        self.codec, self.crf = codec, crf
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.frames = 0
        self._container: Any = None
        self._stream: Any = None
        self._size: tuple[int, int] | None = None

    def write(self, frame: np.ndarray, overlays: Sequence[Overlay] = ()) -> None:
        """Draw ``overlays`` on ``frame`` (uint8 ``[H, W, 3]`` RGB) and append it."""
        import av

        img = draw_overlays(frame, overlays) if overlays else np.ascontiguousarray(frame)
        h, w = img.shape[:2]
        if self._container is None:
            self._size = (w - w % 2, h - h % 2)  # yuv420p needs even sizes: drop a last odd row/column
            self._container = av.open(str(self.tmp), "w", format=self._format)
            self._stream = self._container.add_stream(self.codec, rate=Fraction(self.fps).limit_denominator(1001))
            self._stream.width, self._stream.height = self._size
            self._stream.pix_fmt = "yuv420p"
            if self.codec == "libx264":
                self._stream.options = {"crf": str(self.crf), "preset": "veryfast"}
        sw, sh = self._size  # type: ignore[misc]
        if (w - w % 2, h - h % 2) != (sw, sh):
            raise ValueError(f"{self.path}: frame {self.frames} is {w}x{h}; the video is {sw}x{sh}")
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:sh, :sw]), "rgb24")):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path | None:
        """Finish the file and move it into place; returns its path (``None`` when no frame was written)."""
        if self._container is None:
            return None
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        logger.info("annotated video %s: %d frames", self.path, self.frames)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; nothing is published."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 (the file is being thrown away)
                pass
            self._container = None
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoAnnotator:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def annotate_result(
    result: Any, out: str | Path, labels: dict[int, str] | None = None, include_dropped: bool = True
) -> Path | None:
    """Draw a finished pipeline result on its video.

    Args:
        result: A :class:`~gaitforge.preprocess.video.results.VideoResult` whose tracks keep their masks.
        out: Output video file.
        labels: Track id → text (identity); kept tracks without one get ``...``.
        include_dropped: Also draw dropped tracks, in grey, labelled with the reason.

    Returns:
        The written file (``None`` when the video had no frame).
    """
    from gaitforge.preprocess.video.decode import iter_frames

    labels = labels or {}
    where: dict[int, list[Overlay]] = {}
    for t in result.tracks:
        if not t.kept and not include_dropped:
            continue
        label = labels.get(t.track_id, "...") if t.kept else f"({t.reason})"
        for k, f in enumerate(t.frames.tolist()):
            mask = t.masks[k] if k < len(t.masks) else None
            where.setdefault(int(f), []).append(Overlay(t.track_id, t.boxes[k], mask, label, muted=not t.kept))
    fps = result.info.fps / max(1, result.stride) if result.info.fps > 0 else 25.0
    with VideoAnnotator(out, fps) as ann:
        for index, frame in iter_frames(result.path, result.stride, result.start_s, result.end_s):
            ann.write(frame, where.get(index, []))
    return Path(out) if ann.frames else None


def annotate_identify(
    out: str | Path, loaded: Sequence[Any], results: Sequence[Any], limits: Any = None
) -> Path | None:
    """``gaitforge identify --annotate``: draw the identified tracks of the one video among the inputs.

    The video is tracked again exactly as the identification tracked it (same defaults, same ``max_frames / fps``
    bound, hence the same track ids), and each kept track is labelled with its identity, ``unknown`` under the
    gallery's open-set threshold.

    Args:
        out: Output video file.
        loaded: The identified inputs (``provenance`` with ``video`` and ``track`` for video tracks).
        results: Their :class:`~gaitforge.retrieval.types.Identification`, in the same order.
        limits: The input limits of the identification (``max_frames``), if any.
    """
    from gaitforge.preprocess.video.decode import probe_video
    from gaitforge.preprocess.video.pipeline import extract_tracks

    videos = sorted({e.provenance["video"] for e in loaded if "video" in e.provenance and "track" in e.provenance})
    if len(videos) != 1:
        raise ValueError(
            f"--annotate {out}: needs exactly one video among the inputs, got {len(videos)}"
            + (f" ({', '.join(videos)})" if videos else "")
        )
    labels = {}
    for entry, res in zip(loaded, results):
        if entry.provenance.get("video") == videos[0]:
            best = res.matches[0].subject if res.matches else None
            labels[int(entry.provenance["track"])] = identity_label(best, res.known) if best else "unknown"
    end_s = None
    if limits is not None and getattr(limits, "max_frames", None):
        fps = probe_video(videos[0]).fps
        end_s = limits.max_frames / (fps if fps > 0 else 25.0)
    result = extract_tracks(videos[0], end_s=end_s)
    return annotate_result(result, out, labels)
