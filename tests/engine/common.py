"""Helpers shared by the engine tests."""

from __future__ import annotations

from collections.abc import Callable

import torch


def recording_conv_dtypes(build: Callable[..., torch.nn.Module], seen: list) -> Callable[..., torch.nn.Module]:
    """``build`` (``trainer.build_model_for``) with a hook on every convolution of the model it builds that
    appends to ``seen`` the dtype the convolution computed in, while training."""

    def build_hooked(cfg: object, num_classes: int) -> torch.nn.Module:
        model = build(cfg, num_classes)
        for module in model.modules():
            if isinstance(module, torch.nn.modules.conv._ConvNd):
                module.register_forward_hook(lambda m, _args, out: seen.append(out.dtype) if m.training else None)
        return model

    return build_hooked
