"""What an exported gait model takes and gives: input specs, per-model export limits, metadata keys.

Shared by the exporter (:mod:`gaitforge.export.onnx`) and the runtime (:mod:`gaitforge.export.runtime`), so that
both read the same conventions: one ONNX input per modality named after it, ``[batch, frames, *frame_shape]``
float32, and one output ``embeddings`` ``[batch, C, P]``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BATCH_AXIS",
    "FRAMES_AXIS",
    "OUTPUT_NAME",
    "DEFAULT_FRAME_SHAPES",
    "FIXED_FRAMES_DEFAULT",
    "InputSpec",
    "ModelExportLimits",
    "EXPORT_LIMITS",
    "UNEXPORTABLE_MODELS",
    "META_PREFIX",
    "JSON_FIELDS",
    "limits_for",
    "input_specs_for",
    "example_frames",
    "encode_metadata",
    "decode_metadata",
]

logger = logging.getLogger(__name__)

#: Names of the symbolic ONNX axes.
BATCH_AXIS, FRAMES_AXIS = "batch", "frames"
#: Name of the ONNX output.
OUTPUT_NAME = "embeddings"
#: Per-frame input shapes by modality when the caller gives none: 64x44 silhouettes (the field's 64x64
#: pretreatment, cut by ``sil_cut``), 2-channel skeleton maps of the same size, COCO-17 keypoints (x, y, conf)
#: and COCO-17 heatmaps on the 64x48 grid of top-down pose estimators.
DEFAULT_FRAME_SHAPES: dict[str, tuple[int, ...]] = {
    "sil": (64, 44),
    "skeleton_map": (2, 64, 44),
    "pose": (17, 3),
    "heatmap": (17, 64, 48),
    "depth": (3, 64, 64),
    "points": (1024, 4),
    "smpl": (85,),
    "parsing": (64, 44),
    "rgb": (3, 64, 64),
    "ratio": (1,),
    "diffusion_feature": (4, 96, 48),
    "flow": (3, 64, 44),
}
#: Sequence length of an export whose architecture cannot take a dynamic one, when the caller gives none.
FIXED_FRAMES_DEFAULT = 30
#: Prefix of the keys gaitforge writes into the ONNX ``metadata_props``.
META_PREFIX = "gaitforge."


@dataclass(frozen=True)
class InputSpec:
    """One ONNX input: a modality as ``[batch, frames, *frame_shape]``.

    Attributes:
        name: Modality name (``sil``, ``skeleton_map``, ...), also the ONNX input name.
        shape: Full shape; symbolic axes are strings (``"batch"``, ``"frames"``).
        dtype: NumPy dtype name of the input (``float32``).
    """

    name: str
    shape: tuple[int | str, ...]
    dtype: str = "float32"

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one frame (everything after batch and frames)."""
        return tuple(int(v) for v in self.shape[2:])

    def describe(self) -> str:
        """E.g. ``sil [batch, frames, 64, 44] float32``."""
        return f"{self.name} [{', '.join(str(v) for v in self.shape)}] {self.dtype}"

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> InputSpec:
        shape = tuple(v if isinstance(v, str) else int(v) for v in data["shape"])  # type: ignore[union-attr]
        return cls(str(data["name"]), shape, str(data.get("dtype", "float32")))


@dataclass(frozen=True)
class ModelExportLimits:
    """What keeps a model's ONNX graph from being fully general, and what the exporter does about it.

    Attributes:
        dynamic_batch: Whether the batch size can be a dynamic ONNX axis (else it is exported as 1 and
            :class:`~gaitforge.export.OnnxEmbedder` runs a batch one sequence at a time).
        dynamic_frames: Whether the sequence length can be a dynamic ONNX axis.
        tile_short_sequences: Sequences shorter than this are tiled (``x.repeat`` along time) inside the
            exported graph, reproducing a shape-dependent Python branch of the model; 0 for none.
        min_opset: Lowest ONNX opset that has every operator the model needs (0: the default opset is enough).
        reason: Why, naming the model code responsible (shown in reports and the docs).
    """

    dynamic_batch: bool = True
    dynamic_frames: bool = True
    tile_short_sequences: int = 0
    min_opset: int = 0
    reason: str = ""


#: Registered models whose export needs care, with the reason. The test suite checks every entry is still
#: needed (exported without its limits, a fixed axis really fails the check and a lower opset fails to export).
EXPORT_LIMITS: dict[str, ModelExportLimits] = {
    "swingait": ModelExportLimits(
        dynamic_frames=False,
        reason=(
            "SwinBlock3D._attention and SwinStage3D.forward (models/swin3d.py) compute the window padding, the "
            "effective window and the shifted-window mask from Python ints of the frame count, so the traced "
            "graph only holds for the traced length"
        ),
    ),
    "gaitgl": ModelExportLimits(
        tile_short_sequences=3,
        reason=(
            "GaitGL._trunk (models/gaitgl.py) repeats sequences of 1 or 2 frames in a Python branch on the "
            "frame count; the export repeats them with tensor ops instead (exactly the same frames)"
        ),
    ),
    "gaitedge": ModelExportLimits(
        tile_short_sequences=3,
        reason=(
            "GaitEdge runs GaitGL._trunk (models/gaitgl.py) on its aligned crops, which repeats sequences of 1 or 2 "
            "frames in a Python branch on the frame count; the export repeats the inputs with tensor ops instead "
            "(the U-Net and GaitAlign work per frame, so this gives the same crops)"
        ),
    ),
    "gaitheat_released": ModelExportLimits(
        dynamic_batch=False,
        dynamic_frames=False,
        min_opset=20,
        reason=(
            "GaitHeatReleased.forward (models/gaitheat_released.py) min-max normalises each sequence in a Python "
            "loop over the list [T] * B (sequence_min_max), so the traced graph holds only for the traced batch "
            "size and length; its alignment uses F.affine_grid (ONNX opset 20)"
        ),
    ),
    "gaitheat": ModelExportLimits(
        min_opset=20,
        reason=(
            "PoseGuidedAlignment warps heatmaps with F.affine_grid (models/gaitheat.py warp_frames), which ONNX has "
            "only from opset 20 (AffineGrid)"
        ),
    ),
}

#: Registered models that cannot be exported at all, with the reason (none today). The test suite checks that
#: each entry still fails to export.
UNEXPORTABLE_MODELS: dict[str, str] = {}


def limits_for(model_name: str | None) -> ModelExportLimits:
    """The export limits of a registered model (no limits when it has no entry)."""
    return EXPORT_LIMITS.get((model_name or "").lower(), ModelExportLimits())


def input_specs_for(
    modalities: Sequence[str],
    frame_shapes: Mapping[str, Sequence[int]] | None = None,
    frames: int | None = None,
    batch: int | None = None,
) -> tuple[InputSpec, ...]:
    """Input specs for a model's modalities.

    Args:
        modalities: The model's ``input_modalities``, in order.
        frame_shapes: Per-frame shape by modality (e.g. ``{"sil": (32, 22)}``); missing ones come from
            :data:`DEFAULT_FRAME_SHAPES`.
        frames: Fixed sequence length, or ``None`` for a dynamic ``frames`` axis.
        batch: Fixed batch size, or ``None`` for a dynamic ``batch`` axis.

    Raises:
        ValueError: a modality has neither a given nor a default frame shape, or a shape is not positive.
    """
    given = dict(frame_shapes or {})
    unknown = sorted(set(given) - set(modalities))
    if unknown:
        raise ValueError(f"frame shapes given for {unknown}, but the model reads only {list(modalities)}")
    specs = []
    for name in modalities:
        shape = given.get(name, DEFAULT_FRAME_SHAPES.get(name))
        if shape is None:
            raise ValueError(
                f"input {name!r}: no default per-frame shape for this modality; give it, e.g. "
                f"inputs={{{name!r}: (K, H, W)}} (CLI: --input-shape {name}=KxHxW)"
            )
        shape = tuple(int(v) for v in shape)
        if not shape or min(shape) < 1:
            raise ValueError(f"input {name!r}: per-frame shape must be positive, got {list(shape)}")
        lead = (BATCH_AXIS if batch is None else int(batch), FRAMES_AXIS if frames is None else int(frames))
        specs.append(InputSpec(name, (*lead, *shape)))
    return tuple(specs)


def example_frames(spec: InputSpec, batch: int, frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """A realistic-magnitude float32 input ``[batch, frames, *frame_shape]`` for checks and benchmarks.

    Silhouettes are binary masks (values 0 and 1, as after ``sil_cut``); keypoints ``[..., 3]`` have x, y within
    ±112.5 px of the origin (``pose_rescale_center``: neck-centred, 225 px tall) and a confidence in ``[0, 1)``;
    parsing maps hold label ids 0..11; other modalities (skeleton maps, heatmaps) are uniform in ``[0, 1)``, the
    range they are scaled to.
    """
    rng = rng or np.random.default_rng(0)
    shape = (int(batch), int(frames), *spec.frame_shape)
    if spec.name == "sil":
        return (rng.random(shape) > 0.5).astype(np.float32)
    if spec.name == "ratio":  # bounding-box width / height of a walking person
        return (0.3 + 0.4 * rng.random(shape)).astype(np.float32)
    if spec.name == "parsing":  # Gait3D-Parsing label ids 0..11
        return rng.integers(0, 12, shape).astype(np.float32)
    x = rng.random(shape, dtype=np.float32)
    if spec.name == "pose" and shape[-1] == 3:
        x[..., :2] = (x[..., :2] - 0.5) * 225.0
    return x


#: Metadata fields stored as JSON; the others are plain strings.
JSON_FIELDS = frozenset({"inputs", "embedding_shape", "dynamic_axes", "format_version", "model_args"})


def encode_metadata(values: Mapping[str, object]) -> dict[str, str]:
    """``{"model": "gaitbase", "inputs": [...]}`` → ``{"gaitforge.model": "gaitbase", "gaitforge.inputs": "[...]"}``
    (fields in :data:`JSON_FIELDS` as JSON, the others as strings)."""
    return {META_PREFIX + k: json.dumps(v, sort_keys=True) if k in JSON_FIELDS else str(v) for k, v in values.items()}


def decode_metadata(props: Mapping[str, str], source: str = "ONNX model") -> dict[str, object]:
    """Inverse of :func:`encode_metadata` for the ``gaitforge.*`` keys (other keys are dropped).

    Raises:
        ValueError: a JSON field does not parse (the message names ``source`` and the key).
    """
    out: dict[str, object] = {}
    for key, value in props.items():
        if not key.startswith(META_PREFIX):
            continue
        name = key[len(META_PREFIX) :]
        if name not in JSON_FIELDS:
            out[name] = value
            continue
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: metadata {key!r} is not valid JSON ({exc}): {value[:80]!r}") from exc
    return out
