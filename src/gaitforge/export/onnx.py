"""ONNX export of a gait model's inference path (``embed`` on stacked ``[B, T, ...]`` inputs → ``[B, C, P]``).

The graph is traced with PyTorch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``): in
torch 2.13 it exports every registered model with dynamic batch and sequence-length axes where the architecture
allows, where the ``torch.export``-based exporter took several times longer, silently specialised the batch axis
of GaitPart's per-part attention and failed on SwinGait's windowed attention. ``exporter="dynamo"``
remains available. Whatever the exporter, ``check=True`` runs the graph in ONNX Runtime against PyTorch at the
traced shape and at another batch size and length, so an axis that is declared dynamic but is not is caught
before anything is written.

Models whose forward packs variable-length sequences are exported on their fixed-length (stacked) path.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gaitforge.data.batch import Batch
from gaitforge.export.graph_fixes import normalize_transpose_perms, register_symbolics
from gaitforge.export.report import CheckResult, ExportError, ExportReport
from gaitforge.export.spec import (
    BATCH_AXIS,
    FIXED_FRAMES_DEFAULT,
    FRAMES_AXIS,
    OUTPUT_NAME,
    UNEXPORTABLE_MODELS,
    InputSpec,
    encode_metadata,
    example_frames,
    input_specs_for,
    limits_for,
)
from gaitforge.utils.atomic import atomic_write_bytes

__all__ = [
    "DEFAULT_OPSET",
    "CheckResult",
    "ExportError",
    "ExportReport",
    "config_hash",
    "export_onnx",
    "gaitforge_version",
    "registered_name",
]

logger = logging.getLogger(__name__)

#: ONNX opset used when none is given (ONNX Runtime >= 1.14 runs it).
DEFAULT_OPSET = 17
#: Sequence length traced for a dynamic-length export (any length >= every model's minimum works).
TRACE_FRAMES = 12
FORMAT_VERSION = 1


class _EmbeddingGraph(nn.Module):
    """The traced function: stacked modality tensors (in ``modalities`` order) → ``embeddings`` ``[B, C, P]``."""

    def __init__(self, model: nn.Module, modalities: Sequence[str], tile_short: int = 0) -> None:
        super().__init__()
        self.model, self.modalities, self.tile_short = model, tuple(modalities), int(tile_short)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.tile_short:
            inputs = tuple(_tile_short_sequences(x, self.tile_short) for x in inputs)
        labels = torch.full((inputs[0].shape[0],), -1, dtype=torch.long, device=inputs[0].device)
        batch = Batch(inputs=dict(zip(self.modalities, inputs)), labels=labels)
        return self.model(batch).embeddings


def _tile_short_sequences(x: torch.Tensor, minimum: int) -> torch.Tensor:
    """``[B, T, ...]`` repeated ``ceil(minimum / T)`` times along time, with tensor ops only (traceable).

    For ``minimum = 3`` this is GaitGL's rule (1 frame → 3 copies, 2 → 2 copies, 3 or more → unchanged).
    """
    t = torch._shape_as_tensor(x)[1]
    reps = (minimum + t - 1) // t
    idx = torch.arange(t * reps, device=x.device) % t
    return x.index_select(1, idx)


def registered_name(model: nn.Module) -> str | None:
    """The registry name of ``model``'s class (``None`` when it is not a registered model)."""
    from gaitforge.models import MODELS, list_models

    for name in list_models():
        try:
            cls = MODELS.get(name)
        except ImportError as exc:  # another entry's module is broken: it cannot be this model's class
            logger.debug("registry entry %r does not import (%s)", name, exc)
            continue
        if cls is type(model):
            return name
    return None


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    inputs: Mapping[str, Sequence[int]] | None = None,
    frames: int | None = None,
    opset: int | None = None,
    check: bool = True,
    check_inputs: Mapping[str, np.ndarray] | None = None,
    tolerance: float = 1e-4,
    exporter: str = "torchscript",
    model_name: str | None = None,
    metric: str | None = None,
    metadata: Mapping[str, object] | None = None,
) -> ExportReport:
    """Export ``model``'s embeddings to an ONNX file, written atomically.

    Args:
        model: A :class:`~gaitforge.models.GaitModel` (exported in eval mode; its mode is restored after).
        path: Output ``.onnx`` file.
        inputs: Per-frame shape by modality, e.g. ``{"sil": (32, 22)}``; defaults to 64x44 silhouettes (see
            :data:`~gaitforge.export.spec.DEFAULT_FRAME_SHAPES`) for the model's ``input_modalities``.
        frames: Fixed sequence length, or ``None`` for a dynamic one. Models whose architecture cannot take a
            dynamic length (:data:`~gaitforge.export.spec.EXPORT_LIMITS`) are then fixed at 30 frames.
        opset: ONNX opset (default :data:`DEFAULT_OPSET`, or the model's ``min_opset`` from its export limits).
        check: Compare ONNX Runtime with PyTorch (``[2, T]``, plus ``[3, T']`` over the dynamic axes) and raise
            :class:`ExportError` on a mismatch; nothing is written then.
        check_inputs: Modality → ``[B, T, ...]`` float32 arrays to check on instead of synthetic ones (used as
            the first check input).
        tolerance: Allowed ``max |ONNX − PyTorch|`` relative to ``max(1, max |PyTorch|)``.
        exporter: ``"torchscript"`` (default) or ``"dynamo"``.
        model_name: Name stored in the metadata (default: the registry name of the model's class).
        metric: Retrieval distance the embeddings are meant for (``euc`` / ``cos``), stored in the metadata.
        metadata: Extra ``gaitforge.*`` metadata (e.g. ``config_hash``).

    Returns:
        The :class:`ExportReport`.

    Raises:
        ValueError: an unknown exporter, a model listed as unexportable, or a bad input shape.
        ExportError: the exporter failed or the graph does not reproduce PyTorch.
    """
    started = time.perf_counter()
    if exporter not in ("torchscript", "dynamo"):
        raise ValueError(f"exporter: expected 'torchscript' or 'dynamo', got {exporter!r}")
    name = model_name or registered_name(model) or type(model).__name__
    if name in UNEXPORTABLE_MODELS:
        raise ValueError(f"model {name!r} cannot be exported to ONNX: {UNEXPORTABLE_MODELS[name]}")
    limits = limits_for(name)
    if frames is not None and int(frames) < 1:
        raise ValueError(f"frames: expected a positive sequence length or None (dynamic), got {frames}")
    note = limits.reason
    if frames is None and not limits.dynamic_frames:
        frames = FIXED_FRAMES_DEFAULT
        logger.warning("%s: the sequence length cannot be dynamic (%s); exporting %d frames", name, note, frames)
    modalities = tuple(getattr(model, "input_modalities", ("sil",)))
    batch = None if limits.dynamic_batch else 1
    specs = input_specs_for(modalities, inputs, frames, batch)
    dynamic = tuple(a for a, fixed in ((BATCH_AXIS, batch), (FRAMES_AXIS, frames)) if fixed is None)
    if opset is not None and int(opset) < limits.min_opset:
        raise ValueError(f"opset: model {name!r} needs ONNX opset >= {limits.min_opset} ({note}), got {opset}")
    opset = int(opset or max(DEFAULT_OPSET, limits.min_opset))

    was_training = model.training
    # eval() on the wrapper too: the exporter restores the wrapper's own mode recursively after tracing
    graph = _EmbeddingGraph(model, modalities, limits.tile_short_sequences).eval()
    try:
        trace_frames = int(frames) if frames is not None else TRACE_FRAMES
        example = [torch.from_numpy(example_frames(s, batch or 2, trace_frames)) for s in specs]
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        example = [x.to(device) for x in example]
        with torch.no_grad():
            embedding = graph(*example)
        embedding_shape: tuple[int | str, ...] = (batch or BATCH_AXIS, *(int(v) for v in embedding.shape[1:]))
        meta: dict[str, object] = {
            "format_version": FORMAT_VERSION,
            "model": name,
            "inputs": [s.to_dict() for s in specs],
            "embedding_shape": list(embedding_shape),
            "dynamic_axes": list(dynamic),
            "exporter": exporter,
            "version": gaitforge_version(),
            "torch_version": torch.__version__,
            **({"metric": metric} if metric else {}),
            **({"note": note} if note else {}),
            **(metadata or {}),
        }
        traced = _trace(graph, example, specs, dynamic, opset, exporter, name)
        data, opset = _with_metadata(traced, encode_metadata(meta), name)
        checks: tuple[CheckResult, ...] = ()
        if check:  # on the exact bytes that will be written
            checks = _check(graph, data, specs, batch, trace_frames, check_inputs, tolerance, name, device)
    finally:
        model.train(was_training)
    atomic_write_bytes(path, data)
    report = ExportReport(
        path=Path(path),
        model_name=name,
        inputs=specs,
        embedding_shape=embedding_shape,
        dynamic_axes=dynamic,
        exporter=exporter,
        opset=opset,
        note=note,
        checks=checks,
        metadata=encode_metadata(meta),
        size_bytes=len(data),
        seconds=time.perf_counter() - started,
    )
    logger.info("exported %s to %s (max |ONNX - PyTorch| = %s)", name, path, report.max_abs_diff)
    return report


def _trace(
    graph: nn.Module,
    example: list[torch.Tensor],
    specs: tuple[InputSpec, ...],
    dynamic: tuple[str, ...],
    opset: int,
    exporter: str,
    name: str,
) -> bytes:
    """The serialized ONNX model (without gaitforge metadata)."""
    names = [s.name for s in specs]
    axes = {i: a for i, a in enumerate((BATCH_AXIS, FRAMES_AXIS)) if a in dynamic}
    output_axes = {0: BATCH_AXIS} if BATCH_AXIS in dynamic else {}
    torch_onnx_log = logging.getLogger("torch.onnx")
    level = torch_onnx_log.level
    torch_onnx_log.setLevel(logging.ERROR)  # the dynamo exporter's notices (opset bump, missing torchvision ops)
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        try:
            if exporter == "torchscript":
                register_symbolics()
                buffer = io.BytesIO()
                torch.onnx.export(
                    graph,
                    tuple(example),
                    buffer,
                    dynamo=False,
                    input_names=names,
                    output_names=[OUTPUT_NAME],
                    dynamic_axes={**{n: axes for n in names}, OUTPUT_NAME: output_axes},
                    opset_version=opset,
                )
                data = buffer.getvalue()
            else:
                dims = {i: torch.export.Dim(a, min=1) for i, a in axes.items()}
                program = torch.onnx.export(
                    graph,
                    tuple(example),
                    dynamo=True,
                    input_names=names,
                    output_names=[OUTPUT_NAME],
                    dynamic_shapes=(tuple(dims for _ in names),),  # one entry: the *inputs tuple
                    opset_version=max(opset, 18),  # its lowest implemented opset
                    verbose=False,
                )
                data = program.model_proto.SerializeToString()
        except Exception as exc:
            first = str(exc).strip().split("\n\n")[0][:800]  # the TorchScript exporter appends the whole graph
            raise ExportError(f"model {name!r}: torch.onnx.export ({exporter}) failed: {first}") from exc
        finally:
            torch_onnx_log.setLevel(level)
    for w in {str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)}:
        logger.debug("%s export: %s", name, w)
    return data


def _check(
    graph: nn.Module,
    onnx_bytes: bytes,
    specs: tuple[InputSpec, ...],
    batch: int | None,
    trace_frames: int,
    check_inputs: Mapping[str, np.ndarray] | None,
    tolerance: float,
    name: str,
    device: torch.device,
) -> tuple[CheckResult, ...]:
    """Run ONNX Runtime and PyTorch on the check inputs; raise :class:`ExportError` on a mismatch."""
    from gaitforge.export.runtime import make_session

    try:
        session = make_session(onnx_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime rejects the graph (an operator or type it cannot run)
        raise ExportError(f"model {name!r}: ONNX Runtime cannot load the exported graph: {exc}") from exc
    if check_inputs is not None:
        missing = [s.name for s in specs if s.name not in check_inputs]
        if missing:
            raise ValueError(f"check_inputs: missing modalities {missing}")
        cases = [[np.ascontiguousarray(check_inputs[s.name], dtype=np.float32) for s in specs]]
    else:
        cases = [[example_frames(s, batch or 2, trace_frames, np.random.default_rng(1)) for s in specs]]
    other = (batch or 3, trace_frames + 7 if specs[0].shape[1] == FRAMES_AXIS else trace_frames)
    if other != (batch or 2, trace_frames) or check_inputs is not None:  # a second shape over the dynamic axes
        cases.append([example_frames(s, *other, np.random.default_rng(2)) for s in specs])
    results = []
    for arrays in cases:
        b, t = arrays[0].shape[:2]
        with torch.no_grad():
            expected = graph(*(torch.from_numpy(a).to(device) for a in arrays)).float().cpu().numpy()
        try:
            got = session.run([OUTPUT_NAME], {s.name: a for s, a in zip(specs, arrays)})[0]
        except Exception as exc:
            raise ExportError(_mismatch(name, b, t, f"ONNX Runtime failed: {exc}")) from exc
        if got.shape != expected.shape:
            raise ExportError(_mismatch(name, b, t, f"output shape {list(got.shape)}, PyTorch {list(expected.shape)}"))
        diff, scale = float(np.abs(got - expected).max()), float(np.abs(expected).max())
        if not np.isfinite(diff) or diff > tolerance * max(1.0, scale):
            raise ExportError(_mismatch(name, b, t, f"max |ONNX - PyTorch| = {diff:.3g} (outputs up to {scale:.3g})"))
        results.append(CheckResult(int(b), int(t), diff, scale))
    return tuple(results)


def _mismatch(name: str, batch: int, frames: int, what: str) -> str:
    return (
        f"model {name!r}: the ONNX graph does not reproduce PyTorch on a [{batch}, {frames}, ...] input ({what}). "
        "If the forward depends on the batch size or the frame count in Python, export with a fixed frames=N, "
        "or record the model in gaitforge.export.spec.EXPORT_LIMITS with the reason."
    )


def _with_metadata(onnx_bytes: bytes, props: Mapping[str, str], name: str) -> tuple[bytes, int]:
    """Check the graph and add ``metadata_props``; returns the new bytes and the graph's ONNX opset."""
    import onnx

    proto = onnx.load_from_string(onnx_bytes)
    normalize_transpose_perms(proto)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"model {name!r}: the exported ONNX graph is invalid: {exc}") from exc
    existing = {p.key: p for p in proto.metadata_props}
    for key, value in props.items():
        entry = existing.get(key) or proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"gaitforge {props.get('gaitforge.model', name)} embeddings [batch, C, P]"
    opset = next((int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    return proto.SerializeToString(), opset


def gaitforge_version() -> str:
    """The installed gaitforge version (``"unknown"`` when running from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gaitforge")
    except PackageNotFoundError:
        return "unknown"


def config_hash(config: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the config as canonical JSON (sorted keys), identifying the training recipe."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
