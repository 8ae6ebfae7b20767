"""The built-in synthetic gait world.

People with their own body (stature, proportions, girth, head size) and walking style (cadence, stride,
joint-angle curves, arm swing, pelvis motion, lean, bob, sway, asymmetry), walking under covariates
(NM, BG with several bag kinds, CL with several coat kinds) and seen from 0°–180°, rendered as
pretreated silhouettes, COCO-17 keypoints with confidence and 3D joints.

Example::

    from gaitforge.synth import get_preset, generate_sequence, make_world
    cfg = get_preset("default", seed=0)
    seq = generate_sequence(cfg, subject_index=3, condition="cl-01", view="090")
    store = make_world(cfg, "data/", workers=2, progress=True)
"""

from __future__ import annotations

from gaitforge.synth.build import iter_world, make_world, partition
from gaitforge.synth.config import CASIA_B_CONDITIONS, CASIA_B_VIEWS, ArtefactConfig, RealismConfig, WorldConfig
from gaitforge.synth.covariates import BAG_KINDS, COAT_KINDS
from gaitforge.synth.pose import COCO_KEYPOINTS
from gaitforge.synth.presets import PRESETS, get_preset
from gaitforge.synth.video import SceneConfig, VideoGroundTruth, load_video_ground_truth, make_synthetic_video
from gaitforge.synth.world import RawRender, generate_sequence, render_raw

__all__ = [
    "BAG_KINDS",
    "CASIA_B_CONDITIONS",
    "CASIA_B_VIEWS",
    "COAT_KINDS",
    "COCO_KEYPOINTS",
    "PRESETS",
    "ArtefactConfig",
    "RawRender",
    "RealismConfig",
    "SceneConfig",
    "VideoGroundTruth",
    "WorldConfig",
    "generate_sequence",
    "get_preset",
    "iter_world",
    "load_video_ground_truth",
    "make_synthetic_video",
    "make_world",
    "partition",
    "render_raw",
]
