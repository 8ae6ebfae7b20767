"""Which front end finds the people of a video: the background model or the BlazePose detector + segmenter.

``auto`` (the default) measures the camera's motion on a few frame pairs
(:func:`~gaitforge.preprocess.video.stabilise.measure_camera_motion`): a static camera gets the background model
(fast, and good on static scenes), a moving one the detector + segmenter when its models are installed (else the
background model on stabilised frames, with a warning). Either front end keeps its tracks in stabilised coordinates
when the camera moves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaitforge.preprocess.video.blazepose import BlazePoseDetector, blazepose_available
from gaitforge.preprocess.video.stabilise import CameraMotion, measure_camera_motion

__all__ = ["FRONTENDS", "FrontEnd", "choose_frontend"]

logger = logging.getLogger(__name__)

#: Accepted values of ``--frontend`` / ``VideoOptions.frontend``.
FRONTENDS = ("auto", "detector", "background")


@dataclass
class FrontEnd:
    """The chosen front end of one video.

    Attributes:
        name: ``detector``, ``background`` or ``custom`` (detector / segmenter given by the caller).
        detector: The detector to run (``None`` = foreground blobs of the background model).
        stabilise: Whether frames are mapped into stabilised coordinates (camera moving).
        motion: The measured camera motion (``None`` when not measured).
        reason: Why, in words.
    """

    name: str
    detector: Any
    stabilise: bool
    motion: CameraMotion | None
    reason: str


def choose_frontend(
    requested: str,
    path: str | Path,
    start_s: float | None = None,
    end_s: float | None = None,
    detector: Any = None,
    segmenter: Any = None,
    stabilise: str = "auto",
    detector_args: dict[str, Any] | None = None,
) -> FrontEnd:
    """Pick the front end of one video.

    Args:
        requested: ``auto``, ``detector`` or ``background``.
        path: The video.
        start_s, end_s: The processed time range (motion is measured there).
        detector, segmenter: Components given by the caller; a detector given makes the front end ``custom``.
        stabilise: ``auto`` (when the camera moves), ``on`` or ``off``.
        detector_args: Keyword arguments of :class:`~gaitforge.preprocess.video.blazepose.BlazePoseDetector`.

    Raises:
        ValueError: unknown ``requested`` or ``stabilise``.
        ImportError: ``detector`` requested but the BlazePose models or LiteRT are not installed.
    """
    if requested not in FRONTENDS:
        raise ValueError(f"video options: frontend {requested!r} is unknown; expected one of {', '.join(FRONTENDS)}")
    if stabilise not in ("auto", "on", "off"):
        raise ValueError(f"video options: stabilise {stabilise!r} is unknown; expected auto, on or off")
    need_motion = stabilise == "auto" or (requested == "auto" and detector is None)
    motion = measure_camera_motion(path, start_s, end_s) if need_motion else None
    moving = motion.moving if motion is not None else False
    stab = stabilise == "on" or (stabilise == "auto" and moving)
    if detector is not None:
        return FrontEnd("custom", detector, stab, motion, "detector given")
    if requested == "background":
        return FrontEnd("background", None, stab, motion, "requested")
    if requested == "detector":
        return FrontEnd("detector", BlazePoseDetector(**(detector_args or {})), stab, motion, "requested")
    assert motion is not None
    if not moving:
        return FrontEnd("background", None, stab, motion, motion.summary())
    if segmenter is None and blazepose_available():
        return FrontEnd("detector", BlazePoseDetector(**(detector_args or {})), stab, motion, motion.summary())
    logger.warning(
        "%s: the camera moves but the BlazePose models are not installed (`make install` adds them); "
        "using the background model on stabilised frames",
        path,
    )
    return FrontEnd("background", None, stab, motion, motion.summary() + "; detector not installed")
