"""A top-down heatmap pose estimator exported to ONNX, run with ONNX Runtime.

Works with the usual COCO-17 top-down networks (HRNet, Sun et al., CVPR 2019; ViTPose, Xu et al., NeurIPS 2022;
mmpose / timm exports) that take a normalised RGB crop ``[N, 3, 256, 192]`` and return heatmaps
``[N, 17, 64, 48]``. Per person box:

1. the box is grown to the crop's aspect ratio and enlarged ×``box_scale`` (1.25), and the crop is cut with that
   affine (:func:`gaitforge.preprocess.heatmaps.box_to_crop_affine`, bilinear, zero outside the frame);
2. pixels are scaled to ``[0, 1]`` and normalised with ``mean`` / ``std`` (ImageNet's by default);
3. the network runs (batched);
4. each heatmap is decoded by argmax with log-parabola sub-pixel refinement
   (:func:`gaitforge.preprocess.heatmaps.decode_heatmaps`), mapped to crop pixels
   (``stride · h + offset``) and back to the image through the inverse crop affine. The confidence is the
   heatmap's maximum.

The heatmaps are returned as well (float16, crop coordinates): GaitHeat-style models consume them, after
:func:`gaitforge.preprocess.heatmaps.rgb_space_heatmaps` with the crop affines from :meth:`crop_affines`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gaitforge.preprocess.heatmaps import (
    CROP_SIZE,
    apply_affine,
    box_to_crop_affine,
    decode_heatmaps,
    invert_affine,
)

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "OnnxTopDownEstimator"]

logger = logging.getLogger(__name__)

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class OnnxTopDownEstimator:
    """Top-down pose estimation with an ONNX heatmap network (a
    :class:`~gaitforge.preprocess.pose_backends.PoseBackend`).

    Args:
        model_path: The ``.onnx`` file: one image input ``[N, 3, H, W]``, heatmaps ``[N, K, h, w]`` as output
            ``output_index``.
        input_size: Crop ``(height, width)`` the network takes.
        box_scale: Enlargement of the aspect-fixed box (1.25 in HRNet / ViTPose / mmpose).
        mean, std: Per-channel normalisation of RGB values in ``[0, 1]``.
        heatmap_offset: Crop coordinate of heatmap cell 0's centre; ``None`` for ``(stride − 1) / 2`` (a cell
            is the mean of ``stride`` crop pixels). Use 0 for networks decoded the MSRA way (``crop = stride · h``).
        batch_size: Crops per network call (a network with a fixed batch dimension sets its own).
        output_index: Which output holds the heatmaps.
        providers: ONNX Runtime execution providers (default: CPU).
        threads: Intra-op threads (one per video worker by default, like the detector and segmenter).

    Raises:
        FileNotFoundError: No file at ``model_path``.
        ValueError: The file is not a loadable ONNX model, or the network's input is not an image
            ``[N, 3, H, W]`` of ``input_size``.
    """

    def __init__(
        self,
        model_path: str | Path,
        input_size: tuple[int, int] = CROP_SIZE,
        box_scale: float = 1.25,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        heatmap_offset: float | None = None,
        batch_size: int = 16,
        output_index: int = 0,
        providers: Sequence[str] | None = None,
        threads: int = 1,
    ) -> None:
        from gaitforge.preprocess.video.onnx_detector import onnx_session

        path = Path(model_path)
        self.session = onnx_session(path, list(providers) if providers else None, threads)
        inp = self.session.get_inputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise ValueError(f"{path}: input {inp.name!r} has shape {shape}; expected [N, 3, H, W]")
        fixed = [d for d in shape[2:] if isinstance(d, int)]
        if len(fixed) == 2 and tuple(fixed) != tuple(input_size):
            raise ValueError(f"{path}: input {inp.name!r} is {fixed[0]}x{fixed[1]}; input_size is {tuple(input_size)}")
        self.input_name = inp.name
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.box_scale = float(box_scale)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 1, 3)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 1, 3)
        if self.mean.size != 3 or self.std.size != 3 or (self.std <= 0).any():
            raise ValueError(f"mean/std: expected three values each (std > 0), got {list(mean)}, {list(std)}")
        self.heatmap_offset = heatmap_offset
        self.batch_size = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else max(1, int(batch_size))
        self.output_index = int(output_index)

    def crop_affines(self, boxes: np.ndarray) -> np.ndarray:
        """``image → crop`` affines ``[N, 2, 3]`` for boxes ``[N, 4]``."""
        return box_to_crop_affine(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), self.input_size, self.box_scale)

    def crops(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised network input ``[N, 3, H, W]`` float32 and the crop affines ``[N, 2, 3]``."""
        import cv2

        frame = np.asarray(frame_rgb)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame_rgb: expected uint8 [H, W, 3], got {frame.dtype} {list(frame.shape)}")
        affines = self.crop_affines(boxes)
        h, w = self.input_size
        out = np.empty((len(affines), 3, h, w), dtype=np.float32)
        for i, a in enumerate(affines):
            crop = cv2.warpAffine(frame, a, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            norm = (crop.astype(np.float32) / 255.0 - self.mean) / self.std  # [H, W, 3]
            out[i] = norm.transpose(2, 0, 1)
        return out, affines

    def run(self, crops: np.ndarray) -> np.ndarray:
        """Network heatmaps ``[N, K, h, w]`` float32 for normalised crops, in batches."""
        outs = [
            np.asarray(
                self.session.run(None, {self.input_name: crops[i : i + self.batch_size]})[self.output_index],
                dtype=np.float32,
            )
            for i in range(0, len(crops), self.batch_size)
        ]
        heat = np.concatenate(outs)
        if heat.ndim != 4 or heat.shape[0] != len(crops):
            raise ValueError(f"ONNX output {self.output_index} has shape {list(heat.shape)}; expected [N, K, h, w]")
        return heat

    def estimate(self, frame_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints and heatmaps for the people in ``boxes``.

        Args:
            frame_rgb: uint8 ``[H, W, 3]`` RGB frame.
            boxes: ``[N, 4]`` person boxes ``x0, y0, x1, y1`` in image pixels.

        Returns:
            ``(keypoints float32 [N, K, 3]`` — x, y in image pixels, heatmap maximum as confidence —,
            ``heatmaps float16 [N, K, h, w]`` in crop coordinates).
        """
        b = np.asarray(boxes, dtype=np.float32)
        if b.size == 0:
            hh, hw = self.input_size[0] // 4, self.input_size[1] // 4
            return np.zeros((0, 17, 3), np.float32), np.zeros((0, 17, hh, hw), np.float16)
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(f"boxes: expected [N, 4] (x0, y0, x1, y1), got {list(b.shape)}")
        crops, affines = self.crops(frame_rgb, b)
        heat = self.run(crops)
        stride_y = self.input_size[0] / heat.shape[2]
        stride_x = self.input_size[1] / heat.shape[3]
        if abs(stride_x - stride_y) > 1e-6:
            raise ValueError(f"heatmaps {list(heat.shape[2:])} are not an even subsampling of {self.input_size}")
        offset = (stride_x - 1.0) / 2.0 if self.heatmap_offset is None else float(self.heatmap_offset)
        xy, score = decode_heatmaps(heat)  # [N, K, 2] heatmap cells
        crop_xy = xy.astype(np.float64) * stride_x + offset
        image_xy = apply_affine(invert_affine(affines), crop_xy)  # [N, K, 2]
        keypoints = np.concatenate([image_xy, score[..., None]], -1).astype(np.float32)
        return keypoints, heat.astype(np.float16)
