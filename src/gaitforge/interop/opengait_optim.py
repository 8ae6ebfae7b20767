"""The training half of the OpenGait config conversion: the peer's ``loss_cfg``, ``optimizer_cfg`` and
``scheduler_cfg`` become gaitforge's ``losses``, ``optimizer`` and ``scheduler``, every key reported.

A part of :mod:`gaitforge.interop.opengait_config` (its converter inherits these sections). Facts about the
peer's losses, solvers and schedulers are from OpenGait (snapshot 0efafd4): ``opengait/modeling/losses``,
``opengait/modeling/base_model.py``, ``opengait/modeling/models/swingait.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaitforge.interop import opengait_tables as peer

if TYPE_CHECKING:
    from gaitforge.interop.opengait_report import ReportEntry

__all__ = ["OptimSections"]


class OptimSections:
    """Loss, optimiser and scheduler sections of the converter (``_Converter`` provides the state and the report
    helpers declared here)."""

    if TYPE_CHECKING:
        source: str
        cfg: dict[str, Any]
        out: dict[str, Any]
        entries: dict[str, ReportEntry]
        routes: dict[str, str]
        spec: Any
        peer_model: str

        def mapped(self, path: str, target: str, reason: str = "") -> None: ...
        def ignored(self, path: str, reason: str) -> None: ...
        def unsupported(self, path: str, reason: str) -> None: ...
        def set(self, dotted: str, value: Any) -> None: ...
        def section(self, name: str) -> dict[str, Any]: ...

    def losses(self) -> None:
        node = self.cfg.get("loss_cfg")
        items = [(f"loss_cfg[{i}]", v) for i, v in enumerate(node)] if isinstance(node, list) else [("loss_cfg", node)]
        for path, loss in items:
            if not isinstance(loss, Mapping):
                self.unsupported(path, f"expected a mapping, got {loss!r}")
                continue
            kind, prefix = loss.get("type"), str(loss.get("log_prefix", ""))
            if kind not in ("TripletLoss", "CrossEntropyLoss"):
                self.unsupported(path, f"loss {kind!r} has no gaitforge counterpart")
                continue
            i = len(self.out["losses"])
            what = "embeddings" if kind == "TripletLoss" else "logits"
            route = self.routes.get(f"training_feat/{prefix}/{what}")
            if route is None:
                self.unsupported(path, f"{self.spec.name} has no output the peer calls training_feat/{prefix}/{what}")
                continue
            route = {"opengait_logits": "compact_logits"}.get(route, route)  # GLN: the CE layout of its logits
            entry: dict[str, Any] = {"name": "triplet" if kind == "TripletLoss" else "ce"}
            entry["weight"] = float(loss.get("loss_term_weight", 1.0))
            entry["input"] = route
            self.mapped(f"{path}.type", f"losses[{i}].name")
            self.mapped(
                f"{path}.log_prefix", f"losses[{i}].input", f"training_feat/{prefix} is {self.spec.name}'s {route!r}"
            )
            if "loss_term_weight" in loss:
                self.mapped(f"{path}.loss_term_weight", f"losses[{i}].weight")
            known = {"type", "log_prefix", "loss_term_weight"}
            if kind == "TripletLoss":
                entry["margin"] = float(loss.get("margin", 0.2))
                known |= {"margin"}
                if "margin" in loss:
                    self.mapped(f"{path}.margin", f"losses[{i}].margin")
            else:
                smooth = loss.get("label_smooth", True)
                entry["scale"] = float(loss.get("scale", 16))
                entry["label_smoothing"] = float(loss.get("eps", 0.1)) if smooth else 0.0
                known |= {"scale", "label_smooth", "eps", "log_accuracy"}
                for k, target in (("scale", "scale"), ("label_smooth", "label_smoothing"), ("eps", "label_smoothing")):
                    if k in loss:
                        self.mapped(f"{path}.{k}", f"losses[{i}].{target}")
                self.ignored(f"{path}.log_accuracy", "gaitforge's cross-entropy always logs its accuracy")
            for k in loss:
                if k not in known:
                    self.ignored(
                        f"{path}.{k}",
                        f"not an argument of the peer's {kind}: {peer.PEER_DROPS}"
                        + ("; the weight stays 1.0" if k == "loss_term_weights" else ""),
                    )
            self.out["losses"].append(entry)
        if not self.out["losses"]:
            raise ValueError(f"{self.source}: loss_cfg: no loss could be converted (see the report)")

    def optimizer(self) -> None:
        o = self.section("optimizer_cfg")
        solver = o.get("solver", "SGD")
        name = peer.SOLVERS.get(solver)
        if name is None:
            self.unsupported("optimizer_cfg", f"solver {solver!r}: gaitforge has SGD, Adam and AdamW")
            return
        self.set("optimizer.name", name)
        self.mapped("optimizer_cfg.solver", "optimizer.name")
        accepted = {"lr", "weight_decay", "momentum", "nesterov"} if name == "sgd" else {"lr", "weight_decay", "betas"}
        dropped = {"betas", "eps", "amsgrad"} if name == "sgd" else {"momentum", "nesterov", "dampening"}
        for key, value in o.items():
            path = f"optimizer_cfg.{key}"
            if key == "solver":
                continue
            if key in accepted:
                self.set(f"optimizer.{key}", _number(path, value, key))
                self.mapped(path, f"optimizer.{key}")
            elif key in dropped:
                self.ignored(path, f"not an argument of torch's {solver}: {peer.PEER_DROPS}")
            elif key in peer.TORCH_OPTIM_DEFAULTS and value == peer.TORCH_OPTIM_DEFAULTS[key]:
                self.ignored(path, f"torch's default for {solver}, which gaitforge uses too")
            else:
                self.unsupported(path, f"{solver} argument {key}={value!r} has no gaitforge optimizer key")
        if name == "sgd" and "momentum" not in o:
            self.set("optimizer.momentum", 0.0)  # torch's SGD default, which the peer then uses
        if name == "adamw" and self.peer_model != "SwinGait":
            self.entries[
                "optimizer_cfg.solver"
            ].reason = (
                "gaitforge's AdamW does not decay 1-D parameters (norms, biases); the peer's decays every parameter"
            )
        if self.peer_model == "SwinGait":  # the peer's SwinGait.get_optimizer: built-in groups
            self.set(
                "optimizer.param_groups",
                [
                    {
                        "params": [
                            "transformer.*patch_embed*",
                            "transformer.*norm*",
                            "transformer.*relative_position_bias_table*",
                        ],
                        "weight_decay": 0.0,
                    },
                    {"params": "transformer.*"},
                    {"params": ["FCs.*", "BNNecks.*", "layer0.*", "layer1.*", "layer2.*"], "lr_scale": 0.1},
                ],
            )
            self.entries["model_cfg.model"].reason = (
                "SwinGait's built-in optimiser groups (no decay on the patch embedding, norms and position-bias "
                "tables; 0.1 x lr for the convolutional stem and the head) are written as optimizer.param_groups"
            )

    def scheduler(self) -> None:
        s = self.section("scheduler_cfg")
        kind = s.get("scheduler", "MultiStepLR")
        if self.peer_model == "SwinGait":
            t_max = int(self.section("trainer_cfg").get("T_max_iter", 0))
            lr = float(self.out["optimizer"].get("lr", 0.1))
            self.set("scheduler.name", "cosine")
            self.set("scheduler.cosine_iterations", t_max)
            self.set("scheduler.update_every", 1000)
            self.set("scheduler.min_lr", 1e-6 / lr)
            self.ignored(
                "scheduler_cfg",
                "SwinGait sets its rate itself: a cosine over trainer_cfg.T_max_iter updated "
                "every 1000 iterations down to 1e-6 (here min_lr = 1e-6 / lr, a fraction of each group's rate)",
            )
            return
        if kind == "MultiStepLR":
            self.set("scheduler.name", "multistep")
            self.mapped("scheduler_cfg.scheduler", "scheduler.name")
            for key, conv in (("milestones", lambda v: [int(m) for m in v]), ("gamma", float)):
                if key in s:
                    self.set(f"scheduler.{key}", conv(s[key]))
                    self.mapped(f"scheduler_cfg.{key}", f"scheduler.{key}")
        elif kind == "CosineAnnealingLR":
            lr = float(self.out["optimizer"].get("lr", 0.1))
            self.set("scheduler.name", "cosine")
            self.mapped("scheduler_cfg.scheduler", "scheduler.name")
            if "T_max" in s:
                self.set("scheduler.cosine_iterations", int(s["T_max"]))
                self.mapped("scheduler_cfg.T_max", "scheduler.cosine_iterations", "the peer's cosine then rises again")
            self.set("scheduler.min_lr", float(s.get("eta_min", 0.0)) / lr)
            if "eta_min" in s:
                self.mapped("scheduler_cfg.eta_min", "scheduler.min_lr", "as a fraction of optimizer.lr")
        else:
            self.unsupported("scheduler_cfg", f"scheduler {kind!r}: gaitforge has multistep, cosine and constant")


def _number(path: str, value: Any, key: str) -> Any:
    """Optimiser values as YAML-safe numbers (the peer's YAML may hold ``1e-4`` as a string)."""
    if key == "nesterov":
        return bool(value)
    if key == "betas":
        return [_number(path, v, "beta") for v in value]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: expected a number, got {value!r}") from None
