"""From videos to gait sequences: decoding, background modelling, detection, tracking, silhouettes, pose hook.

The embedded default needs no downloaded weights: a static-camera background model finds the moving people,
foreground blobs become person boxes, a Kalman/Hungarian tracker links them over time, and each kept track's
foreground crops are pretreated the field's way. ONNX detectors, segmenters and pose estimators plug in.

Example::

    from gaitforge.preprocess.video import extract_sequences, process_videos
    seqs = extract_sequences("street.mp4")            # list[Sequence], one per walking person
    process_videos(["a.mp4", "b.mp4"], "store/", workers=2, sheets_dir="sheets/")
"""

from __future__ import annotations

from gaitforge.preprocess.video.background import BackgroundModel, MedianBackground, Mog2Background, make_background
from gaitforge.preprocess.video.blobs import BlobDetector
from gaitforge.preprocess.video.boxes import Detections, box_iou, nms
from gaitforge.preprocess.video.contact_sheet import render_contact_sheet, save_contact_sheet
from gaitforge.preprocess.video.decode import VideoDecodeError, VideoInfo, iter_frames, probe_video
from gaitforge.preprocess.video.encode import write_video
from gaitforge.preprocess.video.evaluate import evaluate_tracks
from gaitforge.preprocess.video.filters import TrackFilter, check_track
from gaitforge.preprocess.video.onnx_detector import OnnxDetector
from gaitforge.preprocess.video.onnx_segmenter import OnnxSegmenter
from gaitforge.preprocess.video.pipeline import Detector, VideoOptions, extract_sequences, extract_tracks
from gaitforge.preprocess.video.pose import PoseEstimator
from gaitforge.preprocess.video.results import TrackResult, VideoResult
from gaitforge.preprocess.video.runner import load_summary, process_videos
from gaitforge.preprocess.video.segment import ForegroundSilhouettes, MaskCrop, Segmenter, person_masks
from gaitforge.preprocess.video.track import Tracker

__all__ = [
    "BackgroundModel",
    "BlobDetector",
    "Detections",
    "Detector",
    "ForegroundSilhouettes",
    "MaskCrop",
    "MedianBackground",
    "Mog2Background",
    "OnnxDetector",
    "OnnxSegmenter",
    "PoseEstimator",
    "Segmenter",
    "TrackFilter",
    "TrackResult",
    "Tracker",
    "VideoDecodeError",
    "VideoInfo",
    "VideoOptions",
    "VideoResult",
    "box_iou",
    "check_track",
    "evaluate_tracks",
    "extract_sequences",
    "extract_tracks",
    "iter_frames",
    "load_summary",
    "make_background",
    "nms",
    "person_masks",
    "probe_video",
    "process_videos",
    "render_contact_sheet",
    "save_contact_sheet",
    "write_video",
]
