"""Annotated videos: drawing, atomic writing, a finished result drawn, ``gaitforge identify --annotate``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gaitforge.preprocess.video import extract_tracks, iter_frames, probe_video
from gaitforge.preprocess.video.annotate import (
    Overlay,
    VideoAnnotator,
    annotate_identify,
    annotate_result,
    draw_overlays,
    identity_label,
)
from gaitforge.preprocess.video.segment import MaskCrop
from gaitforge.synth.video import SceneConfig, make_synthetic_video

SCENE = SceneConfig(
    width=320, height=240, frames=50, fps=10.0, n_people=2, seed=4, camera_distance_m=7.0, depth_range_m=(-1.0, 1.5)
)


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("annotate") / "street.mp4"
    make_synthetic_video(path, SCENE)
    return path


def test_identity_labels() -> None:
    assert identity_label(None, None) == "..."
    assert identity_label("ann", True) == "ann"
    assert identity_label("ann", False) == "unknown"
    assert identity_label("ann", None) == "ann?"


def test_draw_overlays_outlines_the_silhouette_and_boxes_the_person() -> None:
    frame = np.full((100, 120, 3), 128, np.uint8)
    mask = np.zeros((40, 20), np.uint8)
    mask[5:35, 5:15] = 255
    out = draw_overlays(frame, [Overlay(3, np.array([40, 30, 70, 80], np.float32), MaskCrop(mask, (45, 35)), "ann")])
    changed = (out != frame).any(-1)
    assert (frame == 128).all()  # the input is untouched
    assert changed[40:70, 50].any() and changed[40:70, 59].any()  # left and right edges of the silhouette
    assert not changed[50, 53:57].any()  # its inside is not painted
    assert changed[55, 40] and changed[55, 70]  # the box sides
    assert changed[:30].any()  # the label above the box


def test_annotator_publishes_only_a_finished_video(tmp_path: Path) -> None:
    frames = [np.full((49, 65, 3), 10 * i, np.uint8) for i in range(12)]  # odd size: cropped to even
    out = tmp_path / "a.mp4"
    with VideoAnnotator(out, 10.0) as ann:
        for f in frames:
            ann.write(f)
            assert not out.exists()  # nothing at the target until closed
    info = probe_video(out)
    assert (info.width, info.height, info.frames) == (64, 48, 12)
    failed = tmp_path / "b.mp4"
    with pytest.raises(RuntimeError):
        with VideoAnnotator(failed, 10.0) as ann:
            ann.write(frames[0])
            raise RuntimeError("stop")
    assert not failed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]
    with pytest.raises(ValueError, match="unknown video suffix"):
        VideoAnnotator(tmp_path / "x.gif", 10.0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        VideoAnnotator(tmp_path / "no" / "x.mp4", 10.0)


def test_annotate_result_draws_every_frame_of_the_video(street: Path, tmp_path: Path) -> None:
    result = extract_tracks(street, min_frames=10)
    assert result.kept()
    labels = {t.track_id: f"person{t.track_id}" for t in result.kept()}
    out = annotate_result(result, tmp_path / "drawn.mkv", labels)
    assert out is not None and sum(1 for _ in iter_frames(out)) == SCENE.frames
    t = result.kept()[0]
    k = len(t.frames) // 2
    f = int(t.frames[k])
    drawn = dict(iter_frames(out, frames={f}))[f].astype(int)
    plain = dict(iter_frames(street, frames={f}))[f].astype(int)
    x1, y1, x2, y2 = (int(v) for v in t.boxes[k])
    diff = np.abs(drawn - plain).max(-1)
    away = diff[y2 + 10 :, :].ravel() if y2 + 10 < diff.shape[0] else diff[: max(1, y1 - 30)].ravel()
    assert np.median(diff[y1:y2, x1]) > 10 + 3 * np.median(away)  # the box edge is drawn, beyond coding noise


def test_annotate_identify_labels_tracks_by_identity(street: Path, tmp_path: Path) -> None:
    result = extract_tracks(street)
    kept = [t.track_id for t in result.kept()]
    assert len(kept) >= 2
    video = str(street.resolve())
    loaded = [SimpleNamespace(provenance={"video": video, "track": tid}) for tid in kept]
    results = [
        SimpleNamespace(matches=[SimpleNamespace(subject="ann")], known=True),
        SimpleNamespace(matches=[SimpleNamespace(subject="bob")], known=False),
    ] + [SimpleNamespace(matches=[], known=None)] * (len(kept) - 2)
    out = annotate_identify(tmp_path / "id.mp4", loaded, results)
    assert out is not None and probe_video(out).frames == SCENE.frames
    with pytest.raises(ValueError, match="exactly one video"):
        annotate_identify(tmp_path / "none.mp4", [SimpleNamespace(provenance={"source": "x"})], results[:1])
    assert not (tmp_path / "none.mp4").exists()


def test_cli_identify_annotate(street: Path, micro_world: Path, tmp_path: Path) -> None:
    from gaitforge.cli import main
    from gaitforge.engine.trainer import train
    from tests.conftest import micro_config

    run = tmp_path / "run"
    train(micro_config(micro_world, iterations=2), run, progress=False)
    gallery = tmp_path / "gallery"
    assert main(["-q", "enroll", str(street), "--model", str(run), "--gallery", str(gallery), "--subject",
                 "walkers", "--all-tracks"]) == 0  # fmt: skip
    out = tmp_path / "identified.mp4"
    rc = main(["-q", "identify", str(street), "--model", str(run), "--gallery", str(gallery), "--annotate",
               str(out), "--json"])  # fmt: skip
    assert rc == 0
    assert probe_video(out).frames == SCENE.frames
