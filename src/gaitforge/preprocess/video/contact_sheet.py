"""A contact sheet per video, to check the tracks at a glance.

Top: a few frames of the video with every confirmed track's box (kept tracks in their own colour with their path
over the last 3 seconds, dropped ones in grey with a cross and the reason). Below: one strip per kept track with its
pretreated silhouettes sampled along the track, then the list of dropped tracks and why.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gaitforge.preprocess.video.results import TrackResult, VideoResult
from gaitforge.utils.atomic import atomic_write_bytes

__all__ = ["render_contact_sheet", "save_contact_sheet", "track_colour"]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_GREY = (150, 150, 150)


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A bright RGB colour per track id (golden-angle hues)."""
    hsv = np.uint8([[[int(track_id * 137.508) % 180, 230, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])  # type: ignore[return-value]


def _text(img: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int], scale: float = 0.5) -> None:
    cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, colour, 1, cv2.LINE_AA)


def _draw_frame(frame: np.ndarray, index: int, tracks: list[TrackResult], width: int, trail: int) -> np.ndarray:
    scale = width / frame.shape[1]
    img = cv2.resize(frame, (width, int(round(frame.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    for t in tracks:
        k = int(np.searchsorted(t.frames, index))
        if k >= len(t.frames) or t.frames[k] != index:
            continue
        x1, y1, x2, y2 = (int(round(v * scale)) for v in t.boxes[k])
        if t.kept:
            colour = track_colour(t.track_id)
            recent = slice(int(np.searchsorted(t.frames, index - trail)), k + 1)
            path = np.stack([(t.boxes[recent, 0] + t.boxes[recent, 2]) / 2, t.boxes[recent, 3]], 1) * scale
            cv2.polylines(img, [np.round(path).astype(np.int32)], False, colour, 1, cv2.LINE_AA)
            cv2.rectangle(img, (x1, y1), (x2, y2), colour, 2)
            _text(img, f"#{t.track_id}", (x1, max(12, y1 - 4)), colour)
        else:
            cv2.rectangle(img, (x1, y1), (x2, y2), _GREY, 1)
            cv2.line(img, (x1, y1), (x2, y2), _GREY, 1)
            cv2.line(img, (x1, y2), (x2, y1), _GREY, 1)
            _text(img, f"#{t.track_id} {t.reason}", (x1, max(12, y1 - 4)), _GREY, 0.4)
    _text(img, f"frame {index}", (6, 18), (255, 255, 255))
    return img


def render_contact_sheet(result: VideoResult, columns: int = 2, frame_width: int = 480, strip: int = 12) -> np.ndarray:
    """The contact sheet of one video as uint8 ``[H, W, 3]`` RGB.

    Args:
        result: A pipeline result with ``sheet_frames`` (see ``VideoOptions.sheet_frames``).
        columns: Frames per row.
        frame_width: Width of each frame on the sheet.
        strip: Silhouettes shown per kept track.
    """
    width = columns * frame_width
    blocks: list[np.ndarray] = []
    title = np.zeros((30, width, 3), np.uint8)
    s = result.summary()
    _text(
        title,
        f"{result.video_id}: {s['frames_processed']} frames, {s['tracks_confirmed']} tracks, {s['tracks_kept']} kept",
        (8, 21),
        (255, 255, 255),
        0.6,
    )
    blocks.append(title)
    trail = int(round(3 * (result.info.fps or 25.0)))  # the last 3 seconds of each path
    frames = [
        _draw_frame(result.sheet_frames[i], i, result.tracks, frame_width, trail) for i in sorted(result.sheet_frames)
    ]
    for r in range(0, len(frames), columns):
        row = frames[r : r + columns]
        row += [np.zeros_like(frames[0])] * (columns - len(row))
        blocks.append(np.concatenate(row, 1))
    cell = 64
    for t in result.kept():
        if t.sil is None or t.sil_index is None:
            continue
        band = np.zeros((cell + 24, width, 3), np.uint8)
        colour = track_colour(t.track_id)
        _text(band, f"#{t.track_id}: {len(t.sil)} silhouettes, frames {t.frames[0]}-{t.frames[-1]}", (6, 16), colour)
        picks = np.linspace(0, len(t.sil) - 1, min(strip, len(t.sil), width // (cell + 4))).round().astype(int)
        for j, p in enumerate(picks):
            x = 6 + j * (cell + 4)
            band[22 : 22 + cell, x : x + cell] = t.sil[p][..., None]
            cv2.rectangle(band, (x - 1, 21), (x + cell, 22 + cell), colour, 1)
        blocks.append(band)
    dropped = [t for t in result.tracks if not t.kept]
    if dropped:
        lines = [f"#{t.track_id} dropped ({len(t.frames)} frames): {t.reason}, {t.detail}" for t in dropped]
        band = np.zeros((10 + 18 * len(lines), width, 3), np.uint8)
        for j, line in enumerate(lines):
            _text(band, line[:140], (6, 18 + 18 * j), _GREY, 0.45)
        blocks.append(band)
    return np.concatenate(blocks, 0)


def save_contact_sheet(path: str | Path, result: VideoResult, **kwargs: int) -> Path:
    """Render the contact sheet and write it as PNG (atomically); returns the path."""
    image = render_contact_sheet(result, **kwargs)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: PNG encoding of the contact sheet failed")
    return atomic_write_bytes(path, png.tobytes())
