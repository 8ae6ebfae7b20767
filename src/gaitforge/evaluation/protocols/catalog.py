"""Every evaluation protocol of the field, as data. Probe/gallery sets are the peer's (OpenGait 0efafd4)."""

from __future__ import annotations

from .base import Condition, TypeSet
from .ccgr import CrossCovariateGrid
from .ccpg import ClothChangingProtocol
from .classification import Classification
from .retrieval import PartitionRetrieval, RealScene
from .submissions import NearestLabelSubmission, TopKSubmission
from .view_grid import CrossViewGallery, SingleViewGallery

__all__ = ["CATALOG"]


def _types(*names: str, match: str = "exact") -> TypeSet:
    return TypeSet(tuple(names), match)


def _casia_e(kind: str) -> TypeSet:
    """CASIA-E probe types: H/L resolution × scenes 2, 3, 3_s × sequences 1, 2."""
    return _types(
        *(
            f"{res}-{scene}-{kind}-{seq}"
            for scene in ("scene2", "scene3", "scene3_s")
            for res in ("H", "L")
            for seq in (1, 2)
        )
    )


_CASIA_B_VIEWS = tuple(f"{a:03d}" for a in range(0, 181, 18))
_OUMVLP_VIEWS = tuple(f"{a:03d}" for a in (*range(0, 91, 15), *range(180, 271, 15)))
_SUSTECH_VIEWS = (
    "000",
    "000-far",
    "045",
    "090",
    "090-near",
    "135",
    "180",
    "180-far",
    "225",
    "270",
    "270-far",
    "315",
)

CATALOG = (
    SingleViewGallery(
        "casia-b",
        "CASIA-B",
        aliases=("CASIA_B", "CASIAB"),
        description="CASIA-B: NM/BG/CL probes vs NM #1-4 gallery per view pair, identical view excluded",
        conditions=(
            Condition("NM", _types("nm-05", "nm-06")),
            Condition("BG", _types("bg-01", "bg-02")),
            Condition("CL", _types("cl-01", "cl-02")),
        ),
        gallery=_types("nm-01", "nm-02", "nm-03", "nm-04"),
        known_views=_CASIA_B_VIEWS,
        cross_view=CrossViewGallery(
            "casia-b",
            "CASIA-B",
            description="CASIA-B cross-view gallery: Rank-1 and mAP",
            conditions=(
                Condition("NM", _types("nm-01")),
                Condition("BG", _types("bg-01")),
                Condition("CL", _types("cl-01")),
            ),
            gallery=_types("nm-02", "bg-02", "cl-02"),
            known_views=_CASIA_B_VIEWS,
        ),
    ),
    SingleViewGallery(
        "oumvlp",
        "OUMVLP",
        aliases=("OU-MVLP", "OU_MVLP"),
        description="OU-MVLP: probe 00 vs gallery 01 per view pair, identical view excluded",
        conditions=(Condition("NM", _types("00")),),
        gallery=_types("01"),
        known_views=_OUMVLP_VIEWS,
        cross_view=CrossViewGallery(
            "oumvlp",
            "OUMVLP",
            description="OU-MVLP cross-view gallery: Rank-1 and mAP",
            conditions=(Condition("NM", _types("00")),),
            gallery=_types("01"),
            known_views=_OUMVLP_VIEWS,
        ),
    ),
    SingleViewGallery(
        "casia-e",
        "CASIA-E",
        aliases=("CASIA_E", "CASIAE"),
        description="CASIA-E: scene 2/3 NM/BG/CL probes vs scene-1 NM gallery, view 270 dropped",
        conditions=(
            Condition("NM", _casia_e("nm")),
            Condition("BG", _casia_e("bg")),
            Condition("CL", _casia_e("cl")),
        ),
        gallery=_types("H-scene1-nm-1", "H-scene1-nm-2", "L-scene1-nm-1", "L-scene1-nm-2"),
        drop_views=("270",),
    ),
    SingleViewGallery(
        "sustech1k",
        "SUSTech1K",
        aliases=("SUSTECH-1K",),
        description="SUSTech1K: eight covariates + overall vs 00-nm gallery (substring types), rank 1-5",
        conditions=tuple(
            Condition(name, _types(*frags, match="substring"))
            for name, frags in (
                ("Normal", ("01-nm",)),
                ("Bag", ("bg",)),
                ("Clothing", ("cl",)),
                ("Carrying", ("cr",)),
                ("Umberalla", ("ub",)),
                ("Uniform", ("uf",)),
                ("Occlusion", ("oc",)),
                ("Night", ("nt",)),
                ("Overall", ("01", "02", "03", "04")),
            )
        ),
        gallery=_types("00-nm", match="substring"),
        num_rank=5,
        known_views=_SUSTECH_VIEWS,
    ),
    RealScene(
        "grew",
        "GREW",
        description="GREW local check: probe 02 vs gallery 01, Rank-1..20 over all probes",
        probe=_types("02"),
        gallery=_types("01"),
        num_rank=20,
        reported=(1, 5),
    ),
    TopKSubmission(
        "grew-submission",
        "GREW",
        description="GREW test submission: top-20 gallery ids per probe (type 03)",
        probe=_types("03"),
        gallery=_types("01", "02"),
        k=20,
        id_header="videoId",
        label_style="int",
    ),
    NearestLabelSubmission(
        "hid-submission",
        "HID",
        aliases=("HID2022", "HID2023"),
        description="HID submission: nearest gallery label per probe, optional k-reciprocal re-ranking",
    ),
    PartitionRetrieval(
        "gait3d",
        "Gait3D",
        description="Gait3D: PROBE_SET vs the rest; Rank-1/5/10, mAP, mINP",
        partition_key="PROBE_SET",
        listed_role="probe",
    ),
    PartitionRetrieval(
        "ccgr-mini",
        "CCGR-MINI",
        aliases=("CCGR_MINI",),
        description="CCGR-MINI: GALLERY_SET vs the rest; Rank-1/5/10, mAP, mINP",
        partition_key="GALLERY_SET",
        listed_role="gallery",
    ),
    CrossCovariateGrid(
        "ccgr",
        "CCGR",
        description="CCGR: 54 conditions x views grid; Rank-1/5 hard (all conditions) and easy (NM1 gallery)",
    ),
    CrossCovariateGrid(
        "ccgr-easy",
        "CCGR",
        description="CCGR quick easy mode: NM1 gallery only; Rank-1/5 easy over all 54 probe conditions",
        hard=False,
    ),
    PartitionRetrieval(
        "freegait",
        "FreeGait",
        description="FreeGait: PROBE_SET vs the rest; Rank-1/5/10, mAP, mINP",
        partition_key="PROBE_SET",
        listed_role="probe",
    ),
    ClothChangingProtocol(
        "ccpg",
        "CCPG",
        description="CCPG: CL/UP/DN/BG, gait view grid and re-ID CMC/mAP/mINP",
        conditions=(
            Condition("CL", _types("U0_D0_BG", "U0_D0"), _types("U1_D1", "U2_D2", "U3_D3")),
            Condition("UP", _types("U3_D3"), _types("U0_D3")),
            Condition("DN", _types("U1_D0"), _types("U1_D1")),
            Condition("BG", _types("U0_D0_BG"), _types("U0_D0")),
        ),
    ),
    Classification(
        "scoliosis1k",
        "Scoliosis1K",
        description="Scoliosis1K: accuracy, macro precision/recall/F1 from logits",
        classes=("negative", "neutral", "positive"),
    ),
)
