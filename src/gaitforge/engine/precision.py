"""Mixed precision for training: which autocast dtype a run uses, and whether it needs a loss scaler.

``train.amp`` turns mixed precision on; ``train.amp_dtype`` picks the dtype:

* ``auto`` (default): float16 with a gradient scaler on CUDA; full precision on CPU, where float16 kernels are slow
  and bfloat16 pays off only on processors with bfloat16 instructions.
* ``float16``: CUDA only. Its narrow exponent range needs the loss scaled up before backward and the gradients
  scaled down before the step (Micikevicius et al., "Mixed Precision Training", ICLR 2018).
* ``bfloat16``: CUDA or CPU. It has float32's exponent range, so no scaler is needed (Kalamkar et al., "A Study of
  BFLOAT16 for Deep Learning Training", 2019); on Ampere and later GPUs it is as fast as float16.

Autocast keeps the weights, the optimiser state and the reductions that need it in float32, so checkpoints are the
same either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["AMP_DTYPES", "Precision", "resolve_precision"]

#: ``train.amp_dtype`` values
AMP_DTYPES = ("auto", "float16", "bfloat16")


@dataclass(frozen=True)
class Precision:
    """What the training loop does: autocast to ``dtype`` (``None``: no autocast), with a loss scaler or not."""

    device_type: str
    dtype: torch.dtype | None
    scaler: bool

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self) -> torch.autocast:
        """The autocast context of one forward pass and loss (a no-op when disabled)."""
        return torch.autocast(self.device_type, dtype=self.dtype or torch.float32, enabled=self.enabled)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A loss scaler, enabled only for float16 (disabled, its calls pass the loss and step through)."""
        return torch.amp.GradScaler(self.device_type if self.scaler else "cpu", enabled=self.scaler)

    def describe(self) -> str:
        if not self.enabled:
            return "float32"
        return f"{str(self.dtype).removeprefix('torch.')} autocast" + (" + loss scaling" if self.scaler else "")


def resolve_precision(amp: bool, amp_dtype: str, device: torch.device) -> Precision:
    """The precision of a run on ``device`` for ``train.amp`` / ``train.amp_dtype``.

    ``ValueError`` names the field for an unknown dtype, and for float16 asked for on a CPU.
    """
    if amp_dtype not in AMP_DTYPES:
        raise ValueError(f"train.amp_dtype is {amp_dtype!r}; expected one of {list(AMP_DTYPES)}")
    kind = device.type
    if not amp or (amp_dtype == "auto" and kind != "cuda"):
        return Precision(kind, None, scaler=False)
    if amp_dtype in ("auto", "float16"):
        if kind != "cuda":
            raise ValueError(
                f"train.amp_dtype is 'float16' but the run is on {kind}; float16 autocast is for CUDA "
                "(use 'bfloat16', 'auto' or train.amp: false)"
            )
        return Precision(kind, torch.float16, scaler=True)
    if kind not in ("cuda", "cpu"):
        raise ValueError(f"train.amp_dtype 'bfloat16': autocast on {kind} is not supported here (cuda or cpu)")
    return Precision(kind, torch.bfloat16, scaler=False)
