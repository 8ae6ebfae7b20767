"""COCO-17 joints in 3D and a simulated 2D pose estimator.

The estimator projects the 3D joints, adds pixel noise proportional to the person's image height, and gives
each keypoint a confidence: high where the joint's own body part is the visible surface at its pixel, low
where another part (the other leg, the torso, a coat, a bag) covers it or, for face points, where the face
looks away from the camera. Occluded keypoints are also noisier, as with real estimators.
"""

from __future__ import annotations

import numpy as np

from gaitforge.synth.body import BodyShape
from gaitforge.synth.camera import Camera
from gaitforge.synth.kinematics import Skeleton

__all__ = ["COCO_KEYPOINTS", "coco_joints3d", "estimate_pose"]

#: COCO-17 keypoint order.
COCO_KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

# Face points in the head frame, as fractions of the head semi-axes (inside the ellipsoid, near its surface).
_FACE = np.array(
    [
        [0.93, 0.0, -0.25],
        [0.75, 0.38, 0.05],
        [0.75, -0.38, 0.05],
        [-0.05, 0.93, 0.0],
        [-0.05, -0.93, 0.0],
    ]
)

# Parts whose surface may show each joint (labels are part names).
_OWNERS: tuple[tuple[str, ...], ...] = (
    ("head",),
    ("head",),
    ("head",),
    ("head",),
    ("head",),
    ("torso", "l_upper_arm", "neck"),
    ("torso", "r_upper_arm", "neck"),
    ("l_upper_arm", "l_forearm"),
    ("r_upper_arm", "r_forearm"),
    ("l_forearm", "l_hand"),
    ("r_forearm", "r_hand"),
    ("torso", "l_thigh"),
    ("torso", "r_thigh"),
    ("l_thigh", "l_shank"),
    ("r_thigh", "r_shank"),
    ("l_shank", "l_foot"),
    ("r_shank", "r_foot"),
)


def coco_joints3d(body: BodyShape, skel: Skeleton) -> np.ndarray:
    """COCO-17 joints in world coordinates, float32 ``[T,17,3]`` (metres)."""
    p = skel.points
    radii = np.array([body.head_rx, body.head_ry, body.head_rz])
    face = p["head"][:, None, :] + np.einsum("tij,kj->tki", skel.frames["head"], _FACE * radii)
    names = ["shoulder", "elbow", "wrist", "hip", "knee", "ankle"]
    limbs = np.stack([p[f"{s}_{n}"] for n in names for s in "lr"], 1)
    return np.concatenate([face, limbs], 1).astype(np.float32)


def estimate_pose(
    joints3d: np.ndarray,
    skel: Skeleton,
    camera: Camera,
    labels: np.ndarray,
    part_names: list[str],
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Simulated 2D keypoints with confidence.

    Args:
        joints3d: ``[T,17,3]`` world joints.
        skel: The skeleton (for the head orientation).
        camera: The camera that rendered ``labels``.
        labels: uint8 ``[T,H,W]`` part labels (``i + 1`` = ``part_names[i]``).
        part_names: Names of the labelled parts.
        noise: Pixel noise as a fraction of the person's image height.
        rng: Source of randomness.

    Returns:
        float32 ``[T,17,3]``: x, y in the raw frame's pixels (inside the frame), confidence in [0, 1].
    """
    n_frames, height, width = labels.shape
    uv, _ = camera.project(joints3d.astype(np.float64))
    xi = np.clip(np.round(uv[..., 0]).astype(int), 0, width - 1)
    yi = np.clip(np.round(uv[..., 1]).astype(int), 0, height - 1)
    seen = labels[np.arange(n_frames)[:, None], yi, xi]  # [T,17]
    lookup = {name: i + 1 for i, name in enumerate(part_names)}
    owners = np.zeros((17, 256), dtype=bool)
    for j, names in enumerate(_OWNERS):
        owners[j, [lookup[n] for n in names if n in lookup]] = True
    visible = owners[np.arange(17)[None, :], seen]
    # Face points also need the face turned towards the camera.
    normals = np.einsum("tij,kj->tki", skel.frames["head"], _FACE / np.linalg.norm(_FACE, axis=1, keepdims=True))
    visible[:, :5] &= normals @ camera.to_camera > 0.15
    ys = np.nonzero(labels.any(axis=(0, 2)))[0]
    person_px = float(ys.max() - ys.min() + 1) if len(ys) else float(height)
    sigma = noise * person_px * np.where(visible, 1.0, 2.5)
    xy = uv + rng.normal(size=uv.shape) * sigma[..., None]
    xy[..., 0] = np.clip(xy[..., 0], 0.0, width - 1.0)
    xy[..., 1] = np.clip(xy[..., 1], 0.0, height - 1.0)
    conf = np.where(visible, rng.normal(0.92, 0.04, visible.shape), rng.normal(0.45, 0.12, visible.shape))
    conf[:, :5] -= 0.05
    conf = np.clip(conf, 0.02, 1.0)
    return np.concatenate([xy, conf[..., None]], -1).astype(np.float32)
