"""People found and segmented by MediaPipe's BlazePose models, run directly through the LiteRT interpreter.

The models ship inside MediaPipe's wheel; ``make install`` copies them out of it into the environment
(:mod:`~gaitforge.preprocess.video.blazepose_fetch`), and they run with ``ai-edge-litert`` (a TFLite interpreter,
no MediaPipe runtime, so numpy 2 and protobuf 6+ are fine). MediaPipe's own pose solution finds a single person;
this module finds everyone.

* :class:`BlazePoseDetector`: the BlazePose person detector (``pose_detection.tflite``, 224×224 SSD with 2,254
  anchors, Bazarevsky et al., "BlazePose: On-device Real-time Body Pose tracking", CVPR-W 2020) applied to the
  whole frame and to overlapping square tiles (people a few tens of pixels tall are too small for it in the whole
  frame), decoded with its anchors, merged by non-maximum suppression across tiles; each candidate's full-body
  region (a square around the hip centre whose half side is the hip → body-scale keypoint distance, grown 1.25×)
  is then checked and measured by the landmark model (``pose_landmark_full.tflite``, 256×256: a pose-presence
  score, 33 landmarks and a person segmentation mask of the crop). The detection box is the segmented person's
  bounding box, so boxes are tight whole-body boxes.
* :class:`BlazePoseSegmenter`: the landmark model's segmentation on each given box's square crop.

Frames are uint8 RGB ``[H, W, 3]``; boxes float32 xyxy in frame pixels.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gaitforge.preprocess.video.boxes import Detections, box_iou, nms
from gaitforge.preprocess.video.segment import MaskCrop

__all__ = [
    "MODEL_DIR_ENV",
    "BlazePoseDetector",
    "BlazePoseKeypoints",
    "BlazePoseSegmenter",
    "PersonCrop",
    "blazepose_available",
    "blazepose_models",
    "detector_anchors",
]

logger = logging.getLogger(__name__)

_MODELS = {"detector": "pose_detection.tflite", "landmark": "pose_landmark_full.tflite"}
_IN_WHEEL = {
    "detector": "modules/pose_detection/pose_detection.tflite",
    "landmark": "modules/pose_landmark/pose_landmark_full.tflite",
}
#: Environment variable naming a folder with the two model files (overrides the other places).
MODEL_DIR_ENV = "GAITFORGE_BLAZEPOSE_DIR"
_INSTALL_HINT = (
    "the detector front end needs the BlazePose models and the ai-edge-litert interpreter: `make install` "
    "installs both (or `pip install ai-edge-litert` and `python -m gaitforge.preprocess.video.blazepose_fetch`; "
    "see docs/video.md)"
)


def blazepose_models() -> dict[str, Path]:
    """Paths of the BlazePose ``.tflite`` files: from ``$GAITFORGE_BLAZEPOSE_DIR``, else the environment's
    model folder (``<sys.prefix>/share/gaitforge/blazepose``, written by ``make install``), else an installed
    MediaPipe package (found, not imported).

    Raises:
        ImportError: the models are nowhere (the message says how to install them).
    """
    import os

    from gaitforge.preprocess.video.blazepose_fetch import default_model_dir

    places = []
    if os.environ.get(MODEL_DIR_ENV):
        places.append({k: Path(os.environ[MODEL_DIR_ENV]) / v for k, v in _MODELS.items()})
    else:
        places.append({k: default_model_dir() / v for k, v in _MODELS.items()})
        spec = importlib.util.find_spec("mediapipe")
        if spec is not None and spec.submodule_search_locations:
            root = Path(next(iter(spec.submodule_search_locations)))
            places.append({k: root / v for k, v in _IN_WHEEL.items()})
    for paths in places:
        if all(p.is_file() for p in paths.values()):
            return paths
    looked = ", ".join(str(next(iter(p.values())).parent) for p in places)
    raise ImportError(f"BlazePose models not found (looked in {looked}): {_INSTALL_HINT}")


def blazepose_available() -> bool:
    """Whether the models and the interpreter are installed (nothing is loaded)."""
    try:
        blazepose_models()
    except ImportError:
        return False
    return importlib.util.find_spec("ai_edge_litert") is not None


class _Tflite:
    """One ``.tflite`` model on the LiteRT interpreter (one thread)."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ImportError(f"ai-edge-litert is not installed: {_INSTALL_HINT}") from exc
        self.path = path
        self.interpreter: Any = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = self.interpreter.get_output_details()
        self.size = (int(self.input["shape"][1]), int(self.input["shape"][2]))  # (h, w)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        """``x`` float32 ``[1, h, w, 3]`` → the outputs (copies), in the model's order."""
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(o["index"]).copy() for o in self.outputs]


def detector_anchors(size: int = 224, strides: tuple[int, ...] = (8, 16, 32, 32, 32)) -> np.ndarray:
    """SSD anchor centres of the BlazePose detector (MediaPipe's ``SsdAnchorsCalculator`` settings for it: fixed
    anchor size, two anchors per layer and position, layers of equal stride sharing a grid).

    Returns:
        float32 ``[2254, 2]`` ``(x, y)`` in [0, 1] for the default settings.
    """
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n = 2 * (j - i)
        fm = int(np.ceil(size / strides[i]))
        ys, xs = np.meshgrid((np.arange(fm) + 0.5) / fm, (np.arange(fm) + 0.5) / fm, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], 1)
        out.append(np.repeat(centres, n, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


@dataclass
class PersonCrop:
    """What the landmark model says about one square crop.

    Attributes:
        presence: Pose-presence probability.
        mask: MaskCrop of the segmented person (uint8 0/255, in frame coordinates via its origin).
        box: float32 ``[4]`` bounding box of the mask (xyxy, frame pixels), ``None`` when the mask is empty.
        landmarks: float32 ``[33, 3]`` ``(x, y, visibility)`` in frame pixels.
    """

    presence: float
    mask: MaskCrop
    box: np.ndarray | None
    landmarks: np.ndarray


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _square_crop(frame: np.ndarray, cx: float, cy: float, side: float, size: int) -> tuple[np.ndarray, float, float]:
    """A square of ``side`` px centred on ``(cx, cy)`` (zero outside the frame) resized to ``size``; returns the
    crop and its top-left corner in frame pixels."""
    x0, y0 = cx - side / 2, cy - side / 2
    scale = size / side
    M = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
    crop = cv2.warpAffine(frame, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop, x0, y0


class _Landmarks:
    """The landmark model on square crops: presence, segmentation and landmarks."""

    def __init__(self, path: Path, threshold: float = 0.5) -> None:
        self.model = _Tflite(path)
        self.threshold = threshold
        shapes = [tuple(o["shape"]) for o in self.model.outputs]
        self._seg = next(k for k, s in enumerate(shapes) if len(s) == 4 and s[-1] == 1)
        self._flag = next(k for k, s in enumerate(shapes) if len(s) == 2 and s[-1] == 1)
        self._lm = next(k for k, s in enumerate(shapes) if len(s) == 2 and s[-1] == 195)

    def __call__(self, frame: np.ndarray, cx: float, cy: float, side: float) -> PersonCrop:
        height, width = frame.shape[:2]
        size = self.model.size[0]
        crop, x0, y0 = _square_crop(frame, cx, cy, side, size)
        outs = self.model((crop.astype(np.float32) / 255.0)[None])
        presence = float(outs[self._flag].reshape(-1)[0])  # already a probability (a sigmoid inside the model)
        lm = outs[self._lm].reshape(39, 5)[:33]
        scale = side / size
        landmarks = np.stack([lm[:, 0] * scale + x0, lm[:, 1] * scale + y0, _sigmoid(lm[:, 3])], 1).astype(np.float32)
        prob = _sigmoid(outs[self._seg][0, :, :, 0])
        # the crop's pixels inside the frame, mask resized to them
        fx0, fy0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
        fx1, fy1 = min(width, int(np.ceil(x0 + side))), min(height, int(np.ceil(y0 + side)))
        if fx1 <= fx0 or fy1 <= fy0:
            return PersonCrop(presence, MaskCrop(np.zeros((1, 1), np.uint8), (0, 0)), None, landmarks)
        M = np.array([[scale, 0, x0 - fx0], [0, scale, y0 - fy0]], np.float32)  # crop pixels → frame region
        full = cv2.warpAffine(prob, M, (fx1 - fx0, fy1 - fy0), flags=cv2.INTER_LINEAR, borderValue=0.0)
        mask = _person_component(full > self.threshold, landmarks, fx0, fy0)
        ys, xs = np.nonzero(mask)
        box = None
        if len(ys):
            box = np.array([xs.min() + fx0, ys.min() + fy0, xs.max() + 1 + fx0, ys.max() + 1 + fy0], np.float32)
        return PersonCrop(presence, MaskCrop(mask, (fx0, fy0)), box, landmarks)


class BlazePoseDetector:
    """Everyone in a frame, each with a whole-body box and a segmentation mask.

    Args:
        score_threshold: Detector score above which a candidate is checked.
        presence_threshold: Landmark-model presence above which a candidate is a person.
        tile: Side of the square tiles as a fraction of the frame's shorter side (0 = whole frame only).
        tile_overlap: Overlap of neighbouring tiles (fraction of the tile).
        nms_iou: Candidates overlapping more (IoU of their body squares) are one person.
        min_height: Smallest person (mask height, pixels).
        crop_scale: Side of the landmark crop over the box's longer side, for re-measuring a box.
        detect_every: With hints, the detector runs on every ``detect_every``-th call only.
        models: Model paths (default: from the installed MediaPipe wheel).
    """

    name = "blazepose"
    takes_hints = True

    def __init__(
        self,
        score_threshold: float = 0.5,
        presence_threshold: float = 0.5,
        tile: float = 0.4,
        tile_overlap: float = 0.3,
        nms_iou: float = 0.5,
        min_height: int = 24,
        crop_scale: float = 1.25,
        detect_every: int = 5,
        models: dict[str, Path] | None = None,
    ) -> None:
        paths = models or blazepose_models()
        self.detector = _Tflite(paths["detector"])
        self.landmarks = _Landmarks(paths["landmark"])
        self.anchors = detector_anchors(self.detector.size[0])
        self.score_threshold, self.presence_threshold = float(score_threshold), float(presence_threshold)
        self.tile, self.tile_overlap, self.nms_iou = float(tile), float(tile_overlap), float(nms_iou)
        self.min_height, self.crop_scale = int(min_height), float(crop_scale)
        self.detect_every = max(1, int(detect_every))
        self.last: list[PersonCrop] = []  # the people of the last frame, aligned with its detections
        self._count = 0

    def _windows(self, height: int, width: int) -> list[tuple[float, float, float]]:
        """Square windows ``(x0, y0, side)``: the whole frame (letterboxed) and the tiles."""
        side = float(max(height, width))
        wins = [((width - side) / 2, (height - side) / 2, side)]
        if self.tile > 0:
            t = self.tile * min(height, width)
            step = t * (1 - self.tile_overlap)
            for y in _starts(height, t, step):
                for x in _starts(width, t, step):
                    wins.append((x, y, t))
        return wins

    def candidates(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Body squares found by the detector over all windows, after NMS.

        Returns:
            float32 ``[N, 3]`` ``(cx, cy, side)`` of each body square (frame pixels) and their scores ``[N]``.
        """
        size = self.detector.size[0]
        found, scores = [], []
        for x0, y0, side in self._windows(*frame.shape[:2]):
            crop, _, _ = _square_crop(frame, x0 + side / 2, y0 + side / 2, side, size)
            raw, logit = self.detector((crop.astype(np.float32) / 127.5 - 1.0)[None])
            score = _sigmoid(logit.reshape(-1))
            keep = np.flatnonzero(score >= self.score_threshold)
            if not len(keep):
                continue
            r = raw.reshape(-1, 12)[keep]
            a = self.anchors[keep]
            hip = r[:, 4:6] / size + a  # keypoint 0: hip centre; keypoint 1: the full-body scale point
            top = r[:, 6:8] / size + a
            radius = np.linalg.norm(top - hip, axis=1)
            cx, cy = x0 + hip[:, 0] * side, y0 + hip[:, 1] * side
            found.append(np.stack([cx, cy, 2 * radius * side * self.crop_scale], 1))
            scores.append(score[keep])
        if not found:
            return np.zeros((0, 3), np.float32), np.zeros(0, np.float32)
        sq, sc = np.concatenate(found).astype(np.float32), np.concatenate(scores).astype(np.float32)
        keep = nms(_square_boxes(sq), sc, self.nms_iou)
        return sq[keep], sc[keep]

    def __call__(self, frame: np.ndarray, hints: np.ndarray | None = None) -> Detections:
        """People in a uint8 ``[H, W, 3]`` RGB frame: tight boxes of their masks (masks in :attr:`last`).

        Args:
            frame: The frame.
            hints: float32 ``[K, 4]`` boxes where people are expected (e.g. the tracker's predictions): each is
                checked by the landmark model directly, and the detector itself runs only every
                ``detect_every`` frames while hints are given (MediaPipe's own detect-then-track scheme).
        """
        hints = np.zeros((0, 4), np.float32) if hints is None else np.asarray(hints, np.float32).reshape(-1, 4)
        squares = np.zeros((0, 3), np.float32)
        scores = np.zeros(0, np.float32)
        if self._count % self.detect_every == 0 or not len(hints):
            squares, scores = self.candidates(frame)
        self._count += 1
        if len(hints):
            h = np.maximum(hints[:, 3] - hints[:, 1], hints[:, 2] - hints[:, 0])
            hs = np.stack([(hints[:, 0] + hints[:, 2]) / 2, (hints[:, 1] + hints[:, 3]) / 2, h * self.crop_scale], 1)
            if len(squares):  # a detector square on an expected person adds nothing
                dup = box_iou(_square_boxes(squares), _square_boxes(hs)).max(1) >= 0.6
                squares, scores = squares[~dup], scores[~dup]
            squares = np.concatenate([hs.astype(np.float32), squares])
            scores = np.concatenate([np.ones(len(hs), np.float32), scores])
        people, boxes, conf = [], [], []
        for (cx, cy, side), s in zip(squares, scores):
            p = self.landmarks(frame, float(cx), float(cy), float(side))
            if p.presence < self.presence_threshold or p.box is None or p.box[3] - p.box[1] < self.min_height:
                continue
            people.append(p)
            boxes.append(p.box)
            conf.append(float(s) * p.presence)
        if boxes:
            b, c = np.stack(boxes), np.asarray(conf, np.float32)
            keep = nms(b, c, 0.5)
            people = [people[k] for k in keep]
            dets = Detections(b[keep], c[keep])
        else:
            dets = Detections()
        self.last = people
        return dets

    def segment(self, frame: np.ndarray, boxes: np.ndarray) -> list[MaskCrop]:
        """Masks of the people in given boxes (float32 ``[N, 4]`` xyxy): the landmark model on a square crop
        ``crop_scale`` × each box's longer side."""
        out = []
        for b in np.asarray(boxes, np.float32).reshape(-1, 4):
            side = self.crop_scale * float(max(b[2] - b[0], b[3] - b[1], 1.0))
            out.append(self.landmarks(frame, float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2, side).mask)
        return out

    def foreground(self, height: int, width: int) -> np.ndarray:
        """The last frame's person masks pasted into one uint8 ``[H, W]`` mask (255 = person)."""
        out = np.zeros((height, width), np.uint8)
        for p in self.last:
            x0, y0 = p.mask.origin
            h, w = p.mask.mask.shape
            region = out[y0 : y0 + h, x0 : x0 + w]
            np.maximum(region, p.mask.mask[: region.shape[0], : region.shape[1]], out=region)
        return out


class BlazePoseSegmenter:
    """Person masks in given boxes from the landmark model's segmentation output.

    For a box that a :class:`BlazePoseDetector` found in the same frame (IoU ≥ 0.7 with one of its boxes), its
    mask is reused; otherwise the model runs on a square crop ``crop_scale`` × the box's longer side.

    Args:
        detector: A detector whose last frame's masks may be reused (optional).
        crop_scale: Crop side over the box's longer side.
        threshold: Mask probability threshold.
        models: Model paths (default: from the installed MediaPipe wheel).
    """

    name = "blazepose_seg"

    def __init__(
        self,
        detector: BlazePoseDetector | None = None,
        crop_scale: float = 1.25,
        threshold: float = 0.5,
        models: dict[str, Path] | None = None,
    ) -> None:
        self.detector = detector
        self.landmarks = (
            detector.landmarks
            if detector is not None
            else _Landmarks((models or blazepose_models())["landmark"], threshold)
        )
        self.crop_scale = float(crop_scale)

    def people(self, frame: np.ndarray, boxes: np.ndarray) -> list[PersonCrop]:
        """Landmark-model results for each box (float32 ``[N, 4]`` xyxy)."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        last = self.detector.last if self.detector is not None else []
        reuse = box_iou(boxes, np.stack([p.box for p in last])) if last and len(boxes) else None
        out = []
        for i, b in enumerate(boxes):
            if reuse is not None and reuse[i].max() >= 0.7:
                out.append(last[int(reuse[i].argmax())])
                continue
            side = self.crop_scale * float(max(b[2] - b[0], b[3] - b[1], 1.0))
            out.append(self.landmarks(frame, float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2, side))
        return out

    def __call__(self, frame: np.ndarray, boxes: np.ndarray) -> list[MaskCrop]:
        """One mask crop per box of a uint8 ``[H, W, 3]`` RGB frame."""
        return [p.mask for p in self.people(frame, boxes)]


_TORSO = np.array([11, 12, 23, 24])  # shoulders and hips of the 33 BlazePose landmarks


def _person_component(fg: np.ndarray, landmarks: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """The segmentation is of every person in the crop: keep the regions holding the analysed person's torso
    landmarks (the largest region when none does); uint8 0/255."""
    n, labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    if n <= 2:
        return np.where(fg, np.uint8(255), np.uint8(0))
    h, w = fg.shape
    pts = np.round(landmarks[_TORSO, :2] - [x0, y0]).astype(np.int64)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    hit = labels[pts[inside, 1], pts[inside, 0]]
    hit = hit[hit > 0]
    if len(hit):
        keep = np.bincount(hit, minlength=n).argmax()
    else:
        keep = np.bincount(labels.ravel(), minlength=n)[1:].argmax() + 1
    return np.where(labels == keep, np.uint8(255), np.uint8(0))


class BlazePoseKeypoints:
    """COCO-17 keypoints of given person boxes from the BlazePose landmark model on LiteRT, in the main
    environment (a :class:`~gaitforge.preprocess.pose_backends.PoseBackend` without heatmaps; ``--pose blazepose``).

    Unlike :class:`~gaitforge.preprocess.pose_backends.MediaPipePose` (MediaPipe's solutions graph, its own venv),
    no person detector runs per crop: the landmark model gets a square crop ``crop_scale`` × each box's longer side
    around the box centre. The 33 landmarks map to COCO-17 as there (``BLAZEPOSE_TO_COCO``); the confidence is the
    landmark's visibility; a crop whose pose presence is below ``presence_threshold`` gives 17 joints ``(0, 0, 0)``.

    Args:
        crop_scale: Crop side over the box's longer side.
        presence_threshold: Pose-presence probability below which the person counts as not found.
        models: Model paths (default: the installed ones).
    """

    name = "blazepose_keypoints"

    def __init__(
        self, crop_scale: float = 1.25, presence_threshold: float = 0.5, models: dict[str, Path] | None = None
    ) -> None:
        self.landmarks = _Landmarks((models or blazepose_models())["landmark"])
        self.crop_scale, self.presence_threshold = float(crop_scale), float(presence_threshold)

    def estimate(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, None]:
        """``frame_rgb`` uint8 ``[H, W, 3]``, ``boxes`` float32 ``[N, 4]`` xyxy → keypoints float32 ``[N, 17, 3]``
        (x, y in image pixels, confidence) and ``None`` (no heatmaps)."""
        from gaitforge.preprocess.pose_backends.mediapipe_pose import BLAZEPOSE_TO_COCO

        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        out = np.zeros((len(boxes), 17, 3), np.float32)
        for i, b in enumerate(boxes):
            side = self.crop_scale * float(max(b[2] - b[0], b[3] - b[1], 1.0))
            p = self.landmarks(frame_rgb, float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2, side)
            if p.presence >= self.presence_threshold:
                out[i] = p.landmarks[list(BLAZEPOSE_TO_COCO)]
        return out, None


def _starts(length: int, tile: float, step: float) -> list[float]:
    if tile >= length:
        return [(length - tile) / 2]
    n = int(np.ceil((length - tile) / step)) + 1
    return list(np.linspace(0, length - tile, n))


def _square_boxes(sq: np.ndarray) -> np.ndarray:
    h = sq[:, 2] / 2
    return np.stack([sq[:, 0] - h, sq[:, 1] - h, sq[:, 0] + h, sq[:, 1] + h], 1)
