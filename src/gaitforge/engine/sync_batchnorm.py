"""BatchNorm over the global batch under DDP, for every backend (torch's ``nn.SyncBatchNorm`` refuses CPU tensors).

Batch normalisation is Ioffe & Szegedy, "Batch Normalization" (ICML 2015). Under DDP each rank sees ``1/W`` of the
batch, so plain BatchNorm normalises with statistics of a smaller batch than one process would; synchronised
BatchNorm (as in Peng et al., "MegDet", CVPR 2018) computes them over all ranks.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from gaitforge.engine.distributed import is_distributed

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm"]


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of a sum shared by every rank is the sum of the ranks' gradients."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        out = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch normalisation over the whole global batch, for any backend (gloo on CPU included).

    This layer all-reduces the per-channel sums (two autograd-aware all-reduces: mean, then centred squares),
    so forward, backward and running statistics equal plain BatchNorm on the concatenated batch. torch's own
    ``nn.SyncBatchNorm`` (used on CUDA by :func:`convert_sync_batchnorm`) refuses CPU tensors. Outside a process group
    or in eval mode it is plain BatchNorm. Input ``[N, C, *]``; parameters and buffers named as BatchNorm's.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"SyncBatchNorm: expected an input [N, C, *], got shape {list(input.shape)}")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        if not (self.training or not self.track_running_stats) or not is_distributed():
            return super().forward(input)
        all_reduce = _AllReduceSum.apply
        x = input.float() if input.dtype in (torch.float16, torch.bfloat16) else input  # statistics in >= fp32
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([float(x.numel() // x.shape[1])], device=x.device)
        dist.all_reduce(count)
        mean = all_reduce(x.sum(dims)) / count  # [C]
        centred = x - mean.view(shape)
        var = all_reduce(centred.square().sum(dims)) / count  # [C], biased
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.training and self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)
        return out.to(input.dtype)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm layer of ``module`` as a synchronised one (torch's on CUDA, :class:`SyncBatchNorm` elsewhere).

    Parameters and buffers are kept (the same objects), so state_dicts and optimisers are unaffected.
    """
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SyncBatchNorm):
        sync = SyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        if module.affine:
            sync.weight, sync.bias = module.weight, module.bias
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            setattr(sync, name, getattr(module, name))
        sync.train(module.training)
        return sync
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child, device))
    return module
