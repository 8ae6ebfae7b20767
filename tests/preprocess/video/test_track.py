"""The tracker: Kalman prediction, birth and death, identities kept through a crossing with merged blobs."""

from __future__ import annotations

import numpy as np

from gaitforge.preprocess.video.appearance import colour_features, feature_similarity
from gaitforge.preprocess.video.boxes import Detections
from gaitforge.preprocess.video.track import BoxKalman, Tracker


def _box(cx: float, bottom: float, h: float = 80.0, w: float = 30.0) -> list[float]:
    return [cx - w / 2, bottom - h, cx + w / 2, bottom]


def test_kalman_learns_constant_velocity() -> None:
    kf = BoxKalman(np.array(_box(100, 200)))
    for t in range(1, 15):
        kf.predict()
        kf.update(np.array(_box(100 + 5 * t, 200)))
    pred = kf.predict()
    assert abs((pred[0] + pred[2]) / 2 - 175) < 2.0  # next centre: 100 + 5 * 15
    assert abs((pred[3] - pred[1]) - 80) < 2.0


def test_birth_needs_min_hits_and_tracks_end_after_misses() -> None:
    tracker = Tracker(min_hits=3, max_misses=2)
    for f in range(3):
        tracker.update(f, Detections([_box(100 + 4 * f, 200)], [1.0]))
    tracker.update(3, Detections([], []))  # a one-frame miss: kept
    matched = tracker.update(4, Detections([_box(116, 200)], [1.0]))
    assert [m.track_id for m in matched] == [1]
    for f in range(5, 9):
        tracker.update(f, Detections([], []))
    tracker.update(9, Detections([_box(300, 200)], [1.0]))  # someone new, far away
    tracks = tracker.finish()
    assert [(t.track_id, t.frames, t.confirmed) for t in tracks] == [(1, [0, 1, 2, 4], True), (2, [9], False)]


def test_identities_survive_a_crossing_with_merged_detections() -> None:
    tracker = Tracker()
    n = 40
    for f in range(n):
        a, b = 60 + 6 * f, 300 - 6 * f  # walking towards each other, crossing around frame 20
        ba, bb = _box(a, 200), _box(b, 205)
        if abs(a - b) < 40:  # one merged foreground blob
            merged = [min(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), max(ba[3], bb[3])]
            dets = Detections([merged], [1.0])
        else:
            dets = Detections([ba, bb], [1.0, 1.0])
        tracker.update(f, dets)
    tracks = [t for t in tracker.finish() if t.confirmed]
    assert len(tracks) == 2
    for t in tracks:
        centres = [(b[0] + b[2]) / 2 for b in t.boxes]
        direction = np.sign(np.diff(centres))
        assert (direction == direction[0]).all()  # each track keeps walking one way: no identity switch
        assert len(t.frames) == n
        assert any(t.split)  # the merged frames were split between the two


def test_appearance_features() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[10:50, 10:30] = (200, 30, 30)
    frame[10:50, 60:80] = (30, 30, 200)
    boxes = np.array([[10, 10, 30, 50], [60, 10, 80, 50], [12, 12, 28, 48]], np.float32)
    f = colour_features(frame, None, boxes)
    sim = feature_similarity(f, f)
    assert np.allclose(np.diag(sim), 1.0, atol=1e-5)
    assert sim[0, 2] > 0.99 and sim[0, 1] < 0.1
    assert colour_features(frame, None, np.zeros((0, 4), np.float32)).shape == (0, 3 * 64)
    assert feature_similarity(f, f[:0]).shape == (3, 0)
