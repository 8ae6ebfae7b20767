"""SMPLGait against the OpenGait reference outputs (checks in zoo_parity.py; the stored logits are classes
[0, 512) of 3000), and SMPL vectors that do not fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from .zoo_parity import check, load, params


@pytest.mark.parametrize(("name", "what"), params(["SMPLGait"]))
def test_matches_reference(fixtures_dir: Path, name: str, what: str) -> None:
    check(str(fixtures_dir / "models"), name, what)


def test_the_smpl_vectors_change_the_embedding(fixtures_dir: Path) -> None:
    _, arrays, model = load(str(fixtures_dir / "models"), "SMPLGait")
    sils = torch.from_numpy(np.ascontiguousarray(arrays["input_fixed__sils"][:1, :4]))
    smpl = torch.from_numpy(np.ascontiguousarray(arrays["input_fixed__smpls"][:1, :4]))
    a = model.embed({"sil": sils, "smpl": smpl})
    b = model.embed({"sil": sils, "smpl": smpl.flip(1)})
    assert not torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize(
    ("smpl", "pattern"),
    [
        (torch.zeros(1, 4, 72), r"inputs\['smpl'\]: expected \[B, T, 85\] SMPL vectors .* got \[1, 4, 72\]"),
        (torch.zeros(1, 3, 85), r"inputs\['smpl'\]: \[1, 3\] sequences × frames, but the silhouettes have \[1, 4\]"),
        (torch.zeros(1, 4, 85).index_fill(1, torch.tensor([2]), float("nan")), r"NaN or inf\) in sequence 0, frame 2"),
    ],
)
def test_bad_smpl_vectors_are_named(fixtures_dir: Path, smpl: torch.Tensor, pattern: str) -> None:
    _, arrays, model = load(str(fixtures_dir / "models"), "SMPLGait")
    sils = torch.from_numpy(np.ascontiguousarray(arrays["input_fixed__sils"][:1, :4]))
    with pytest.raises(ValueError, match=pattern):
        model.embed({"sil": sils, "smpl": smpl})
    with pytest.raises(KeyError, match=r"inputs\['smpl'\]: missing"):
        model.embed({"sil": sils})
