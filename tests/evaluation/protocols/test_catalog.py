from __future__ import annotations

import numpy as np
import pytest

from gaitforge.evaluation import get_protocol, list_protocols, protocol_for_dataset, score_embeddings

NAMES = [
    "casia-b",
    "oumvlp",
    "casia-e",
    "sustech1k",
    "grew",
    "grew-submission",
    "hid-submission",
    "gait3d",
    "ccgr-mini",
    "ccgr",
    "ccgr-easy",
    "freegait",
    "ccpg",
    "scoliosis1k",
]


def test_every_protocol_is_registered() -> None:
    assert sorted(NAMES) == list_protocols()
    for name in NAMES:
        proto = get_protocol(name)
        assert proto.name == name and proto.description
    assert get_protocol("casia-b").cross_view_variant().family == "cross_view"
    assert get_protocol("gait3d").cross_view_variant() is None


@pytest.mark.parametrize(
    ("dataset", "name"),
    [
        ("CASIA-B", "casia-b"),
        ("casia_b", "casia-b"),
        ("OU-MVLP", "oumvlp"),
        ("OUMVLP", "oumvlp"),
        ("CASIA-E", "casia-e"),
        ("SUSTech1K", "sustech1k"),
        ("GREW", "grew"),
        ("Gait3D", "gait3d"),
        ("CCGR-MINI", "ccgr-mini"),
        ("CCGR", "ccgr"),
        ("FreeGait", "freegait"),
        ("CCPG", "ccpg"),
        ("Scoliosis1K", "scoliosis1k"),
        ("HID", "hid-submission"),
    ],
)
def test_protocol_for_dataset(dataset: str, name: str) -> None:
    assert protocol_for_dataset(dataset) == name


def test_unknown_dataset_and_protocol() -> None:
    with pytest.raises(KeyError, match="known datasets"):
        protocol_for_dataset("MNIST")
    x = np.zeros((2, 3, 1), np.float32)
    with pytest.raises(ValueError, match="unknown protocol 'mnist'"):
        score_embeddings("mnist", x, ["a", "b"], ["c", "d"], ["e", "f"])
    with pytest.raises(ValueError, match="no cross-view-gallery variant.*casia-b, oumvlp"):
        score_embeddings("gait3d", x, ["a", "b"], ["c", "d"], ["e", "f"], cross_view_gallery=True)
    with pytest.raises(ValueError, match="re-ranking is defined for hid-submission only"):
        score_embeddings("casia-b", x, ["a", "b"], ["c", "d"], ["e", "f"], rerank=True)
    with pytest.raises(ValueError, match="metric"):
        score_embeddings("casia-b", x, ["a", "b"], ["c", "d"], ["e", "f"], metric="l2")
    with pytest.raises(ValueError, match="NaN or inf"):
        score_embeddings(
            "casia-b", np.full((2, 3, 1), np.nan, np.float32), ["a", "b"], ["c", "d"], ["e", "f"]
        )
