"""A released OpenGait or FastPoseGait checkpoint + its YAML config → a gaitforge run folder.

``gaitforge convert opengait-checkpoint CKPT --config PEER.yaml --out RUN/`` (and ``fastposegait-checkpoint``)
calls :func:`convert_peer_checkpoint`. The run folder is what ``gaitforge train`` leaves behind, minus the
optimiser state, so ``eval``, ``enroll``, ``identify``, ``serve`` and ``export`` accept it::

    RUN/config.yaml                     the model, its inputs and the peer's test-time input transform
    RUN/checkpoints/ckpt-<iter>.pt      gaitforge checkpoint of the peer's weights (same keys and shapes)
    RUN/conversion.json                 where it came from (file, SHA-256, peer model), the transform recorded

What is read from the peer's config (merged over the peer's ``configs/default.yaml``): ``model_cfg`` (through
:func:`gaitforge.interop.opengait.peer_model_spec`, so every key is checked), ``evaluator_cfg.transform``,
``evaluator_cfg.sampler`` (frame sampling), ``evaluator_cfg.metric``, ``evaluator_cfg.eval_func`` and
``data_cfg.dataset_name``. Training settings do not affect a converted model and are not read.

The checkpoint is read only with ``torch.load(..., weights_only=True)``
(:func:`gaitforge.interop.opengait_checkpoint.read_checkpoint`): a file holding anything but tensors and plain
containers is refused, never unpickled. Its keys and shapes must be exactly those of the model the config
describes; the first key that differs is named with both shapes. The folder is written under a temporary name
next to ``RUN`` and renamed when complete, so a failure leaves nothing behind.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gaitforge.interop.opengait import PeerModelSpec, _expect, _section, peer_model_spec

__all__ = [
    "ConversionOutcome",
    "PEERS",
    "convert_peer_checkpoint",
    "peer_eval_transform",
    "peer_streams",
    "run_config_for",
]

logger = logging.getLogger(__name__)

#: The frameworks whose checkpoints convert (the CLI's ``<peer>-checkpoint`` commands).
PEERS = ("opengait", "fastposegait")

#: Peer test-time transforms gaitforge models compute inside ``forward`` from the raw ``pose`` / ``heatmap``
#: input: type → the gaitforge models that do it (facts from OpenGait 0efafd4 ``opengait/data/transform.py`` and
#: FastPoseGait 94da9c8 ``fastposegait/data/transform.py``).
_INSIDE_MODEL: dict[str, tuple[str, ...]] = {
    "GaitGraph1Input": ("gaitgraph1",),
    "GaitGraphMultiInput": ("gaitgraph2",),
    "GaitTRMultiInput": ("gaittr",),
    "SkeletonInput": ("gaittr",),
    "MSGGTransform": ("msgg",),
    "Sequence_level": ("gaitheat_released",),
    "RotationMat": ("gaitheat_released",),
}
#: Peer pose transforms with a gaitforge data transform of the same effect.
_POSE_STEPS: dict[str, dict[str, Any]] = {"NormalizeEmpty": {"name": "pose_fill_empty"}}
#: Arguments of the transforms above that must have the value gaitforge implements (COCO-17 only).
_FIXED_ARGS: dict[str, dict[str, Any]] = {"GaitTRMultiInput": {"joint_format": "coco"}}
#: Arguments the peer's silhouette transforms take (others are dropped by the peer, with a log line).
_SIL_ARGS = {"BaseSilCuttingTransform": {"divsor", "cutting"}, "BaseSilTransform": {"divsor", "img_shape"}}
#: Frame-sampling keys of ``evaluator_cfg.sampler`` → ``data.test_frames`` fields.
_SAMPLER = {"sample_type": "mode", "frames_num_fixed": "num", "frames_num_min": "min", "frames_num_max": "max",
            "frames_skip_num": "skip", "frames_all_limit": "max_all"}  # fmt: skip
_SAMPLE_TYPES = {f"{a}_{b}" for a in ("fixed", "unfixed", "all") for b in ("ordered", "unordered")}


def _peer_error(path: str, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


#: Models whose peer checkpoints convert with another input contract than :func:`peer_model_spec` builds: the
#: released GaitHeat reads heatmaps normalised and alignment matrices computed by FastPoseGait's data pipeline
#: (``Sequence_level``, ``RotationMat``), which gaitforge's stores do not hold, so the converted run does both
#: inside the model from the raw heatmaps (same weights; see docs/pretrained.md for how close that is).
_RUN_CONTRACT: dict[str, dict[str, Any]] = {"gaitheat_released": {"normalize": True, "mat_modality": None}}
_CONTRACT_NOTES = {
    "gaitheat_released": "Sequence_level and RotationMat run inside the model on the raw heatmaps: min-max per "
    "sequence, then one exact affine alignment from keypoints decoded from the heatmaps, where the release resamples "
    "twice in float16 from the pose estimator's keypoints; the release's exact outputs need "
    "interop.opengait.build_model(model_cfg, peer='fastposegait') fed with models.gaitheat_released.rotation_mats",
}
_REFUSED = {
    "GPGait": "gaitforge's GPGait is built from the paper and does not have the peer's state-dict layout",
    "GPGait_PlusPlus": "gaitforge's GPGait is built from the paper and does not have the peer's state-dict layout",
}


def _model_spec(model_cfg: Any, peer: str) -> PeerModelSpec:
    """The model a converted run builds (the peer's state-dict layout; inputs gaitforge's pipeline can give)."""
    name = model_cfg.get("model") if isinstance(model_cfg, Mapping) else None
    try:
        spec = peer_model_spec(model_cfg, peer)
    except KeyError as exc:
        message = exc.args[0] if exc.args else str(exc)
        if "unsupported OpenGait model" in str(message) and name in _REFUSED:
            raise _peer_error("model_cfg.model", f"{name}: not convertible ({_REFUSED[name]})") from None
        if peer == "opengait" and "unsupported OpenGait model" in str(message):
            try:
                peer_model_spec(model_cfg, "fastposegait")
            except (KeyError, ValueError, TypeError):
                pass
            else:
                message += f" ({name} is a FastPoseGait model: convert it with fastposegait-checkpoint)"
        raise ValueError(message) from None
    contract = _RUN_CONTRACT.get(spec.name)
    if contract is None:
        return spec
    return PeerModelSpec(spec.name, {**spec.kwargs, **contract})


def _steps(node: Any, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """A transform node (one mapping, possibly a ``Compose``) → ``(path, mapping)`` of its leaf transforms."""
    if not isinstance(node, Mapping) or not isinstance(node.get("type"), str):
        raise _peer_error(path, f"expected a mapping with a 'type', got {node!r}")
    if node["type"] == "Compose":
        inner = node.get("trf_cfg")
        if not isinstance(inner, list):
            raise _peer_error(f"{path}.trf_cfg", f"expected a list of transforms, got {inner!r}")
        return [leaf for i, t in enumerate(inner) for leaf in _steps(t, f"{path}.trf_cfg[{i}]")]
    return [(path, node)]


def _one_transform(node: Any, path: str, model: str) -> tuple[list[dict[str, Any]], list[str]]:
    """One input's peer transform → (gaitforge steps, names of the steps the model does itself)."""
    steps: list[dict[str, Any]] = []
    inside: list[str] = []
    for where, t in _steps(node, path):
        kind = t["type"]
        args = {k: v for k, v in t.items() if k != "type"}
        if kind in _SIL_ARGS:
            step: dict[str, Any] = {"name": "sil_cut"}
            if kind == "BaseSilTransform":
                step["cut"] = 0
                if args.get("img_shape") is not None:
                    raise _peer_error(f"{where}.img_shape", "reshaping frames to img_shape is not supported")
            elif args.get("cutting") is not None:
                step["cut"] = int(args["cutting"])
            divisor = float(args.get("divsor", 255.0))
            if divisor <= 0:
                raise _peer_error(f"{where}.divsor", f"expected a positive divisor, got {divisor}")
            if divisor != 255.0:
                step["scale"] = 1.0 / divisor
            steps.append(step)
        elif kind == "BaseRgbTransform":  # the peer's mean / std are in 0..255 units, gaitforge's in 0..1
            step = {"name": "rgb_normalize"}
            for arg in ("mean", "std"):
                value = args.get(arg)
                if value is not None:
                    if not isinstance(value, list) or len(value) != 3:
                        raise _peer_error(f"{where}.{arg}", f"expected 3 per-channel values, got {value!r}")
                    step[arg] = [float(v) / 255.0 for v in value]
            steps.append(step)
        elif kind == "BaseParsingCuttingTransform":  # the peer divides by divsor only when the max is 255:
            steps.append({"name": "sil_cut", "scale": 1.0})  # label maps (0..11) never reach it
            if args.get("cutting") is not None:
                steps[-1]["cut"] = int(args["cutting"])
        elif kind in _POSE_STEPS:
            steps.append(dict(_POSE_STEPS[kind]))
        elif kind in _INSIDE_MODEL:
            owners = _INSIDE_MODEL[kind]
            if model not in owners:
                raise _peer_error(
                    f"{where}.type",
                    f"{kind} builds the input of {', '.join(owners)}, but the config's model is {model}",
                )
            for arg, value in _FIXED_ARGS.get(kind, {}).items():
                _expect(f"{where}.{arg}", args.get(arg, value), value)
            inside.append(kind)
        elif kind == "NoOperation":
            continue
        else:
            raise _peer_error(f"{where}.type", f"test-time transform {kind!r} has no gaitforge counterpart")
    return steps, inside


def peer_eval_transform(
    node: Any, model: str, path: str = "evaluator_cfg.transform", streams: list[list[str]] | None = None
) -> dict[str, Any]:
    """The peer's test-time transform → what the converted run does with its inputs.

    Args:
        node: ``evaluator_cfg.transform``: one transform mapping or one per input stream (the peer's ``ipts``).
        model: The gaitforge model name (decides which pose transforms it computes itself).
        path: The key path, for errors.
        streams: For each peer input stream, the gaitforge modalities it becomes (see :func:`peer_streams`);
            needed only when the streams' transforms differ.

    Returns:
        ``{"peer": node, "test_transforms": steps, "inside_model": [...peer types...]}``; ``steps`` is one list
        for every modality, or modality → list where the peer's inputs are transformed differently.

    Raises:
        ValueError: A transform gaitforge does not have, or inputs with different transforms that cannot be told
            apart; the message names the key path.
    """
    nodes = node if isinstance(node, list) else [node]
    if not nodes:
        raise _peer_error(path, "expected a transform or a list of them, got an empty list")
    results = [
        _one_transform(n, f"{path}[{i}]" if isinstance(node, list) else path, model) for i, n in enumerate(nodes)
    ]
    inside = list(dict.fromkeys(kind for _, kinds in results for kind in kinds))  # every input's, in order
    differ = [i for i, (steps, _) in enumerate(results) if steps != results[0][0]]
    if not differ:
        return {"peer": copy.deepcopy(node), "test_transforms": results[0][0], "inside_model": inside}
    if streams is None or len(streams) != len(results):
        raise _peer_error(
            f"{path}[{differ[0]}]",
            f"this input's transform differs from {path}[0]'s, and the {len(results)} inputs of the peer's "
            f"config cannot be matched with the model's {model} inputs",
        )
    per_modality = {m: copy.deepcopy(steps) for (steps, _), names in zip(results, streams) for m in names}
    return {"peer": copy.deepcopy(node), "test_transforms": per_modality, "inside_model": inside}


def peer_streams(model: Any, count: int) -> list[list[str]] | None:
    """Which gaitforge modalities each of the peer's ``count`` input streams becomes, or ``None`` if unknown.

    Models that split or reorder the peer's inputs (``from_opengait_inputs``) are asked with placeholder tensors
    and each returned input is traced to the stream whose storage it uses; others read one stream per modality
    in ``input_modalities`` order (as :func:`gaitforge.interop.opengait.run_opengait_style` feeds them).
    """
    modalities = list(getattr(model, "input_modalities", ("sil",)))
    split = getattr(model, "from_opengait_inputs", None)
    if split is None:
        return [[m] for m in modalities] if len(modalities) == count else None
    probes = [torch.zeros(1) for _ in range(count)]
    try:
        named = split(probes)
    except Exception:  # noqa: BLE001 - a split that checks shapes: the streams cannot be told apart this way
        return None
    out: list[list[str]] = [[] for _ in range(count)]
    for name, tensor in named.items():
        owners = [
            i for i, p in enumerate(probes) if tensor.untyped_storage().data_ptr() == p.untyped_storage().data_ptr()
        ]
        if len(owners) != 1:
            return None
        out[owners[0]].append(name)
    return out


def _test_frames(sampler: Any) -> dict[str, Any]:
    s = _section(sampler, "evaluator_cfg.sampler", set(), set(_SAMPLER) | {"batch_size", "type", "batch_shuffle"})
    out: dict[str, Any] = {}
    for key, target in _SAMPLER.items():
        if key not in s:
            continue
        value = s[key]
        if key == "sample_type":
            if value not in _SAMPLE_TYPES:
                raise _peer_error(
                    f"evaluator_cfg.sampler.{key}", f"expected one of {sorted(_SAMPLE_TYPES)}, got {value!r}"
                )
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _peer_error(f"evaluator_cfg.sampler.{key}", f"expected a non-negative integer, got {value!r}")
        out[target] = value
    return out


def run_config_for(peer_cfg: Mapping[str, Any], peer: str = "opengait", name: str = "") -> tuple[dict, dict]:
    """The gaitforge run config (a plain dict) for a peer config, and what the conversion recorded.

    Args:
        peer_cfg: The parsed peer YAML (merged over the peer's defaults here).
        peer: ``"opengait"`` or ``"fastposegait"``.
        name: The run's name (default: the peer's ``evaluator_cfg.save_name``).

    Returns:
        ``(config, record)``: ``config`` loads with :func:`gaitforge.config.config_from_dict`; ``record`` has
        ``peer_model``, ``model``, ``num_classes``, ``modalities`` and ``input_transform``.

    Raises:
        ValueError: A key the converter cannot map; the message names its path.
    """
    from gaitforge.interop.opengait_config import _merge
    from gaitforge.interop.opengait_tables import DATASETS, EVAL_FUNCS, PEER_DEFAULTS
    from gaitforge.models import create_model

    if peer not in PEERS:
        raise ValueError(f"peer: expected one of {list(PEERS)}, got {peer!r}")
    if not isinstance(peer_cfg, Mapping):
        raise ValueError(f"expected a mapping of config sections, got {type(peer_cfg).__name__}")
    if not isinstance(peer_cfg.get("model_cfg"), Mapping):
        raise _peer_error("model_cfg", "missing: the peer config must have a model_cfg section")
    cfg = _merge(copy.deepcopy(PEER_DEFAULTS), peer_cfg)
    for section in ("evaluator_cfg", "data_cfg"):
        if not isinstance(cfg.get(section), Mapping):
            raise _peer_error(section, f"expected a mapping, got {cfg.get(section)!r}")
    spec = _model_spec(cfg["model_cfg"], peer)
    probe_args = {k: v for k, v in spec.kwargs.items() if k != "num_classes"}
    probe = create_model(spec.name, **probe_args, **({"num_classes": 2} if spec.num_classes else {}))
    modalities = list(getattr(probe, "input_modalities", ("sil",)))
    ev = cfg["evaluator_cfg"]
    peer_tf = ev.get("transform")
    streams = peer_streams(probe, len(peer_tf)) if isinstance(peer_tf, list) and len(peer_tf) > 1 else None
    transform = peer_eval_transform(peer_tf, spec.name, streams=streams)
    if spec.name in _CONTRACT_NOTES:
        transform["note"] = _CONTRACT_NOTES[spec.name]
    metric = ev.get("metric", "euc")
    if metric not in ("euc", "cos"):
        raise _peer_error("evaluator_cfg.metric", f"expected euc or cos, got {metric!r}")
    func = ev.get("eval_func", "evaluate_indoor_dataset")
    if func not in EVAL_FUNCS:
        raise _peer_error(
            "evaluator_cfg.eval_func", f"unknown evaluation function {func!r}; known: {sorted(EVAL_FUNCS)}"
        )
    dataset_name = cfg["data_cfg"].get("dataset_name", "CASIA-B")
    if not isinstance(dataset_name, str):
        raise _peer_error("data_cfg.dataset_name", f"expected a string, got {dataset_name!r}")
    frames = {"mode": "all_ordered", **_test_frames(ev.get("sampler", {}))}
    own_ev = peer_cfg.get("evaluator_cfg") if isinstance(peer_cfg.get("evaluator_cfg"), Mapping) else {}
    run_name = name or str(own_ev.get("save_name") or "converted")  # the default "tmp" names nothing
    config = {
        "name": run_name,
        "data": {
            "dataset": DATASETS.get(dataset_name, dataset_name),
            "modalities": modalities,
            "test_frames": frames,
            "transforms": copy.deepcopy(transform["test_transforms"]),
            "test_transforms": copy.deepcopy(transform["test_transforms"]),
        },
        "model": {"name": spec.name, "args": probe_args},
        "eval": {"metric": metric, "protocol": EVAL_FUNCS[func] or ""},
    }
    record = {
        "peer": peer,
        "peer_model": str(cfg["model_cfg"]["model"]),
        "model": spec.name,
        "num_classes": spec.num_classes,
        "modalities": modalities,
        "input_transform": transform,
    }
    return config, record


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_fits(state: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor], source: str, model: str) -> None:
    """One line naming the first key (in the model's order, then the file's) whose presence or shape differs."""
    problems: list[str] = []
    for key, tensor in own.items():
        if key not in state:
            problems.append(f"{key!r}: in the model {list(tensor.shape)}, not in the checkpoint")
        elif tuple(state[key].shape) != tuple(tensor.shape):
            problems.append(f"{key!r}: checkpoint {list(state[key].shape)} vs model {list(tensor.shape)}")
    problems += [
        f"{k!r}: in the checkpoint {list(v.shape)}, not in the model" for k, v in state.items() if k not in own
    ]
    if problems:
        more = f" ({len(problems)} mismatching keys in all)" if len(problems) > 1 else ""
        raise ValueError(
            f"{source}: not a checkpoint of the {model} the config describes: first mismatching key {problems[0]}{more}"
        )


@dataclass
class ConversionOutcome:
    """What :func:`convert_peer_checkpoint` wrote."""

    run_dir: Path
    checkpoint: Path
    peer_model: str
    model: str
    tensors: int
    iteration: int
    record: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the CLI."""
        t = self.record["input_transform"]
        inside = f"; in the model: {', '.join(t['inside_model'])}" if t["inside_model"] else ""
        return (
            f"{self.record['source']['checkpoint']} ({self.peer_model}, {self.tensors} tensors, iteration "
            f"{self.iteration}) -> {self.run_dir}: gaitforge model {self.model}, inputs {self.record['modalities']}, "
            f"test transforms {t['test_transforms']}{inside}"
        )


def convert_peer_checkpoint(
    checkpoint: str | os.PathLike[str],
    config: str | os.PathLike[str] | Mapping[str, Any],
    out: str | os.PathLike[str],
    peer: str = "opengait",
    name: str = "",
) -> ConversionOutcome:
    """Convert a peer checkpoint and its YAML config into a gaitforge run folder (see the module docstring).

    Args:
        checkpoint: The peer's ``.pt`` (``{"model": state_dict, "optimizer": ..., "scheduler": ...,
            "iteration": ...}`` or a bare state dict; a ``module.`` prefix is removed).
        config: The peer's YAML file (or its parsed dict).
        out: The run folder to create; it must not exist (an empty folder is replaced).
        peer: ``"opengait"`` or ``"fastposegait"``.
        name: Run name (default: the peer's ``evaluator_cfg.save_name``).

    Raises:
        FileNotFoundError: No checkpoint or config file.
        FileExistsError: ``out`` exists and is not empty.
        ValueError: An unsafe or unreadable checkpoint, a config key that cannot be mapped (named by its path), or
            a checkpoint whose keys or shapes do not fit the configured model (the first mismatching key is named
            with both shapes). Nothing is written then.
    """
    from gaitforge.config import config_from_dict, config_to_dict, save_config
    from gaitforge.engine.checkpoint import checkpoint_name, save_checkpoint
    from gaitforge.interop.opengait_checkpoint import read_checkpoint
    from gaitforge.models import create_model
    from gaitforge.utils.safe_yaml import load_yaml_file

    ckpt_path, out_dir = Path(checkpoint), Path(out)
    if isinstance(config, Mapping):
        peer_cfg, config_source = dict(config), "<config>"
    else:
        cfg_path = Path(config)
        config_source = str(cfg_path)
        if not cfg_path.is_file():
            raise FileNotFoundError(f"{cfg_path}: peer config not found")
        peer_cfg = load_yaml_file(cfg_path)  # bounded size and alias expansion, no duplicate keys; one-line errors
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"{out_dir}: already exists and is not an empty folder; choose another --out")
    try:
        default_name = "" if isinstance(config, Mapping) else Path(config).stem
        run_cfg, record = run_config_for(peer_cfg, peer, name or _peer_save_name(peer_cfg) or default_name)
        cfg = config_from_dict(run_cfg, source=f"conversion of {config_source}")
    except (KeyError, ValueError, TypeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise ValueError(f"{config_source}: {message}") from None
    contents = read_checkpoint(ckpt_path)
    num_classes = record["num_classes"]
    model = create_model(
        cfg.model.name, **dict(cfg.model.args), **({"num_classes": num_classes} if num_classes else {})
    )
    own = model.state_dict()
    _check_fits(contents.state, own, str(ckpt_path), f"{record['peer_model']} ({config_source})")
    for key, value in contents.state.items():
        if value.dtype != own[key].dtype and not (value.is_floating_point() and own[key].is_floating_point()):
            raise ValueError(
                f"{ckpt_path}: key {key!r} is {value.dtype} in the checkpoint, {own[key].dtype} in the model"
            )
    weights = {k: contents.state[k].to(own[k].dtype) for k in own}  # the model's key order, the file's values
    model.load_state_dict(weights, strict=True)  # a last check that the weights load
    iteration = contents.iteration or 0
    record = {
        **record,
        "source": {
            "checkpoint": str(ckpt_path),
            "sha256": _sha256(ckpt_path),
            "format": contents.format,
            "iteration": contents.iteration,
            "config": config_source,
        },
        "tensors": len(contents.state),
    }
    created = next((p for p in reversed(out_dir.absolute().parents) if not p.exists()), None)  # removed on failure
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        save_config(cfg, tmp / "config.yaml")
        ckpt = tmp / "checkpoints" / checkpoint_name(iteration)
        save_checkpoint(
            ckpt,
            {
                "model": weights,  # as read (GaitGraph's shared adjacency buffers keep each file value)
                "iteration": iteration,
                "config": config_to_dict(cfg),
                "num_classes": int(num_classes or 0),
                "label_names": [],
                "converted_from": {k: str(v) for k, v in record["source"].items()},
            },
        )
        (tmp / "conversion.json").write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked above)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(created or tmp, ignore_errors=True)  # folders this call made, and only those
        raise
    final = out_dir / "checkpoints" / ckpt.name
    logger.info("converted %s (%s) into %s", ckpt_path, record["peer_model"], out_dir)
    return ConversionOutcome(
        out_dir, final, record["peer_model"], cfg.model.name, len(contents.state), iteration, record
    )


def _peer_save_name(peer_cfg: Any) -> str:
    ev = peer_cfg.get("evaluator_cfg") if isinstance(peer_cfg, Mapping) else None
    value = ev.get("save_name") if isinstance(ev, Mapping) else None
    return value if isinstance(value, str) else ""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
