"""Binary morphology against a direct neighbourhood loop."""

from __future__ import annotations

import itertools

import pytest
import torch

from gaitforge.models.morphology import dilate, erode


def _reference(x: torch.Tensor, k: int, reduce) -> torch.Tensor:
    """Max / min over the in-image part of each k × k window, one pixel at a time."""
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    r = k // 2
    for i, j in itertools.product(range(h), range(w)):
        window = x[..., max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1]
        out[..., i, j] = reduce(window.flatten(-2), dim=-1).values
    return out


@pytest.mark.parametrize("k", [3, 5])
def test_dilation_and_erosion_match_the_neighbourhood_definition(k: int) -> None:
    x = (torch.rand(2, 1, 9, 7, generator=torch.Generator().manual_seed(k)) > 0.4).float()
    torch.testing.assert_close(dilate(x, k), _reference(x, k, torch.max), rtol=0, atol=0)
    torch.testing.assert_close(erode(x, k), _reference(x, k, torch.min), rtol=0, atol=0)


def test_the_image_border_does_not_erode() -> None:
    ones = torch.ones(1, 1, 6, 5)
    assert torch.equal(erode(ones, 5), ones)
    assert torch.equal(dilate(torch.zeros(1, 1, 6, 5), 3), torch.zeros(1, 1, 6, 5))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="odd"):
        dilate(torch.zeros(1, 1, 4, 4), 4)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        erode(torch.zeros(4, 4), 3)
