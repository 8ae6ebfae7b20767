"""What the OpenGait config converter knows of the peer: its ``configs/default.yaml`` and the tables that map its
names (datasets, evaluators, solvers, sampler keys, transforms) to gaitforge's.

Facts from OpenGait (snapshot 0efafd4): ``configs/default.yaml``, ``opengait/data/transform.py``,
``opengait/modeling/base_model.py``; used by :mod:`gaitforge.interop.opengait_config`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DA4GAITSSB",
    "DATASETS",
    "EVAL_FUNCS",
    "PEER_DEFAULTS",
    "PEER_DROPS",
    "SAMPLER_FRAMES",
    "SOLVERS",
    "TORCH_OPTIM_DEFAULTS",
    "TRANSFORMS",
    "TRANSFORM_DEFAULTS",
]

#: The peer's ``configs/default.yaml``; a config file is merged over it (mappings recursively, the rest replaced).
PEER_DEFAULTS: dict[str, Any] = {
    "data_cfg": {
        "dataset_name": "CASIA-B",
        "dataset_root": "your_path",
        "num_workers": 1,
        "dataset_partition": "./datasets/CASIA-B/CASIA-B.json",
        "remove_no_gallery": False,
        "cache": False,
        "test_dataset_name": "CASIA-B",
    },
    "evaluator_cfg": {
        "enable_float16": False,
        "restore_ckpt_strict": True,
        "restore_hint": 80000,
        "save_name": "tmp",
        "eval_func": "evaluate_indoor_dataset",
        "sampler": {"batch_size": 4, "sample_type": "all_ordered", "type": "InferenceSampler"},
        "transform": [{"type": "BaseSilCuttingTransform"}],
        "metric": "euc",
        "cross_view_gallery": False,
    },
    "loss_cfg": {"loss_term_weight": 1.0, "margin": 0.2, "type": "TripletLoss", "log_prefix": "triplet"},
    "model_cfg": {"model": "Baseline"},
    "optimizer_cfg": {"lr": 0.1, "momentum": 0.9, "solver": "SGD", "weight_decay": 0.0005},
    "scheduler_cfg": {"gamma": 0.1, "milestones": [20000, 40000, 60000], "scheduler": "MultiStepLR"},
    "trainer_cfg": {
        "enable_float16": True,
        "with_test": False,
        "fix_BN": False,
        "log_iter": 100,
        "restore_ckpt_strict": True,
        "optimizer_reset": False,
        "scheduler_reset": False,
        "restore_hint": 0,
        "save_iter": 2000,
        "save_name": "tmp",
        "sync_BN": False,
        "total_iter": 80000,
        "sampler": {
            "batch_shuffle": False,
            "batch_size": [8, 16],
            "frames_num_fixed": 30,
            "frames_num_max": 50,
            "frames_num_min": 25,
            "sample_type": "fixed_unordered",
            "type": "TripletSampler",
        },
        "transform": [{"type": "BaseSilCuttingTransform"}],
    },
}

DATASETS = {"OUMVLP": "OU-MVLP"}  # the peer's spelling → gaitforge's, where they differ
#: ``evaluator_cfg.eval_func`` → protocol (``None``: the dataset's own protocol).
EVAL_FUNCS: dict[str, str | None] = {
    "evaluate_indoor_dataset": None,
    "identification": None,
    "evaluate_real_scene": None,
    "identification_real_scene": None,
    "evaluate_Gait3D": "gait3d",
    "evaluate_CCPG": "ccpg",
    "GREW_submission": "grew-submission",
    "identification_GREW_submission": "grew-submission",
    "HID_submission": "hid-submission",
    "evaluate_scoliosis": "scoliosis1k",
}
SOLVERS = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw"}
SAMPLER_FRAMES = {  # the peer's sampler keys → FrameConfig fields
    "sample_type": "mode",
    "frames_num_fixed": "num",
    "frames_num_min": "min",
    "frames_num_max": "max",
    "frames_skip_num": "skip",
    "frames_all_limit": "max_all",
}
#: The peer's augmentation → (gaitforge transform, peer argument → gaitforge argument, fixed extra arguments).
TRANSFORMS: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "RandomHorizontalFlip": ("random_horizontal_flip", {"prob": "p"}, {}),
    "RandomRotate": ("random_rotate", {"prob": "p", "degree": "degree"}, {"center": "peer"}),
    "RandomPerspective": ("random_perspective", {"prob": "p"}, {}),
    "RandomAffine": ("random_affine", {"prob": "p"}, {}),
    "RandomErasing": (
        "random_erasing",
        {"prob": "p", "sl": "sl", "sh": "sh", "r1": "r1", "per_frame": "per_frame"},
        {},
    ),
    "RandomPartDilate": ("random_part_dilate", {"prob": "p", "top_range": "top_range", "bot_range": "bot_range"}, {}),
    "RandomPartBlur": (
        "random_part_blur",
        {"prob": "p", "top_range": "top_range", "bot_range": "bot_range", "per_frame": "per_frame"},
        {},
    ),
}
#: The peer's defaults of the augmentations above (written out so the converted config is explicit).
TRANSFORM_DEFAULTS: dict[str, dict[str, Any]] = {
    "RandomHorizontalFlip": {"prob": 0.5},
    "RandomRotate": {"prob": 0.5, "degree": 10},
    "RandomPerspective": {"prob": 0.5},
    "RandomAffine": {"prob": 0.5},
    "RandomErasing": {"prob": 0.5, "sl": 0.05, "sh": 0.2, "r1": 0.3, "per_frame": False},
    "RandomPartDilate": {"prob": 0.5, "top_range": [12, 16], "bot_range": [36, 40]},
    "RandomPartBlur": {"prob": 0.5, "top_range": [9, 20], "bot_range": [29, 40], "per_frame": False},
}
DA4GAITSSB = {  # the peer's DA4GaitSSB(...) preset, as the steps it composes
    "cutting": None,
    "ra_prob": 0.2,
    "rp_prob": 0.2,
    "rhf_prob": 0.5,
    "rpd_prob": 0.2,
    "rpb_prob": 0.2,
    "top_range": [9, 20],
    "bot_range": [39, 50],
}
PEER_DROPS = "the peer passes only the arguments its class takes and drops this one (with a log line)"

TORCH_OPTIM_DEFAULTS: dict[str, Any] = {"eps": 1e-8, "amsgrad": False, "dampening": 0, "maximize": False}
