"""A perspective camera that tracks the walker from a fixed azimuth.

Azimuth ``θ`` is measured around the vertical axis from the walking direction: at 0° the camera is in front
(the person walks towards it), at 90° it sees the walker's right side (walking left to right in the image),
at 180° it is behind. The camera follows the walker's mean path (like a person tracker's crop), so the body's
periodic bob, sway and speed changes stay visible while the person stays in the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Camera"]


@dataclass
class Camera:
    """Pinhole camera.

    Attributes:
        azimuth_deg: View angle (see module docstring).
        elevation_deg: Angle of the camera above the horizontal.
        distance: Camera distance to the tracked target (metres): a number, or ``[T, 1]`` per frame (a camera that
            only pans, so that the walker's distance changes).
        focal_px: Focal length in pixels.
        cx, cy: Principal point (pixels).
        target: Tracked point per frame [T,3] (world metres).
    """

    azimuth_deg: float
    elevation_deg: float
    distance: float | np.ndarray
    focal_px: float
    cx: float
    cy: float
    target: np.ndarray

    def __post_init__(self) -> None:
        a, e = np.deg2rad(self.azimuth_deg), np.deg2rad(self.elevation_deg)
        to_cam = np.array([np.cos(e) * np.cos(a), -np.cos(e) * np.sin(a), np.sin(e)])
        forward = -to_cam
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        self.rotation = np.stack([right, up, forward])  # rows: image x, image up, viewing direction
        self.position = self.target + self.distance * to_cam  # [T,3]
        self.to_camera = to_cam

    def to_cam(self, points: np.ndarray) -> np.ndarray:
        """World points [T,...,3] → camera coordinates [T,...,3] (x right, y up, z depth)."""
        t = points.shape[0]
        rel = points - self.position.reshape((t,) + (1,) * (points.ndim - 2) + (3,))
        return rel @ self.rotation.T

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points [T,...,3] → pixel coordinates [T,...,2] (x right, y down) and depth [T,...]."""
        c = self.to_cam(points)
        z = c[..., 2]
        uv = np.stack([self.cx + self.focal_px * c[..., 0] / z, self.cy - self.focal_px * c[..., 1] / z], -1)
        return uv, z

    def outlines(self, centres: np.ndarray, axes: np.ndarray, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """Image outlines of ellipsoids under weak perspective (each blob scaled at its centre's depth).

        The image of ``{c + M u : |u| ≤ 1}`` under the linear map ``A`` (2×3) is the ellipse with shape matrix
        ``C = (A M)(A M)ᵀ``; its support point in direction ``n`` is ``C n / sqrt(nᵀ C n)``, which stays
        defined for flat and degenerate blobs.

        Args:
            centres: Blob centres [T,B,3].
            axes: Semi-axis matrices [T,B,3,3] (columns are semi-axes).
            n: Outline points per blob.

        Returns:
            ``(points [T,B,n,2] in pixels, depth [T,B])``.
        """
        uv, z = self.project(centres)
        scale = self.focal_px / z  # [T,B]
        proj = self.rotation[:2] * np.array([[1.0], [-1.0]])  # image x right, y down
        am = np.einsum("ij,tbjk->tbik", proj, axes) * scale[..., None, None]  # [T,B,2,3]
        cm = am @ np.swapaxes(am, -1, -2)  # [T,B,2,2]
        ang = np.arange(n) * (2.0 * np.pi / n)
        dirs = np.stack([np.cos(ang), np.sin(ang)], -1)  # [n,2]
        cn = np.einsum("tbij,kj->tbki", cm, dirs)  # [T,B,n,2]
        norm = np.sqrt(np.maximum(np.einsum("tbki,ki->tbk", cn, dirs), 1e-12))
        return uv[:, :, None, :] + cn / norm[..., None], z
