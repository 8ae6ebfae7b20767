"""Convert an OpenGait YAML config into a gaitforge config, with a report of what happened to every key.

The peer's file is merged over the peer's ``configs/default.yaml`` (as the peer does), then every leaf key path
(``trainer_cfg.sampler.batch_size``, ``loss_cfg[1].scale``, ``trainer_cfg.transform[0].trf_cfg[2].prob``) is
listed exactly once in the report as **mapped** (to the gaitforge key it became), **ignored** (with the reason it
needs no gaitforge counterpart) or **unsupported** (with the reason it cannot be honoured). A key the converter
does not know is reported as unsupported, never dropped. ``model_cfg`` is translated by
:func:`gaitforge.interop.opengait.peer_model_spec`, so the converted model has the peer's state-dict layout; the
class count is left to the training set (the trainer sizes the classifier), and the report gives the peer's.

Facts about the peer's keys and defaults are from OpenGait (snapshot 0efafd4): ``configs/default.yaml``,
``opengait/modeling/base_model.py``, ``opengait/data/transform.py``, ``opengait/modeling/losses``,
``opengait/modeling/models/swingait.py`` (its built-in parameter groups and cosine schedule).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from gaitforge.interop import opengait_tables as peer
from gaitforge.interop.opengait_optim import OptimSections
from gaitforge.interop.opengait_report import ConversionResult, ReportEntry
from gaitforge.interop.opengait_tables import PEER_DEFAULTS

__all__ = ["PEER_DEFAULTS", "ConversionResult", "ReportEntry", "convert_opengait_config"]

logger = logging.getLogger(__name__)


def _merge(dst: dict[str, Any], src: Mapping[str, Any]) -> dict[str, Any]:
    """The peer's merge: mappings merged recursively, anything else replaced."""
    for key, value in src.items():
        if isinstance(value, Mapping) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = copy.deepcopy(value)
    return dst


def _leaves(node: Any, path: str) -> list[tuple[str, Any]]:
    """Leaf paths: mappings and lists of mappings are descended; scalars and lists of scalars are leaves."""
    if isinstance(node, Mapping):
        if not node:
            return [(path, node)]
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list) and node and any(isinstance(v, (Mapping, list)) for v in node):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, node)]


def _has_field(cls: type, name: str) -> bool:
    return any(f.name == name for f in fields(cls))


class _Converter(OptimSections):
    """One conversion: the merged peer config in, gaitforge sections and report entries out."""

    def __init__(self, peer: Mapping[str, Any], source: str) -> None:
        if not isinstance(peer, Mapping):
            raise ValueError(f"{source}: expected a mapping of config sections, got {type(peer).__name__}")
        self.source = source
        self.cfg = _merge(copy.deepcopy(PEER_DEFAULTS), peer)
        self.in_file = {p for p, _ in _leaves(peer, "")}
        self.values = dict(_leaves(self.cfg, ""))
        self.entries: dict[str, ReportEntry] = {}
        self.out: dict[str, Any] = {
            "name": "run",
            "data": {},
            "model": {},
            "losses": [],
            "optimizer": {},
            "scheduler": {},
            "train": {},
            "eval": {},
        }

    # -- report ------------------------------------------------------------------------------------------------
    def note(self, path: str, status: str, target: str = "", reason: str = "") -> None:
        """Record one key (once: the first word on a path wins); paths under ``path`` are recorded with it."""
        under = [p for p in self.values if p == path or p.startswith(path + ".") or p.startswith(path + "[")]
        for p in under:  # a key that is not in the config is not reported
            if p in self.entries:
                continue
            source = "file" if p in self.in_file else "default"
            self.entries[p] = ReportEntry(p, status, target, reason, self.values.get(p), source)

    def mapped(self, path: str, target: str, reason: str = "") -> None:
        self.note(path, "mapped", target, reason)

    def ignored(self, path: str, reason: str) -> None:
        self.note(path, "ignored", reason=reason)

    def unsupported(self, path: str, reason: str) -> None:
        self.note(path, "unsupported", reason=reason)

    def set(self, dotted: str, value: Any) -> None:
        node = self.out
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value

    def section(self, name: str) -> dict[str, Any]:
        node = self.cfg.get(name)
        return node if isinstance(node, dict) else {}

    # -- sections ----------------------------------------------------------------------------------------------
    def run(self) -> ConversionResult:
        from gaitforge.config import config_from_dict

        for name in self.cfg:
            if name not in PEER_DEFAULTS:
                self.unsupported(
                    name,
                    "not a section of the peer's config (data_cfg, evaluator_cfg, loss_cfg, "
                    "model_cfg, optimizer_cfg, scheduler_cfg, trainer_cfg)",
                )
        self.model()
        self.data()
        self.trainer()
        self.evaluator()
        self.losses()
        self.optimizer()
        self.scheduler()
        for path in self.values:  # nothing is dropped: what no section claimed is reported
            if path not in self.entries:
                self.unsupported(path, "unknown key: not part of the peer's config schema known to gaitforge")
        config = {k: v for k, v in self.out.items() if v != {}}
        try:
            config_from_dict(config, source=f"conversion of {self.source}")
        except ValueError as exc:  # a converter bug, not a user error: say so
            raise RuntimeError(f"the converted config does not validate: {exc}") from exc
        order = {p: i for i, p in enumerate(self.values)}
        entries = sorted(self.entries.values(), key=lambda e: order.get(e.path, len(order)))
        return ConversionResult(config, entries, self.source, self.peer_model, self.spec.num_classes)

    def model(self) -> None:
        from gaitforge.interop.opengait import DEFAULT_OUTPUT_ROUTES, peer_model_spec
        from gaitforge.models import create_model

        model_cfg = self.section("model_cfg")
        try:
            self.spec = peer_model_spec(model_cfg)
        except (KeyError, ValueError, TypeError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise ValueError(f"{self.source}: {msg}") from None
        self.peer_model = str(model_cfg["model"])
        args = {k: v for k, v in self.spec.kwargs.items() if k != "num_classes"}
        self.set("model.name", self.spec.name)
        self.set("model.args", args)
        probe = create_model(self.spec.name, **{**args, **({"num_classes": 2} if self.spec.num_classes else {})})
        self.routes = dict(getattr(probe, "opengait_outputs", DEFAULT_OUTPUT_ROUTES))
        self.modalities = list(probe.input_modalities)
        for path in self.values:
            if not path.startswith("model_cfg."):
                continue
            if path.endswith("class_num"):
                self.ignored(
                    path, "gaitforge sizes the classifier from the training set (the trainer sets num_classes)"
                )
            else:
                self.mapped(path, f"model.name / model.args ({self.spec.name})")

    def data(self) -> None:
        from gaitforge.evaluation import protocol_for_dataset

        d = self.section("data_cfg")
        name = str(d.get("dataset_name", ""))
        dataset = peer.DATASETS.get(name, name)
        self.set("data.dataset", dataset)
        try:
            self.protocol = protocol_for_dataset(dataset)
            self.mapped("data_cfg.dataset_name", "data.dataset")
        except KeyError:
            self.protocol = ""
            self.unsupported("data_cfg.dataset_name", f"gaitforge has no evaluation protocol for {name!r}")
        self.set("data.store", f"datasets/{dataset}-store")
        self.ignored(
            "data_cfg.dataset_root",
            "a folder of the peer's pkl files is not a gaitforge store: import it with "
            "gaitforge.io.opengait_pkl.import_opengait_pkl and point data.store at it "
            f"(written as datasets/{dataset}-store)",
        )
        if "dataset_partition" in d:
            self.set("data.partition", str(d["dataset_partition"]))
            self.mapped("data_cfg.dataset_partition", "data.partition", "the same TRAIN_SET / TEST_SET JSON")
        if "num_workers" in d:
            self.set("data.num_workers", int(d["num_workers"]))
            self.mapped("data_cfg.num_workers", "data.num_workers")
        if d.get("remove_no_gallery", False):
            self.unsupported("data_cfg.remove_no_gallery", "gaitforge protocols decide probe and gallery themselves")
        else:
            self.ignored("data_cfg.remove_no_gallery", "false: nothing to remove")
        self.ignored("data_cfg.cache", "gaitforge's store is memory-mapped; there is nothing to cache")
        test_name = d.get("test_dataset_name", name)
        if test_name == name:
            self.ignored("data_cfg.test_dataset_name", "the same as dataset_name")
        else:
            self.unsupported(
                "data_cfg.test_dataset_name",
                f"evaluating on another dataset ({test_name}): use `gaitforge eval RUN --store ... --protocol ...`",
            )
        self.set("data.modalities", self.modalities)
        if "data_in_use" in d:
            self.mapped(
                "data_cfg.data_in_use",
                "data.modalities",
                "the peer picks pkl files by position; gaitforge reads the model's modalities by name "
                f"{self.modalities}",
            )

    def trainer(self) -> None:
        from gaitforge.config import TrainConfig

        t = self.section("trainer_cfg")
        self.set("name", str(t.get("save_name", "run")))
        self.mapped("trainer_cfg.save_name", "name")
        simple = {
            "enable_float16": "train.amp",
            "log_iter": "train.log_every",
            "save_iter": "train.save_every",
            "total_iter": "train.iterations",
        }
        for key, target in simple.items():
            if key in t:
                self.set(target, bool(t[key]) if key == "enable_float16" else int(t[key]))
                self.mapped(f"trainer_cfg.{key}", target)
        for key, target in (("sync_BN", "sync_bn"), ("find_unused_parameters", "find_unused_parameters")):
            if key in t and _has_field(TrainConfig, target):
                self.set(f"train.{target}", bool(t[key]))
                self.mapped(f"trainer_cfg.{key}", f"train.{target}", "takes effect under torchrun (DDP)")
            elif key in t:
                self.ignored(f"trainer_cfg.{key}", "one process: nothing to synchronise")
        if t.get("fix_BN"):
            self.unsupported("trainer_cfg.fix_BN", "frozen BatchNorm statistics is not supported")
        else:
            self.ignored("trainer_cfg.fix_BN", "false: the default behaviour")
        if t.get("with_test"):  # the peer tests after every checkpoint it saves
            self.set("train.eval_every", int(t.get("save_iter", PEER_DEFAULTS["trainer_cfg"]["save_iter"])))
            self.mapped("trainer_cfg.with_test", "train.eval_every", "= save_iter, as the peer tests at every save")
        else:
            self.ignored("trainer_cfg.with_test", "false: the default behaviour")
        self.restore(t)
        if "T_max_iter" in t:
            if self.peer_model == "SwinGait":
                self.mapped("trainer_cfg.T_max_iter", "scheduler.cosine_iterations", "SwinGait's built-in cosine")
            else:
                self.ignored("trainer_cfg.T_max_iter", f"only SwinGait reads it, not {self.peer_model}")
        self.sampler("trainer_cfg.sampler", self.section("trainer_cfg").get("sampler", {}), train=True)
        self.set("data.transforms", self.transforms("trainer_cfg.transform", t.get("transform")))

    def restore(self, t: dict[str, Any]) -> None:
        hint = t.get("restore_hint", 0)
        if isinstance(hint, str) and hint:
            self.set("train.init_from", hint)
            self.mapped("trainer_cfg.restore_hint", "train.init_from", "a warm start from another run's weights")
            self.set("train.init_strict", bool(t.get("restore_ckpt_strict", True)))
            self.mapped("trainer_cfg.restore_ckpt_strict", "train.init_strict")
            for key in ("optimizer_reset", "scheduler_reset"):
                if t.get(key, False):
                    self.ignored(
                        f"trainer_cfg.{key}", "a gaitforge warm start always starts a fresh optimiser and schedule"
                    )
                elif key == "scheduler_reset" and self.peer_model == "SwinGait":
                    self.ignored(
                        f"trainer_cfg.{key}",
                        "SwinGait sets its learning rate itself, so a restored schedule has no effect in the peer",
                    )
                else:
                    self.unsupported(
                        f"trainer_cfg.{key}",
                        "false asks to restore optimiser/scheduler state from another run; a gaitforge warm start "
                        "loads weights only (use `gaitforge train --resume` to continue a run of your own)",
                    )
            return
        reason = (
            "0: training starts from scratch"
            if not hint
            else f"{hint}: resuming a run is `gaitforge train --resume` (from the run folder's newest checkpoint)"
        )
        self.ignored("trainer_cfg.restore_hint", reason)
        for key in ("restore_ckpt_strict", "optimizer_reset", "scheduler_reset"):
            self.ignored(f"trainer_cfg.{key}", "only matters when restore_hint names a checkpoint")

    def sampler(self, path: str, s: Any, train: bool) -> None:
        if not isinstance(s, Mapping):
            self.unsupported(path, f"expected a mapping, got {s!r}")
            return
        frames = "data.train_frames" if train else "data.test_frames"
        for key, sub in peer.SAMPLER_FRAMES.items():
            if key in s:
                value = str(s[key]) if key == "sample_type" else int(s[key])
                self.set(f"{frames}.{sub}", value)
                self.mapped(f"{path}.{key}", f"{frames}.{sub}")
        expected = "TripletSampler" if train else "InferenceSampler"
        if s.get("type", expected) == expected:
            self.ignored(
                f"{path}.type", f"{expected}: what gaitforge's {'P×K sampler' if train else 'evaluation'} does"
            )
        else:
            self.unsupported(f"{path}.type", f"sampler {s.get('type')!r}: gaitforge has only P×K training batches")
        self.ignored(
            f"{path}.batch_shuffle",
            "gaitforge draws the subjects of every batch at random"
            if train
            else "the order of evaluation does not change the results",
        )
        size = s.get("batch_size")
        if train:
            if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size):
                self.set("data.p", int(size[0]))
                self.set("data.k", int(size[1]))
                self.mapped(f"{path}.batch_size", "data.p, data.k")
            else:
                self.unsupported(f"{path}.batch_size", f"expected [P, K], got {size!r}")
        elif isinstance(size, int):
            self.set("eval.batch_size", size)
            self.mapped(f"{path}.batch_size", "eval.batch_size", "the peer's is the total over all GPUs")

    def evaluator(self) -> None:
        e = self.section("evaluator_cfg")
        self.ignored("evaluator_cfg.enable_float16", "gaitforge evaluates in float32")
        self.ignored("evaluator_cfg.restore_ckpt_strict", "gaitforge eval always loads a checkpoint strictly")
        self.ignored("evaluator_cfg.restore_hint", "the checkpoint to evaluate is the argument of `gaitforge eval`")
        self.ignored("evaluator_cfg.save_name", "results are written into the run folder")
        func = e.get("eval_func", "evaluate_indoor_dataset")
        if func in peer.EVAL_FUNCS:
            protocol = peer.EVAL_FUNCS[func] or self.protocol
            if protocol:
                self.set("eval.protocol", protocol)
                self.mapped("evaluator_cfg.eval_func", "eval.protocol")
            else:
                self.unsupported("evaluator_cfg.eval_func", f"{func}: no protocol for this dataset")
        else:
            self.unsupported("evaluator_cfg.eval_func", f"unknown evaluation function {func!r}")
        if e.get("metric", "euc") in ("euc", "cos"):
            self.set("eval.metric", str(e.get("metric", "euc")))
            self.mapped("evaluator_cfg.metric", "eval.metric")
        else:
            self.unsupported("evaluator_cfg.metric", f"expected euc or cos, got {e.get('metric')!r}")
        if "cross_view_gallery" in e:
            self.set("eval.cross_view_gallery", bool(e["cross_view_gallery"]))
            self.mapped("evaluator_cfg.cross_view_gallery", "eval.cross_view_gallery")
        self.sampler("evaluator_cfg.sampler", e.get("sampler", {}), train=False)
        self.set("data.test_transforms", self.transforms("evaluator_cfg.transform", e.get("transform")))

    def transforms(self, path: str, node: Any) -> list[dict[str, Any]]:
        """The peer's per-input transform list → one gaitforge list (applied to every modality)."""
        if node is None:
            self.ignored(path, "no transform: frames go in unchanged")
            return []
        if isinstance(node, Mapping):
            return self.transform(path, node)
        if not isinstance(node, list) or not node:
            self.unsupported(path, f"expected a list of transforms, got {node!r}")
            return [{"name": "sil_cut"}]
        if len(node) > 1 and any(n != node[0] for n in node[1:]):
            for i in range(1, len(node)):
                self.unsupported(
                    f"{path}[{i}]",
                    "gaitforge applies one transform list to every modality; this "
                    f"input's transform differs from {path}[0]'s",
                )
        elif len(node) > 1:
            for i in range(1, len(node)):
                self.ignored(f"{path}[{i}]", f"the same as {path}[0], which gaitforge applies to every modality")
        return self.transform(f"{path}[0]", node[0])

    def transform(self, path: str, t: Any) -> list[dict[str, Any]]:
        if not isinstance(t, Mapping) or "type" not in t:
            self.unsupported(path, f"expected a mapping with 'type', got {t!r}")
            return []
        kind = t["type"]
        args = {k: v for k, v in t.items() if k != "type"}
        self.mapped(f"{path}.type", "data.transforms" if path.startswith("trainer") else "data.test_transforms")

        def take(known: set[str]) -> None:
            for k in args:
                if k not in known:
                    self.ignored(f"{path}.{k}", f"not an argument of the peer's {kind}: {peer.PEER_DROPS}")

        if kind == "Compose":
            take({"trf_cfg"})
            steps = args.get("trf_cfg")
            if not isinstance(steps, list):
                self.unsupported(f"{path}.trf_cfg", f"expected a list, got {steps!r}")
                return []
            return [out for i, step in enumerate(steps) for out in self.transform(f"{path}.trf_cfg[{i}]", step)]
        if kind in ("BaseSilCuttingTransform", "BaseSilTransform"):
            take({"divsor", "cutting"} if kind == "BaseSilCuttingTransform" else {"divsor", "img_shape"})
            step: dict[str, Any] = {"name": "sil_cut"}
            if kind == "BaseSilTransform":
                step["cut"] = 0
                if args.get("img_shape") is not None:
                    self.unsupported(f"{path}.img_shape", "reshaping frames to img_shape is not supported")
            elif args.get("cutting") is not None:
                step["cut"] = int(args["cutting"])
            for k in ("divsor", "cutting", "img_shape"):
                if k in args and f"{path}.{k}" not in self.entries:
                    self.mapped(f"{path}.{k}", "sil_cut.scale" if k == "divsor" else "sil_cut.cut")
            if float(args.get("divsor", 255.0)) != 255.0:
                step["scale"] = 1.0 / float(args["divsor"])
            return [step]
        if kind in peer.TRANSFORMS:
            name, rename, fixed = peer.TRANSFORMS[kind]
            take(set(rename))
            values = {**peer.TRANSFORM_DEFAULTS[kind], **args}
            step = {"name": name, **{rename[k]: _plain(values[k]) for k in rename if k in values}, **fixed}
            for k in args:
                if k in rename:
                    self.mapped(f"{path}.{k}", f"{name}.{rename[k]}")
            return [step]
        if kind == "DA4GaitSSB":
            take(set(peer.DA4GAITSSB))
            v = {**peer.DA4GAITSSB, **args}
            for k in args:
                if k in peer.DA4GAITSSB:
                    self.mapped(f"{path}.{k}", "data.transforms (the preset's steps)")
            cut = {} if v["cutting"] is None else {"cut": int(v["cutting"])}
            band = {"top_range": list(v["top_range"]), "bot_range": list(v["bot_range"])}
            return [
                {"name": "random_affine", "p": float(v["ra_prob"])},
                {"name": "random_perspective", "p": float(v["rp_prob"])},
                {"name": "sil_cut", **cut},
                {"name": "random_horizontal_flip", "p": float(v["rhf_prob"])},
                {"name": "random_part_dilate", "p": float(v["rpd_prob"]), **band},
                {"name": "random_part_blur", "p": float(v["rpb_prob"]), **band},
            ]
        if kind == "NoOperation":
            take(set())
            self.entries[f"{path}.type"].reason = "a no-op: nothing to add"
            return []
        self.entries.pop(f"{path}.type", None)
        self.unsupported(path, f"transform {kind!r} has no gaitforge counterpart")
        return []


def _plain(value: Any) -> Any:
    """YAML-safe copy (tuples → lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def convert_opengait_config(peer: Mapping[str, Any], source: str = "<dict>") -> ConversionResult:
    """Convert a peer (OpenGait) config dict into a gaitforge config dict and a per-key report.

    Args:
        peer: The parsed YAML of an OpenGait config (it is merged over the peer's defaults first).
        source: Where it came from, for messages and the report.

    Returns:
        The :class:`ConversionResult`; ``result.config`` loads with :func:`gaitforge.config.config_from_dict` and
        its model builds with ``create_model(name, num_classes=..., **args)`` with the state-dict layout of
        ``interop.opengait.build_model(model_cfg)``.

    Raises:
        ValueError: ``peer`` is not a mapping, its ``model_cfg`` cannot be translated (the message names the
            key), or no loss can be converted.
    """
    return _Converter(peer, source).run()
