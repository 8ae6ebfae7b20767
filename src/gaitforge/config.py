"""Typed run configuration, loaded from YAML. The one place where config text becomes objects.

Every section is a dataclass; an unknown key anywhere is an error naming its dotted path (``train.iteratons``),
and a value of the wrong type is an error naming the path and the expected type. Free-form sections
(``model.args``, ``losses``, transforms) are plain dicts validated by the builders that consume them.
Nothing in a config is ever executed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gaitforge.utils.atomic import atomic_write_text
from gaitforge.utils.safe_yaml import load_yaml_file, load_yaml_text

__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "EvalConfig",
    "FrameConfig",
    "ModelConfig",
    "OptimizerConfig",
    "ParamGroupConfig",
    "SchedulerConfig",
    "SynthConfig",
    "TrainConfig",
    "apply_overrides",
    "check_values",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "packaged_config",
    "save_config",
]


class ConfigError(ValueError):
    """A config problem: names the file (when known), the key path and what was expected."""


@dataclass
class FrameConfig:
    """Frame sampling: ``mode`` is ``{fixed|unfixed|all}_{ordered|unordered}``."""

    mode: str = "fixed_unordered"
    num: int = 30
    min: int = 20
    max: int = 40
    skip: int = 10
    max_all: int = 720


@dataclass
class SynthConfig:
    """The synthetic world used when ``data.store`` is empty."""

    preset: str = "default"
    seed: int = 0
    workers: int = 2


@dataclass
class DataConfig:
    """Where sequences come from and how they are sampled."""

    store: str = ""  # sequence store folder; empty: generate the synthetic world below into the run's parent folder
    partition: str = ""  # partition JSON (TRAIN_SET / TEST_SET); empty: the store's own partition.json
    dataset: str = "CASIA-B"  # decides the evaluation protocol
    modalities: list[str] = field(default_factory=lambda: ["sil"])
    p: int = 8  # subjects per batch
    k: int = 4  # sequences per subject
    train_frames: FrameConfig = field(default_factory=FrameConfig)
    test_frames: FrameConfig = field(default_factory=lambda: FrameConfig(mode="all_ordered"))
    # one list of steps for every modality, or modality -> list (modalities not named are left as stored)
    transforms: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: [{"name": "sil_cut"}]
    )
    test_transforms: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: [{"name": "sil_cut"}]
    )
    num_workers: int = 2
    synth: SynthConfig = field(default_factory=SynthConfig)
    verify_reads: bool = True  # check each array's checksum on its first read (docs/store.md: cost measured)


@dataclass
class ModelConfig:
    """A registered model and its keyword arguments (``num_classes`` is filled from the training set)."""

    name: str = "gaitbase"
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParamGroupConfig:
    """Optimiser settings for the parameters whose names match ``params`` (glob patterns, ``fnmatch`` style:
    ``backbone.*``, ``*.bias``). A parameter belongs to the first group that matches it; unmatched parameters
    keep the optimiser's own settings. A pattern that matches no parameter is an error."""

    params: str | list[str] = ""
    lr: float | None = None  # absolute rate; None: optimizer.lr (times lr_scale)
    lr_scale: float | None = None  # multiplier of optimizer.lr (exclusive with lr)
    weight_decay: float | None = None  # None: optimizer.weight_decay


@dataclass
class OptimizerConfig:
    name: str = "sgd"  # sgd | adam | adamw
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    param_groups: list[ParamGroupConfig] = field(default_factory=list)


@dataclass
class SchedulerConfig:
    name: str = "multistep"  # multistep | cosine | constant
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1
    warmup_iterations: int = 0
    min_lr: float = 0.0  # cosine floor, a fraction of each group's base rate
    cosine_iterations: int = 0  # cosine length after warm-up, then flat at min_lr; 0: until the last iteration
    update_every: int = 1  # the rate changes only every this many iterations (the peer's SwinGait: 1000)


@dataclass
class TrainConfig:
    iterations: int = 1000
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision (see amp_dtype)
    amp_dtype: str = "auto"  # auto (float16 + loss scaling on CUDA, off on CPU) | float16 (CUDA) | bfloat16
    log_every: int = 50
    save_every: int = 500
    keep_checkpoints: int = 2
    threads: int = 0  # torch intra-op threads; 0 leaves torch's default
    tensorboard: bool = True
    init_from: str = ""  # warm start: weights of a gaitforge checkpoint or a peer OpenGait .pt (not a resume)
    init_strict: bool = True  # every model key loaded, no extra or mis-shaped key in the file (after init_skip)
    init_skip: list[str] = field(default_factory=list)  # glob patterns of state-dict keys not to load
    # DDP under torchrun (ignored in one plain process); see docs/distributed.md
    dist_backend: str = "auto"  # auto (nccl on CUDA, gloo on CPU) | nccl | gloo | mpi
    sync_bn: bool = True  # BatchNorm statistics over the global batch, as one process would compute them
    global_loss: bool = True  # gather outputs so the losses see the whole P×K batch, not each rank's share
    find_unused_parameters: bool = False  # set when some parameters get no gradient in a step
    dist_timeout_s: int = 1800  # collective timeout (rank 0 may score a large protocol while the others wait)
    eval_every: int = 0  # evaluate on the test set every N iterations and at the end (0: never); keeps best.pt
    best_metric: str = "mean_rank1"  # what best.pt maximises: mean_rank1 (mean of the Rank-1 figures) or a figure key


@dataclass
class EvalConfig:
    protocol: str = ""  # empty: picked from data.dataset
    metric: str = "euc"  # euc | cos
    batch_size: int = 16
    cross_view_gallery: bool = False


@dataclass
class Config:
    """A whole run: data, model, losses, optimisation, training and evaluation."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    losses: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"name": "triplet", "weight": 1.0, "input": "embeddings", "margin": 0.2},
            {"name": "ce", "weight": 1.0, "input": "logits", "scale": 16, "label_smoothing": 0.1},
        ]
    )
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert it; raise ConfigError naming ``path``."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping (section {tp.__name__}), got {type(value).__name__}")
        return _build(tp, value, path)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in typing.get_args(tp):
            try:
                return _convert(value, arg, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r}")
    if tp is Any:
        return value
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{path}: expected null, got {value!r}")
        return None
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__} ({value!r})")
        (item_tp,) = typing.get_args(tp) or (Any,)
        return [_convert(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__} ({value!r})")
        key_tp, val_tp = typing.get_args(tp) or (str, Any)
        return {_convert(k, key_tp, f"{path}.<key>"): _convert(v, val_tp, f"{path}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported annotation {tp!r}")  # pragma: no cover - schema bug


def _build(cls: type, data: dict[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"unknown config key {where}{unknown[0]!s}; expected one of: {', '.join(sorted(names))}")
    kwargs = {k: _convert(v, hints[k], f"{path}.{k}" if path else k) for k, v in data.items()}
    return cls(**kwargs)


# (dotted key, lower bound, bound included) of the numeric fields with an obvious valid range; every number
# must also be finite (a NaN learning rate would train silently into NaN weights).
_BOUNDS: tuple[tuple[str, float, bool], ...] = (
    ("train.iterations", 0, False),
    ("train.log_every", 0, False),
    ("train.save_every", 0, False),
    ("train.keep_checkpoints", 0, False),
    ("train.threads", 0, True),
    ("train.dist_timeout_s", 0, False),
    ("train.eval_every", 0, True),
    ("optimizer.lr", 0, True),
    ("optimizer.momentum", 0, True),
    ("optimizer.weight_decay", 0, True),
    ("scheduler.gamma", 0, False),
    ("scheduler.warmup_iterations", 0, True),
    ("scheduler.min_lr", 0, True),
    ("scheduler.cosine_iterations", 0, True),
    ("scheduler.update_every", 0, False),
    ("data.p", 0, False),
    ("data.k", 0, False),
    ("data.num_workers", 0, True),
    ("data.synth.workers", 0, False),
    ("eval.batch_size", 0, False),
)
_FRAME_BOUNDS = (("num", 0, False), ("min", 0, False), ("max", 0, False), ("skip", 0, True), ("max_all", 0, False))


def _check_number(value: Any, key: str, low: float, inclusive: bool) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < low or (value == low and not inclusive):
        relation = ">=" if inclusive else ">"
        raise ConfigError(f"{key}: expected a finite number {relation} {low:g}, got {value!r}")


def check_values(cfg: Config) -> None:
    """Refuse numeric fields outside their valid range (``train.iterations: 0``, a NaN or negative rate...).

    Raises:
        ConfigError: naming the dotted key, the range and the value.
    """
    for key, low, inclusive in _BOUNDS:
        section, *rest = key.split(".")
        node: Any = getattr(cfg, section)
        for part in rest:
            node = getattr(node, part)
        _check_number(node, key, low, inclusive)
    for name in ("train_frames", "test_frames"):
        frames = getattr(cfg.data, name)
        for attr, low, inclusive in _FRAME_BOUNDS:
            _check_number(getattr(frames, attr), f"data.{name}.{attr}", low, inclusive)
    for i, beta in enumerate(cfg.optimizer.betas):
        if not (math.isfinite(beta) and 0 <= beta < 1):
            raise ConfigError(f"optimizer.betas[{i}]: expected a number in [0, 1), got {beta!r}")
    for i, milestone in enumerate(cfg.scheduler.milestones):
        _check_number(milestone, f"scheduler.milestones[{i}]", 0, True)
    for i, group in enumerate(cfg.optimizer.param_groups):
        for attr in ("lr", "lr_scale", "weight_decay"):
            _check_number(getattr(group, attr), f"optimizer.param_groups[{i}].{attr}", 0, True)


def config_from_dict(data: dict[str, Any], source: str | None = None) -> Config:
    """Build a :class:`Config` from a plain dict and check its values; errors name ``source`` (a file) when given."""
    try:
        cfg = _build(Config, data or {}, "")
        check_values(cfg)
        return cfg
    except ConfigError as exc:
        if source:
            raise ConfigError(f"{source}: {exc}") from None
        raise


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain, YAML-safe dict of a config (or any section)."""
    return dataclasses.asdict(cfg)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values parsed as YAML) to a plain config dict, in place."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key.path=value")
        key, raw = item.split("=", 1)
        value = load_yaml_text(raw, f"override {item!r}")
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
        node[parts[-1]] = value
    return data


def packaged_config(name: str) -> Path:
    """Path of a config shipped with gaitforge, by file name with or without ``.yaml`` (``gaitbase_synth_cpu``)."""
    root = Path(__file__).resolve().parent / "configs"
    stem = name[:-5] if name.endswith(".yaml") else name
    found = sorted(root.rglob(f"{Path(stem).name}.yaml"))
    if not found:
        names = sorted(p.stem for p in root.rglob("*.yaml"))
        raise ConfigError(f"{name}: no such file, and no packaged config of that name; packaged: {', '.join(names)}")
    return found[0]


def load_config(path: str | os.PathLike[str] | None = None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config (defaults when ``path`` is None), apply ``--set`` overrides, validate.

    ``path`` may also name a packaged config (``gaitbase_synth_cpu``) when no such file exists.
    """
    data: dict[str, Any] = {}
    source = None
    if path is not None:
        p = Path(path)
        if not p.exists() and p.suffix in ("", ".yaml") and len(p.parts) == 1:
            p = packaged_config(str(path))
        source = str(p)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        loaded = load_yaml_file(p)
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{p}: expected a mapping at the top level, got {type(loaded).__name__}")
        data = loaded or {}
    if overrides:
        apply_overrides(data, overrides)
    return config_from_dict(data, source)


def save_config(cfg: Config, path: str | os.PathLike[str]) -> Path:
    """Write the resolved config as YAML, atomically."""
    return atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
