"""ONNX Runtime inference of an exported gait model, with the input conventions of the PyTorch model.

``OnnxEmbedder(path)(frames)`` takes what ``GaitModel.embed`` takes, as NumPy: one ``[B, T, ...]`` array for a
single-modality model, or a modality → array mapping, and returns the embeddings ``[B, C, P]``. The inputs are
checked against the shapes the file declares (its ``gaitforge.*`` metadata, or the graph's own inputs for a file
gaitforge did not write) before anything runs, so a wrong input fails with its name and the expected shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gaitforge.export.spec import OUTPUT_NAME, InputSpec, decode_metadata

__all__ = ["OnnxEmbedder", "make_session", "read_metadata"]

logger = logging.getLogger(__name__)

_ONNX_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16"}


def make_session(model: str | Path | bytes, providers: Sequence[str] | None = None, threads: int | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` for a file or serialized model.

    Args:
        model: ``.onnx`` path or model bytes.
        providers: Execution providers in order of preference (default: every available local one, CPU last).
        threads: Intra-op threads (default: ONNX Runtime's choice, one per physical core).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only; failures surface as exceptions anyway
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads: expected a positive thread count or None, got {threads}")
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    available = ort.get_available_providers()
    if providers is None:
        # accelerators first; the Azure provider calls remote endpoints, not a local graph
        local = [p for p in available if p not in ("CPUExecutionProvider", "AzureExecutionProvider")]
        providers = [*local, "CPUExecutionProvider"]
    unknown = [p for p in providers if p not in available]
    if unknown:
        raise ValueError(f"providers: {unknown} are not available in this onnxruntime; available: {available}")
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=options, providers=list(providers))


def read_metadata(path: str | Path) -> dict[str, object]:
    """The ``gaitforge.*`` metadata of an ONNX file, decoded (``model``, ``inputs``, ``embedding_shape``, ...)."""
    import onnx

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: ONNX file not found")
    proto = onnx.load(str(p), load_external_data=False)
    return decode_metadata({m.key: m.value for m in proto.metadata_props}, source=str(p))


class OnnxEmbedder:
    """Embeddings ``[B, C, P]`` from an exported model, run by ONNX Runtime.

    Args:
        path: The ``.onnx`` file (from :func:`~gaitforge.export.export_onnx` or ``gaitforge export``).
        providers: ONNX Runtime execution providers (default: every available one, CPU last).
        threads: Intra-op threads (default: ONNX Runtime's choice).

    Example:
        >>> embedder = OnnxEmbedder("gaitbase.onnx", threads=2)
        >>> embeddings = embedder(silhouettes)  # [B, T, 64, 44] float32 in [0, 1] → [B, C, P]
    """

    def __init__(self, path: str | Path, providers: Sequence[str] | None = None, threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: ONNX file not found")
        self.session = make_session(self.path, providers, threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, object] = decode_metadata(meta, source=str(self.path))
        self.inputs: tuple[InputSpec, ...] = self._input_specs()
        self.output_name = OUTPUT_NAME if OUTPUT_NAME in [o.name for o in self.session.get_outputs()] else None

    def _input_specs(self) -> tuple[InputSpec, ...]:
        graph_inputs = self.session.get_inputs()
        declared = self.metadata.get("inputs")
        if isinstance(declared, list):
            specs = tuple(InputSpec.from_dict(d) for d in declared)
            if [s.name for s in specs] != [i.name for i in graph_inputs]:
                raise ValueError(
                    f"{self.path}: metadata 'gaitforge.inputs' names {[s.name for s in specs]}, "
                    f"but the graph's inputs are {[i.name for i in graph_inputs]}"
                )
            return specs
        logger.info("%s has no gaitforge metadata; validating inputs against the graph's declared shapes", self.path)
        return tuple(
            InputSpec(
                i.name,
                tuple(d if isinstance(d, int) else str(d or "?") for d in i.shape),
                _ONNX_DTYPES.get(i.type, i.type),
            )
            for i in graph_inputs
        )

    @property
    def model_name(self) -> str | None:
        """Registered name of the exported model (from the metadata)."""
        value = self.metadata.get("model")
        return None if value is None else str(value)

    @property
    def metric(self) -> str | None:
        """Distance the embeddings were trained for (``euc`` / ``cos``), when recorded."""
        value = self.metadata.get("metric")
        return None if value is None else str(value)

    def __call__(self, inputs: np.ndarray | Mapping[str, np.ndarray]) -> np.ndarray:
        """Embeddings ``[B, C, P]`` float32 of stacked ``[B, T, ...]`` inputs (one array, or modality → array).

        Raises:
            ValueError: a missing or unexpected input, or a shape that does not fit the exported graph.
            TypeError: an input whose dtype is not floating point (or bool).
        """
        feed = self._validate(inputs)
        names = [self.output_name] if self.output_name else None
        if not self.one_at_a_time:
            return self.session.run(names, feed)[0]
        n = next(iter(feed.values())).shape[0]
        return np.concatenate(
            [self.session.run(names, {k: v[i : i + 1] for k, v in feed.items()})[0] for i in range(n)]
        )

    @property
    def one_at_a_time(self) -> bool:
        """Whether the graph's batch axis is fixed at 1 (see ``EXPORT_LIMITS``): batches then run per sequence."""
        return self.inputs[0].shape[0] == 1

    embed = __call__

    def _validate(self, inputs: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not isinstance(inputs, Mapping):
            inputs = {self.inputs[0].name: inputs}
        names = [s.name for s in self.inputs]
        missing = [n for n in names if n not in inputs]
        extra = [n for n in inputs if n not in names]
        if missing or extra:
            raise ValueError(f"{self.path.name}: expected inputs {names}; missing {missing}, unexpected {extra}")
        feed: dict[str, np.ndarray] = {}
        bound: dict[str, tuple[int, str]] = {}  # symbolic axis → (size, input that fixed it)
        for spec in self.inputs:
            x = np.asarray(inputs[spec.name])
            expected = f"[{', '.join(str(v) for v in spec.shape)}] {spec.dtype}"
            given = f"{list(x.shape)} {x.dtype}"
            if x.dtype.kind not in "fb":
                raise TypeError(
                    f"{self.path.name}: input {spec.name!r} expected {expected}, given {given} "
                    "(integer frames must be scaled to [0, 1] floats first, as the sil_cut transform does)"
                )
            if x.ndim != len(spec.shape):
                raise ValueError(f"{self.path.name}: input {spec.name!r} expected shape {expected}, given {given}")
            for axis, (want, have) in enumerate(zip(spec.shape, x.shape)):
                if axis == 0 and self.one_at_a_time:
                    want = "batch"  # any batch size: run one sequence at a time
                if isinstance(want, int) and want != have:
                    hint = "; this export has a fixed sequence length, re-export with --frames N" if axis == 1 else ""
                    raise ValueError(
                        f"{self.path.name}: input {spec.name!r} expected shape {expected}, given {given} "
                        f"(axis {axis} must be {want}{hint})"
                    )
                if isinstance(want, str):
                    if have < 1:
                        raise ValueError(f"{self.path.name}: input {spec.name!r} has an empty axis {want!r}: {given}")
                    size, owner = bound.setdefault(want, (have, spec.name))
                    if size != have:
                        raise ValueError(
                            f"{self.path.name}: input {spec.name!r} has {want} = {have}, "
                            f"but input {owner!r} has {want} = {size}"
                        )
            feed[spec.name] = np.ascontiguousarray(x, dtype=np.dtype(spec.dtype))
        return feed

    def __repr__(self) -> str:
        ins = "; ".join(s.describe() for s in self.inputs)
        return f"OnnxEmbedder({str(self.path)!r}, model={self.model_name!r}, inputs={ins})"
