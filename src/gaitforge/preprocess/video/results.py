"""What the video pipeline returns: per-track results, per-video results, their sequences and summaries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gaitforge.data.sequence import Sequence
from gaitforge.preprocess.video.decode import VideoInfo
from gaitforge.preprocess.video.segment import MaskCrop

__all__ = ["TrackResult", "VideoResult", "video_id_for"]

#: ``condition`` and ``view`` of sequences cut from videos (identity and view are unknown).
VIDEO_CONDITION = "video"
VIDEO_VIEW = "unknown"


def video_id_for(path: str) -> str:
    """A store-safe name for a video: its file stem with anything but letters, digits, ``.``, ``_``, ``-`` replaced."""
    stem = re.sub(r"\.[^.]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1])
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "video"


@dataclass
class TrackResult:
    """One confirmed track.

    Attributes:
        track_id: Id within the video (from 1).
        frames: int64 ``[T]`` frame indices (decoding order from the file's first frame) with a detection.
        boxes: float32 ``[T, 4]`` detection boxes xyxy in frame pixels.
        split: bool ``[T]``: box from a split of merged foreground.
        masks: ``T`` silhouette crops at frame resolution (the default's, or the segmenter's).
        reason: Why the track was dropped (``None`` = kept); see :func:`~gaitforge.preprocess.video.filters.check_track`
            and ``too_few_silhouettes`` (fewer than ``min_frames`` frames left after pretreatment).
        detail: The measured value behind ``reason`` (or the motion of a kept track).
        sil: uint8 ``[T', 64, 64]`` pretreated silhouettes of a kept track.
        sil_index: int64 ``[T']`` positions in ``frames`` of the silhouettes.
        pose: float32 ``[T', 17, 3]`` keypoints in frame pixels (when a pose estimator ran).
        heatmap: float16 ``[T', 17, h, w]`` (when the estimator returns heatmaps).
        frame_drops: Frames of a kept track left out of its sequence, per reason (``border``: the box touches the
            frame edge; ``size_outlier``: the box is far from the track's running median size; ``pretreatment``).
    """

    track_id: int
    frames: np.ndarray
    boxes: np.ndarray
    split: np.ndarray
    masks: list[MaskCrop]
    reason: str | None = None
    detail: str = ""
    sil: np.ndarray | None = None
    sil_index: np.ndarray | None = None
    pose: np.ndarray | None = None
    heatmap: np.ndarray | None = None
    frame_drops: dict[str, int] = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        return self.reason is None


@dataclass
class VideoResult:
    """Everything found in one video.

    Attributes:
        path: The video file.
        video_id: Store-safe name of the video (sequence subjects are ``<video_id>-t<track>``).
        info: Stream header.
        stride, start_s, end_s: The processed range.
        frames_processed: Frames run through detection and tracking.
        seconds: Wall time.
        tracks: Confirmed tracks, kept and dropped.
        unconfirmed: Tentative tracks that never reached confirmation (detector noise).
        components: Names of the background model, detector, segmenter and pose estimator used.
        sheet_frames: Decoded frames picked for the contact sheet (index → uint8 ``[H, W, 3]`` RGB).
    """

    path: str
    video_id: str
    info: VideoInfo
    stride: int
    start_s: float | None
    end_s: float | None
    frames_processed: int = 0
    seconds: float = 0.0
    tracks: list[TrackResult] = field(default_factory=list)
    unconfirmed: int = 0
    components: dict[str, str] = field(default_factory=dict)
    sheet_frames: dict[int, np.ndarray] = field(default_factory=dict)

    def kept(self) -> list[TrackResult]:
        """Tracks that became sequences."""
        return [t for t in self.tracks if t.kept]

    def sequences(self) -> list[Sequence]:
        """One :class:`~gaitforge.data.sequence.Sequence` per kept track.

        ``subject`` is ``<video_id>-t<track id, 4 digits>``, ``condition`` ``"video"``, ``view`` ``"unknown"``;
        modalities ``sil`` uint8 ``[T, 64, 64]`` and, with a pose estimator, ``pose`` float32 ``[T, 17, 3]`` (frame
        pixels) and ``heatmap`` float16 ``[T, 17, h, w]``; ``meta`` holds the provenance (video path, fps, stride,
        frame indices and boxes per frame, track id, components).
        """
        out = []
        for t in self.kept():
            assert t.sil is not None and t.sil_index is not None
            idx = t.sil_index
            modalities: dict[str, np.ndarray] = {"sil": t.sil}
            if t.pose is not None:
                modalities["pose"] = t.pose
            if t.heatmap is not None:
                modalities["heatmap"] = t.heatmap
            meta: dict[str, Any] = {
                "source": "video",
                "generator": "gaitforge.preprocess.video",
                "video": self.path,
                "video_id": self.video_id,
                "track_id": t.track_id,
                "fps": self.info.fps,
                "stride": self.stride,
                "frame_size": [self.info.height, self.info.width],
                "frame_indices": t.frames[idx].tolist(),
                "boxes": np.round(t.boxes[idx], 1).tolist(),
                "pretreatment": "opengait",
                **{k: v for k, v in self.components.items()},
            }
            out.append(Sequence(f"{self.video_id}-t{t.track_id:04d}", VIDEO_CONDITION, VIDEO_VIEW, modalities, meta))
        return out

    def summary(self) -> dict[str, Any]:
        """A JSON-ready account: video, range, tracks kept (frames each) and dropped (with the reason)."""
        kept = [
            {
                "track_id": t.track_id,
                "frames": int(len(t.sil_index)),
                "first": int(t.frames[0]),
                "last": int(t.frames[-1]),
                "frames_dropped": dict(t.frame_drops),
                "key": f"{self.video_id}-t{t.track_id:04d}/{VIDEO_CONDITION}/{VIDEO_VIEW}",
            }
            for t in self.kept()
            if t.sil_index is not None
        ]
        dropped = [
            {"track_id": t.track_id, "frames": int(len(t.frames)), "reason": t.reason, "detail": t.detail}
            for t in self.tracks
            if not t.kept
        ]
        reasons: dict[str, int] = {}
        for d in dropped:
            reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
        return {
            "video": self.path,
            "video_id": self.video_id,
            "size": [self.info.width, self.info.height],
            "fps": self.info.fps,
            "stride": self.stride,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "frames_processed": self.frames_processed,
            "seconds": round(self.seconds, 2),
            "tracks_confirmed": len(self.tracks),
            "tracks_kept": len(kept),
            "tentative_discarded": self.unconfirmed,
            "dropped_by_reason": reasons,
            "kept": kept,
            "dropped": dropped,
            "components": dict(self.components),
        }
