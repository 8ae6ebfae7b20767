"""Multi-object tracking by detection: a constant-velocity Kalman filter per person and Hungarian assignment.

In the spirit of SORT (Bewley et al., "Simple Online and Realtime Tracking", ICIP 2016): each track predicts its
box, predictions and detections are paired at minimum cost (``1 - IoU`` plus the centre distance in box heights,
pairs gated by distance and size change), unmatched detections start tentative tracks, a track is confirmed after
``min_hits`` matches and ends after ``max_misses`` frames without one. Two additions for foreground blobs: when
people overlap and their blobs merge, a detection that holds the predictions of two or more confirmed tracks is
split into those predictions (each track keeps its identity through the crossing), and tracks end with their
last matched frame (coasted frames are dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from gaitforge.preprocess.video.appearance import feature_similarity
from gaitforge.preprocess.video.assignment import linear_assignment
from gaitforge.preprocess.video.boxes import Detections, box_iou

__all__ = ["BoxKalman", "Match", "Tracker", "TrackRecord"]

logger = logging.getLogger(__name__)


class BoxKalman:
    """Kalman filter on ``[cx, cy, w, h, vx, vy]``: constant velocity for the centre, a random walk for the size
    (a walker's box width swings with every step, so a size velocity would only extrapolate the swing).
    Noise scales with the box height.

    Args:
        box: Initial box xyxy.
        pos_noise, size_noise: Measurement noise as fractions of the height (centre) and size (width, height).
        accel_noise: Process noise (acceleration per step) as a fraction of the height.
    """

    _F = np.eye(6)
    _F[0, 4] = _F[1, 5] = 1.0
    _H = np.eye(4, 6)

    def __init__(
        self, box: np.ndarray, pos_noise: float = 0.05, size_noise: float = 0.15, accel_noise: float = 0.02
    ) -> None:
        x1, y1, x2, y2 = (float(v) for v in box)
        self.x = np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, 0, 0], np.float64)
        h = max(self.x[3], 1.0)
        self.P = np.diag(np.square([0.1 * h, 0.1 * h, 0.2 * h, 0.1 * h, 0.1 * h, 0.1 * h]))
        self.pos_noise, self.size_noise, self.accel_noise = pos_noise, size_noise, accel_noise

    def predict(self) -> np.ndarray:
        """Advance one step; returns the predicted box xyxy."""
        h = max(self.x[3], 1.0)
        q = self.accel_noise * h
        Q = np.diag(np.square([0.5 * q, 0.5 * q, 2 * q, q, q, q]))
        self.x = self._F @ self.x
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)
        self.P = self._F @ self.P @ self._F.T + Q
        return self.box()

    def update(self, box: np.ndarray) -> None:
        """Correct with a measured box xyxy."""
        x1, y1, x2, y2 = (float(v) for v in box)
        z = np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])
        h = max(self.x[3], 1.0)
        R = np.diag(
            np.square(
                [self.pos_noise * h, self.pos_noise * h, self.size_noise * 2 * self.x[2] + 1, self.size_noise * h]
            )
        )
        S = self._H @ self.P @ self._H.T + R
        K = self.P @ self._H.T @ np.linalg.inv(S)
        self.x = self.x + K @ (z - self._H @ self.x)
        self.P = (np.eye(6) - K @ self._H) @ self.P

    def box(self) -> np.ndarray:
        """Current box xyxy (float32 ``[4]``)."""
        cx, cy, w, h = self.x[:4]
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


@dataclass
class TrackRecord:
    """One track's history.

    Attributes:
        track_id: Id, unique within the video (from 1).
        frames: Frame indices where the track was matched to a detection.
        boxes: The matched detection boxes xyxy, one per frame.
        split: Whether each box came from splitting a merged blob.
        features: The detection's appearance per frame (``None`` for split boxes or without features).
        confirmed: Whether it was ever confirmed.
    """

    track_id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    split: list[bool] = field(default_factory=list)
    features: list[np.ndarray | None] = field(default_factory=list)
    confirmed: bool = False

    def __len__(self) -> int:
        return len(self.frames)


class Match(NamedTuple):
    """A track matched in the current frame: its id, box xyxy, whether the box came from splitting merged
    foreground (``split``) and whether it is the track's own prediction (``guided``: split among tracks)."""

    track_id: int
    box: np.ndarray
    split: bool
    guided: bool


@dataclass
class _Live:
    record: TrackRecord
    kf: BoxKalman
    hits: int = 1
    misses: int = 0
    predicted: np.ndarray | None = None
    feature: np.ndarray | None = None
    looks: int = 0  # appearance updates so far


class Tracker:
    """Online multi-person tracker.

    Args:
        min_hits: Matches needed to confirm a track.
        max_misses: Frames a confirmed track survives without a match.
        max_distance: Largest centre distance of a pair, in track heights.
        max_size_change: Largest ``|log(h_det / h_track)|`` of a pair.
        split_overlap: A detection is split among confirmed tracks whose predicted box lies inside it at least
            this much (fraction of the predicted box's area), when there are two or more.
        appearance_weight: Weight of ``1 - similarity`` of appearance (when detections carry ``features``).
        min_similarity: Pairs less similar than this are forbidden once a track has been seen ``mature_looks`` times.
        mature_looks: Appearance updates after which a track's appearance gates its pairs.
        appearance_rate: Weight of a new look in the track's running appearance.
    """

    def __init__(
        self,
        min_hits: int = 3,
        max_misses: int = 10,
        max_distance: float = 0.6,
        max_size_change: float = 0.45,
        split_overlap: float = 0.4,
        appearance_weight: float = 1.0,
        min_similarity: float = 0.5,
        mature_looks: int = 3,
        appearance_rate: float = 0.1,
    ) -> None:
        self.min_hits, self.max_misses = int(min_hits), int(max_misses)
        self.max_distance, self.max_size_change, self.split_overlap = max_distance, max_size_change, split_overlap
        self.appearance_weight, self.min_similarity = appearance_weight, min_similarity
        self.mature_looks, self.appearance_rate = int(mature_looks), appearance_rate
        self._live: list[_Live] = []
        self._done: list[TrackRecord] = []
        self._next_id = 1

    def update(self, frame: int, dets: Detections) -> list[Match]:
        """Feed one frame's detections.

        Returns:
            A :class:`Match` for every track matched in this frame (tentative ones included).
        """
        for t in self._live:
            t.predicted = t.kf.predict()
        dets, guided = self._split_merged(dets)
        n, m = len(self._live), len(dets)
        cost = np.full((n, m), np.inf)
        if n and m:
            pred = np.stack([t.predicted for t in self._live])
            iou = box_iou(pred, dets.boxes)
            h_t = np.maximum(pred[:, 3] - pred[:, 1], 1.0)[:, None]
            c_t = np.stack([(pred[:, 0] + pred[:, 2]) / 2, (pred[:, 1] + pred[:, 3]) / 2], 1)
            c_d = np.stack([(dets.boxes[:, 0] + dets.boxes[:, 2]) / 2, (dets.boxes[:, 1] + dets.boxes[:, 3]) / 2], 1)
            dist = np.linalg.norm(c_t[:, None] - c_d[None], axis=2) / h_t
            size = np.abs(np.log(np.maximum(dets.boxes[:, 3] - dets.boxes[:, 1], 1.0)[None] / h_t))
            ok = (
                ((iou > 0.1) | (dist < self.max_distance))
                & (dist < 2 * self.max_distance)
                & (size < self.max_size_change)
            )
            cost = 1.0 - iou + dist
            if dets.features is not None:
                feats = [t.feature for t in self._live]
                known = np.array([f is not None for f in feats])
                if known.any():
                    sim = np.ones((n, m), np.float32)
                    sim[known] = feature_similarity(np.stack([f for f in feats if f is not None]), dets.features)
                    sim[:, guided] = 1.0  # a prediction has no appearance of its own
                    cost = cost + self.appearance_weight * (1.0 - sim)
                    mature = np.array([t.looks >= self.mature_looks for t in self._live])[:, None]
                    ok &= ~(mature & (sim < self.min_similarity))
            cost = np.where(ok, cost, np.inf)
        rows, cols = linear_assignment(cost)
        matched_tracks, matched_dets = set(rows.tolist()), set(cols.tolist())
        out: list[Match] = []
        for r, c in zip(rows, cols):
            t = self._live[r]
            box = dets.boxes[c]
            if not guided[c]:  # a guided split box is the prediction itself: nothing to correct with
                t.kf.update(box)
                if dets.features is not None and not dets.split[c]:
                    self._look(t, dets.features[c])
            t.hits += 1
            t.misses = 0
            t.record.confirmed |= t.hits >= self.min_hits
            clean = dets.features is not None and not dets.split[c] and not guided[c]
            self._append(t.record, frame, box, bool(dets.split[c]), dets.features[c] if clean else None)
            out.append(Match(t.record.track_id, box, bool(dets.split[c]), bool(guided[c])))
        survivors = []
        for i, t in enumerate(self._live):
            if i not in matched_tracks:
                t.misses += 1
                if not t.record.confirmed or t.misses > self.max_misses:
                    self._done.append(t.record)
                    continue
            survivors.append(t)
        self._live = survivors
        for c in range(m):
            if c not in matched_dets and not guided[c]:
                rec = TrackRecord(self._next_id, confirmed=self.min_hits <= 1)
                self._next_id += 1
                clean = dets.features is not None and not dets.split[c]
                self._append(rec, frame, dets.boxes[c], bool(dets.split[c]), dets.features[c] if clean else None)
                live = _Live(rec, BoxKalman(dets.boxes[c]))
                if dets.features is not None and not dets.split[c]:
                    self._look(live, dets.features[c])
                self._live.append(live)
                out.append(Match(rec.track_id, dets.boxes[c], bool(dets.split[c]), False))
        return out

    def expected(self, confirmed_only: bool = False) -> np.ndarray:
        """Where the live tracks (tentative ones too, unless ``confirmed_only``) are expected in the next frame
        (their filters' one-step predictions, state unchanged): float32 ``[K, 4]`` xyxy, e.g. hints for a
        detector."""
        boxes = []
        for t in self._live:
            if t.record.confirmed or not confirmed_only:
                cx, cy, w, h = (t.kf._F @ t.kf.x)[:4]
                boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        return np.asarray(boxes, np.float32).reshape(-1, 4)

    def correct(self, track_id: int, box: np.ndarray, measure: bool = True) -> None:
        """Replace the box recorded for ``track_id`` in the last frame by a better one (e.g. refined from its
        silhouette after a split); with ``measure``, also correct the track's filter with it."""
        for t in self._live:
            if t.record.track_id == track_id:
                t.record.boxes[-1] = np.asarray(box, np.float32).copy()
                if measure:
                    t.kf.update(box)
                return
        raise KeyError(f"tracker: no live track {track_id}")

    def finish(self) -> list[TrackRecord]:
        """End every track; returns all tracks (tentative ones too), ordered by id."""
        self._done.extend(t.record for t in self._live)
        self._live = []
        return sorted(self._done, key=lambda r: r.track_id)

    def _look(self, t: _Live, feature: np.ndarray) -> None:
        rate = max(self.appearance_rate, 1.0 / (t.looks + 1))
        t.feature = feature.copy() if t.feature is None else (1 - rate) * t.feature + rate * feature
        t.looks += 1

    @staticmethod
    def _append(rec: TrackRecord, frame: int, box: np.ndarray, split: bool, feature: np.ndarray | None) -> None:
        rec.frames.append(int(frame))
        rec.boxes.append(np.asarray(box, np.float32).copy())
        rec.split.append(split)
        rec.features.append(feature)

    def _split_merged(self, dets: Detections) -> tuple[Detections, np.ndarray]:
        """Replace a detection that holds two or more confirmed tracks' predictions, and is the best match of each
        of them, by those predictions.

        Returns:
            The detections and bool ``[N]``: box is a track's prediction (guided split).
        """
        confirmed = [t for t in self._live if t.record.confirmed and t.misses <= 2]
        if len(confirmed) < 2 or not len(dets):
            return dets, np.zeros(len(dets), bool)
        pred = np.stack([t.predicted for t in confirmed])
        area = np.maximum((pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1]), 1.0)
        best = np.argmax(box_iou(pred, dets.boxes), axis=1)  # each track's own best detection
        boxes, scores, split, guided, feats = [], [], [], [], []
        blank = None if dets.features is None else np.zeros(dets.features.shape[1], np.float32)
        for c, det in enumerate(dets.boxes):
            iw = np.clip(np.minimum(pred[:, 2], det[2]) - np.maximum(pred[:, 0], det[0]), 0, None)
            ih = np.clip(np.minimum(pred[:, 3], det[3]) - np.maximum(pred[:, 1], det[1]), 0, None)
            inside = np.flatnonzero((iw * ih >= self.split_overlap * area) & (best == c))
            if len(inside) < 2:
                boxes.append(det)
                scores.append(dets.scores[c])
                split.append(bool(dets.split[c]))
                guided.append(False)
                feats.append(None if dets.features is None else dets.features[c])
                continue
            for k in inside:
                b = pred[k].copy()
                b[[0, 2]] = b[[0, 2]].clip(det[0], det[2])
                b[[1, 3]] = b[[1, 3]].clip(det[1], det[3])
                boxes.append(b)
                scores.append(dets.scores[c])
                split.append(True)
                guided.append(True)
                feats.append(blank)
        features = None if dets.features is None else np.stack(feats)
        out = Detections(
            np.asarray(boxes, np.float32), np.asarray(scores, np.float32), np.asarray(split, bool), features
        )
        return out, np.asarray(guided, bool)
