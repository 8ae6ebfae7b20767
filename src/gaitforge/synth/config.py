"""Typed configuration of the synthetic gait world.

A :class:`WorldConfig` fully determines a world: with the same config (seed included) every array is
byte-identical, whatever the number of worker processes.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "CASIA_B_CONDITIONS",
    "CASIA_B_VIEWS",
    "ArtefactConfig",
    "RealismConfig",
    "WorldConfig",
    "condition_code",
    "condition_kind",
    "parse_view",
]

#: The CASIA-B sequence types: six normal walks, two with a bag, two in a coat.
CASIA_B_CONDITIONS: tuple[str, ...] = tuple([f"nm-{i:02d}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"])
#: Eleven views, 0° (walking towards the camera) to 180° (walking away) in 18° steps; 90° is the side view.
CASIA_B_VIEWS: tuple[str, ...] = tuple(f"{a:03d}" for a in range(0, 181, 18))

_CONDITION_RE = re.compile(r"^(nm|bg|cl)-\d{2}$")
_VIEW_RE = re.compile(r"^\d{3}$")


def condition_kind(condition: str) -> str:
    """``"nm"``, ``"bg"`` or ``"cl"`` for a condition name such as ``"bg-02"``.

    Raises:
        ValueError: The name is not ``nm-NN``, ``bg-NN`` or ``cl-NN``.
    """
    if not isinstance(condition, str) or not _CONDITION_RE.match(condition):
        raise ValueError(
            f"synth: condition {condition!r} is not understood; expected 'nm-NN', 'bg-NN' or 'cl-NN' (e.g. 'nm-01')"
        )
    return condition[:2]


#: Offset of each covariate kind in :func:`condition_code`.
_KIND_CODE = {"nm": 0, "bg": 100, "cl": 200}


def condition_code(condition: str) -> int:
    """A number per condition (``nm-01`` → 1, ``bg-02`` → 102, ``cl-01`` → 201), part of a sequence's random key."""
    return _KIND_CODE[condition_kind(condition)] + int(condition[3:])


def parse_view(view: str) -> float:
    """View name (``"000"``..``"359"``) → azimuth in degrees.

    Raises:
        ValueError: The name is not three digits or is outside [0, 360).
    """
    if not isinstance(view, str) or not _VIEW_RE.match(view) or int(view) >= 360:
        raise ValueError(f"synth: view {view!r} is not understood; expected three digits in 000..359 (e.g. '090')")
    return float(int(view))


@dataclass(frozen=True)
class ArtefactConfig:
    """Segmentation artefacts added to the raw silhouettes (all off by default).

    Attributes:
        edge_noise: Probability that a pixel of the one-pixel boundary band flips.
        holes: Mean number of small holes punched into the body per frame.
        blobs: Mean number of small spurious blobs near the body per frame.
    """

    edge_noise: float = 0.0
    holes: float = 0.0
    blobs: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.edge_noise <= 1.0:
            raise ValueError(f"synth: artefacts.edge_noise must be in [0, 1], got {self.edge_noise}")
        for name in ("holes", "blobs"):
            if getattr(self, name) < 0:
                raise ValueError(f"synth: artefacts.{name} must be >= 0, got {getattr(self, name)}")

    @property
    def enabled(self) -> bool:
        """Whether any artefact is switched on."""
        return self.edge_noise > 0 or self.holes > 0 or self.blobs > 0


def _pair(value: Any, name: str, lo: float, hi: float) -> tuple[float, float]:
    v = tuple(float(x) for x in value)
    if len(v) != 2 or not lo <= v[0] <= v[1] <= hi:
        raise ValueError(f"synth: realism.{name} must be [low, high] with {lo} <= low <= high <= {hi}, got {value}")
    return v  # type: ignore[return-value]


@dataclass(frozen=True)
class RealismConfig:
    """The realistic world (see :mod:`gaitforge.synth.realistic`): population bodies, clothes, real-camera and
    real-segmenter effects. ``None`` in :class:`WorldConfig` keeps the mannequin world of earlier revisions.

    Attributes:
        fps: Frame rates drawn per sequence.
        elevation_deg: Camera elevation range (degrees above the horizontal).
        distance_m: Range of the camera's distance to the walker at mid-sequence; the camera is static along its
            line of sight (it only pans), so walkers at views near 0°/180° come closer or move away.
        person_px: Range of the walker's height in raw-canvas pixels at mid-sequence (the resolution).
        wardrobe: Outfits each identity owns; every walk wears one of them (coats come on top in ``cl``).
        carry_prob: Probability that an ``nm`` walk carries a small object anyway (``bg`` always carries a bag).
        seg_noise: Scale of the segmenter errors (0 = smooth outlines only; 1 = the calibrated amount).
        neighbour_prob: Probability that another person's blob merges with the walker for part of a sequence.
    """

    fps: tuple[float, ...] = (7.5, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0)
    elevation_deg: tuple[float, float] = (0.0, 25.0)
    distance_m: tuple[float, float] = (4.0, 16.0)
    person_px: tuple[float, float] = (40.0, 110.0)
    wardrobe: int = 3
    carry_prob: float = 0.15
    seg_noise: float = 1.0
    neighbour_prob: float = 0.15

    def __post_init__(self) -> None:
        fps = tuple(float(f) for f in self.fps)
        if not fps or any(not 1.0 <= f <= 120.0 for f in fps):
            raise ValueError(f"synth: realism.fps must be a non-empty list of rates in [1, 120], got {self.fps}")
        object.__setattr__(self, "fps", fps)
        object.__setattr__(self, "elevation_deg", _pair(self.elevation_deg, "elevation_deg", -10.0, 60.0))
        object.__setattr__(self, "distance_m", _pair(self.distance_m, "distance_m", 2.0, 100.0))
        object.__setattr__(self, "person_px", _pair(self.person_px, "person_px", 16.0, 2000.0))
        if self.wardrobe < 1:
            raise ValueError(f"synth: realism.wardrobe must be >= 1, got {self.wardrobe}")
        for name in ("carry_prob", "neighbour_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"synth: realism.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.seg_noise < 0:
            raise ValueError(f"synth: realism.seg_noise must be >= 0, got {self.seg_noise}")


@dataclass(frozen=True)
class WorldConfig:
    """Everything that defines a synthetic world.

    Attributes:
        name: Preset name, used for the store folder.
        n_subjects: Number of identities; subjects are named ``"001"``, ``"002"``, ...
        n_train: The first ``n_train`` subjects form the training split, the rest the test split.
        conditions: Sequence types (``nm-NN``, ``bg-NN``, ``cl-NN``).
        views: View names, azimuth in degrees (``"000"`` walking towards the camera, ``"090"`` side view).
        frames: Frames per sequence.
        fps: Frame rate (CASIA-B records at 25 fps).
        canvas_height, canvas_width: Raw frame size in pixels before pretreatment.
        camera_distance_m: Distance from the tracking camera to the walker (perspective strength).
        camera_elevation_deg: Camera elevation above the horizontal.
        view_jitter_deg: Standard deviation of the per-sequence azimuth error.
        identity_spread: Scale of between-identity variation (1 = human-like amounts).
        sequence_noise: Scale of within-identity (between-sequence) variation.
        pose_noise: Keypoint noise of the simulated pose estimator, as a fraction of body height in pixels.
        artefacts: Segmentation artefacts applied to raw silhouettes.
        seed: Root seed; every random draw derives from it.
        modalities: Modalities each sequence carries, from ``sil``, ``pose``, ``joints3d``, ``heatmap``.
        pose_estimator: ``"simple"`` (projected joints with noise, the default) or ``"topdown"`` (the simulated
            top-down estimator of :mod:`gaitforge.synth.estimator`: heatmaps, swaps, occlusion; ``pose`` is
            then decoded from its heatmaps). ``heatmap`` needs ``"topdown"``.
        heatmap_space: How heatmaps are normalised: ``"rgb"`` (GaitHeat's RGB-space crop / scale / centre),
            ``"heatmap"`` (the same steps measured on the heatmaps) or ``"crop"`` (raw estimator crops).
        heatmap_dtype: ``"uint8"`` (``T · 52,224`` bytes per sequence) or ``"float16"`` (``T · 104,448``).
        realism: ``None`` (the mannequin world: its arrays are unchanged by this option's existence) or a
            :class:`RealismConfig` (``fps``, ``camera_*`` and ``artefacts`` are then replaced by its draws).
    """

    name: str = "custom"
    n_subjects: int = 8
    n_train: int = 4
    conditions: tuple[str, ...] = CASIA_B_CONDITIONS
    views: tuple[str, ...] = CASIA_B_VIEWS
    frames: int = 30
    fps: float = 25.0
    canvas_height: int = 128
    canvas_width: int = 128
    camera_distance_m: float = 6.0
    camera_elevation_deg: float = 4.0
    view_jitter_deg: float = 1.0
    identity_spread: float = 1.0
    sequence_noise: float = 1.0
    pose_noise: float = 0.006
    artefacts: ArtefactConfig = field(default_factory=ArtefactConfig)
    seed: int = 0
    modalities: tuple[str, ...] = ("sil", "pose", "joints3d")
    pose_estimator: str = "simple"
    heatmap_space: str = "rgb"
    heatmap_dtype: str = "uint8"
    realism: RealismConfig | None = None

    def __post_init__(self) -> None:
        # Lists from YAML/JSON become tuples so that the config stays hashable.
        object.__setattr__(self, "conditions", tuple(self.conditions))
        object.__setattr__(self, "views", tuple(self.views))
        object.__setattr__(self, "modalities", tuple(self.modalities))
        _check_outputs(self)
        if isinstance(self.artefacts, dict):
            object.__setattr__(self, "artefacts", ArtefactConfig(**self.artefacts))
        if isinstance(self.realism, dict):
            object.__setattr__(self, "realism", RealismConfig(**self.realism))
        if self.n_subjects < 1:
            raise ValueError(f"synth: n_subjects must be >= 1, got {self.n_subjects}")
        if not 0 <= self.n_train <= self.n_subjects:
            raise ValueError(f"synth: n_train must be in [0, n_subjects={self.n_subjects}], got {self.n_train}")
        if self.frames < 1:
            raise ValueError(f"synth: frames must be >= 1, got {self.frames}")
        if self.fps <= 0:
            raise ValueError(f"synth: fps must be > 0, got {self.fps}")
        if self.canvas_height < 32 or self.canvas_width < 32:
            raise ValueError(
                f"synth: canvas must be at least 32x32 pixels, got {self.canvas_height}x{self.canvas_width}"
            )
        if self.camera_distance_m < 2.0:
            raise ValueError(f"synth: camera_distance_m must be >= 2, got {self.camera_distance_m}")
        for name in ("identity_spread", "sequence_noise", "pose_noise", "view_jitter_deg"):
            if getattr(self, name) < 0:
                raise ValueError(f"synth: {name} must be >= 0, got {getattr(self, name)}")
        if not self.conditions or not self.views:
            raise ValueError("synth: conditions and views must not be empty")
        for c in self.conditions:
            condition_kind(c)
        for v in self.views:
            parse_view(v)
        for name in ("conditions", "views"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"synth: {name} contains duplicates: {values}")

    @property
    def subjects(self) -> tuple[str, ...]:
        """Subject names, zero-padded to at least three digits."""
        width = max(3, len(str(self.n_subjects)))
        return tuple(f"{i + 1:0{width}d}" for i in range(self.n_subjects))

    @property
    def train_subjects(self) -> tuple[str, ...]:
        """The first ``n_train`` subjects."""
        return self.subjects[: self.n_train]

    @property
    def test_subjects(self) -> tuple[str, ...]:
        """The remaining subjects."""
        return self.subjects[self.n_train :]

    @property
    def n_sequences(self) -> int:
        """Number of sequences in the world."""
        return self.n_subjects * len(self.conditions) * len(self.views)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (tuples become lists)."""
        d = asdict(self)
        d["conditions"] = list(self.conditions)
        d["views"] = list(self.views)
        d["modalities"] = list(self.modalities)
        if self.realism is None:
            d.pop("realism")  # worlds of earlier revisions keep their world.json
        else:
            d["realism"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["realism"].items()}
        return d


def _check_outputs(cfg: WorldConfig) -> None:
    """Validate the modality and estimator options of a world."""
    known = ("sil", "pose", "joints3d", "heatmap")
    unknown = [m for m in cfg.modalities if m not in known]
    if not cfg.modalities or unknown or len(set(cfg.modalities)) != len(cfg.modalities):
        raise ValueError(f"synth: modalities {list(cfg.modalities)}: expected distinct names from {list(known)}")
    if cfg.pose_estimator not in ("simple", "topdown"):
        raise ValueError(f"synth: pose_estimator must be 'simple' or 'topdown', got {cfg.pose_estimator!r}")
    if "heatmap" in cfg.modalities and cfg.pose_estimator != "topdown":
        raise ValueError("synth: the 'heatmap' modality needs pose_estimator='topdown' (heatmaps come from it)")
    if cfg.heatmap_space not in ("rgb", "heatmap", "crop"):
        raise ValueError(f"synth: heatmap_space must be 'rgb', 'heatmap' or 'crop', got {cfg.heatmap_space!r}")
    if cfg.heatmap_dtype not in ("uint8", "float16"):
        raise ValueError(f"synth: heatmap_dtype must be 'uint8' or 'float16', got {cfg.heatmap_dtype!r}")
