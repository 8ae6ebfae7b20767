"""Mixed precision: which dtype a run autocasts to, with or without a loss scaler, and the errors for bad choices."""

from __future__ import annotations

import pytest
import torch

from gaitforge.engine.precision import resolve_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)  # resolving never touches the device


@pytest.mark.parametrize(
    ("amp", "amp_dtype", "device", "dtype", "scaler"),
    [
        (True, "auto", CPU, None, False),  # CPU default: full precision
        (True, "auto", CUDA, torch.float16, True),
        (True, "float16", CUDA, torch.float16, True),
        (True, "bfloat16", CUDA, torch.bfloat16, False),
        (True, "bfloat16", CPU, torch.bfloat16, False),
        (False, "bfloat16", CPU, None, False),  # amp off wins
        (False, "float16", CPU, None, False),  # not an error when amp is off
        (False, "auto", CUDA, None, False),
    ],
)
def test_resolution(amp: bool, amp_dtype: str, device: torch.device, dtype: torch.dtype | None, scaler: bool) -> None:
    p = resolve_precision(amp, amp_dtype, device)
    assert (p.dtype, p.scaler, p.device_type, p.enabled) == (dtype, scaler, device.type, dtype is not None)


def test_bad_choices_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"train\.amp_dtype is 'half'; expected one of"):
        resolve_precision(True, "half", CPU)
    with pytest.raises(ValueError, match=r"train\.amp_dtype is 'float16' but the run is on cpu"):
        resolve_precision(True, "float16", CPU)
    with pytest.raises(ValueError, match="autocast on mps is not supported"):
        resolve_precision(True, "bfloat16", torch.device("mps"))


def test_bfloat16_autocast_runs_matmuls_in_bfloat16_on_cpu() -> None:
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8)
    with resolve_precision(True, "bfloat16", CPU).autocast():
        low = layer(x)
    with resolve_precision(True, "auto", CPU).autocast():  # disabled: a no-op context
        full = layer(x)
    assert low.dtype == torch.bfloat16 and full.dtype == torch.float32
    assert layer.weight.dtype == torch.float32  # weights stay float32
    torch.testing.assert_close(low.float(), full, rtol=2e-2, atol=2e-2)  # bfloat16 keeps ~3 significant digits


def test_disabled_scaler_passes_loss_and_step_through() -> None:
    scaler = resolve_precision(True, "bfloat16", CPU).grad_scaler()
    assert not scaler.is_enabled()
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.5)
    loss = (w * torch.tensor([1.0, 2.0])).sum()
    assert scaler.scale(loss) is loss
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    torch.testing.assert_close(w.detach(), torch.tensor([0.5, 0.0]))


def test_describe() -> None:
    assert resolve_precision(True, "auto", CPU).describe() == "float32"
    assert resolve_precision(True, "auto", CUDA).describe() == "float16 autocast + loss scaling"
    assert resolve_precision(True, "bfloat16", CPU).describe() == "bfloat16 autocast"
