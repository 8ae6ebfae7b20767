"""3D shifted-window transformer stages (the SwinGait backbone), written from the papers.

Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV 2021; Liu et al.,
"Video Swin Transformer", CVPR 2022. Tokens ``[B, D, H, W, C]`` attend within non-overlapping ``(Wd, Wh, Ww)``
windows with a learned relative position bias; every second block shifts the windows by half their size
(cyclically, with an attention mask that keeps tokens from different regions apart). Dimensions no larger
than the window use a window of their own size and no shift.

Details kept from the peer so that its checkpoints give its outputs: zero padding of the token grid happens
after the first LayerNorm (padded tokens take part in attention), the mask value is -100, a shrunken window
indexes the top-left ``N x N`` corner of the full relative-position index table, and the stage that changes
width does it with LayerNorm + a bias-free linear map without spatial merging. Module names follow the peer
(``patch_embed.proj``, ``layers.0.blocks.1.attn.relative_position_bias_table``, ``layers.0.downsample.1``).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "SwinTransformer3D",
    "SwinBlock3D",
    "WindowAttention3D",
    "window_partition",
    "window_reverse",
    "relative_position_index",
    "shifted_window_mask",
]

logger = logging.getLogger(__name__)

Size3 = tuple[int, int, int]


def effective_window(size: Size3, window: Size3, shift: Size3) -> tuple[Size3, Size3]:
    """Window and shift per dimension; a dimension no larger than the window gets a window of its own size
    and no shift."""
    ws = tuple(s if s <= w else w for s, w in zip(size, window, strict=True))
    ss = tuple(0 if s <= w else sh for s, w, sh in zip(size, window, shift, strict=True))
    return ws, ss  # type: ignore[return-value]


def window_partition(x: torch.Tensor, window: Size3) -> torch.Tensor:
    """``[B, D, H, W, C]`` (each divisible by the window) → ``[B·nW, Wd·Wh·Ww, C]``, windows in (d, h, w)
    raster order per sample."""
    b, d, h, w, c = x.shape
    wd, wh, ww = window
    x = x.view(b, d // wd, wd, h // wh, wh, w // ww, ww, c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, wd * wh * ww, c)


def window_reverse(windows: torch.Tensor, window: Size3, b: int, d: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``[B·nW, Wd·Wh·Ww, C]`` → ``[B, D, H, W, C]``."""
    wd, wh, ww = window
    x = windows.view(b, d // wd, h // wh, w // ww, wd, wh, ww, -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def relative_position_index(window: Size3) -> torch.Tensor:
    """``[N, N]`` int64 index into the ``(2Wd-1)(2Wh-1)(2Ww-1)`` bias table for tokens in raster order."""
    wd, wh, ww = window
    grid = torch.stack(torch.meshgrid(torch.arange(wd), torch.arange(wh), torch.arange(ww), indexing="ij"))
    coords = grid.flatten(1)  # [3, N]
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # [N, N, 3]
    rel = rel + torch.tensor([wd - 1, wh - 1, ww - 1])
    return rel[..., 0] * (2 * wh - 1) * (2 * ww - 1) + rel[..., 1] * (2 * ww - 1) + rel[..., 2]


@functools.lru_cache(maxsize=32)
def shifted_window_mask(padded: Size3, window: Size3, shift: Size3, device: torch.device) -> torch.Tensor:
    """``[nW, N, N]`` additive mask (0 within a region, -100 across) for cyclically shifted windows."""
    labels = []
    for size, w, s in zip(padded, window, shift, strict=True):
        idx = torch.arange(size, device=device)
        if s > 0:
            lab = (idx >= size - w).long() + (idx >= size - s).long()  # 0 | 1 | 2 along this axis
        else:
            lab = torch.zeros(size, dtype=torch.long, device=device)
        labels.append(lab)
    region = labels[0][:, None, None] * 9 + labels[1][None, :, None] * 3 + labels[2][None, None, :]
    windows = window_partition(region[None, ..., None].float(), window).squeeze(-1)  # [nW, N]
    diff = windows[:, None, :] - windows[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)


class WindowAttention3D(nn.Module):
    """Multi-head self-attention within a window, with a relative position bias per head.

    Args:
        dim: Token width ``C``.
        window: Full window ``(Wd, Wh, Ww)``.
        num_heads: Heads (``C`` must be divisible by it).
        qkv_bias: Bias on the query/key/value projection.
    """

    def __init__(self, dim: int, window: Size3, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"attention: width {dim} is not divisible by {num_heads} heads")
        self.num_heads = int(num_heads)
        self.scale = (dim // num_heads) ** -0.5
        wd, wh, ww = window
        table = (2 * wd - 1) * (2 * wh - 1) * (2 * ww - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(table, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``[B·nW, N, C]`` (and a ``[nW, N, N]`` mask) → ``[B·nW, N, C]``."""
        bw, n, c = x.shape
        nw = 1 if mask is None else mask.shape[0]
        qkv = self.qkv(x).reshape(bw // nw, nw, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each [B, nW, heads, N, c/heads]
        index = self.relative_position_index[:n, :n].reshape(-1)
        bias = self.relative_position_bias_table[index].reshape(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            bias = bias + mask.unsqueeze(1)  # [nW, heads, N, N]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=self.scale)
        return self.proj(out.permute(0, 1, 3, 2, 4).reshape(bw, n, c))


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def _drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drop the residual branch per sample with probability ``rate`` (training only)."""
    if rate == 0.0 or not training:
        return x
    keep = 1.0 - rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask / keep


class SwinBlock3D(nn.Module):
    """Pre-norm transformer block on ``[B, D, H, W, C]`` tokens: (shifted) window attention, then an MLP.

    Args:
        dim: Token width.
        num_heads: Attention heads.
        window: Full window size.
        shift: Cyclic shift (all zeros for a regular block).
        mlp_ratio: Hidden width of the MLP relative to ``dim``.
        drop_path: Stochastic-depth rate of both residual branches.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window: Size3,
        shift: Size3,
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.window, self.shift, self.drop_path = window, shift, float(drop_path)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, window, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))

    def _attention(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = x.shape
        ws, ss = effective_window((d, h, w), self.window, self.shift)
        pads = [(win - size % win) % win for size, win in zip((d, h, w), ws, strict=True)]
        y = self.norm1(x)
        if any(pads):
            y = F.pad(y, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        dp, hp, wp = d + pads[0], h + pads[1], w + pads[2]
        shifted = any(s > 0 for s in ss)
        if shifted:
            y = torch.roll(y, shifts=tuple(-s for s in ss), dims=(1, 2, 3))
        windows = self.attn(window_partition(y, ws), mask if shifted else None)
        y = window_reverse(windows, ws, b, dp, hp, wp)
        if shifted:
            y = torch.roll(y, shifts=ss, dims=(1, 2, 3))
        return y[:, :d, :h, :w].contiguous()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, D, H, W, C]`` → same shape; ``mask`` is the stage's shifted-window mask."""
        x = x + _drop_path(self._attention(x, mask), self.drop_path, self.training)
        return x + _drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class SwinStage3D(nn.Module):
    """``depth`` blocks alternating regular and shifted windows, then (optionally) LayerNorm + a bias-free
    linear map to twice the width (``downsample``; no spatial merging).

    Args:
        dim: Token width.
        depth: Number of blocks.
        num_heads: Attention heads.
        window: Window size.
        drop_paths: Stochastic-depth rate per block.
        widen: Add the width-doubling map.
    """

    def __init__(
        self, dim: int, depth: int, num_heads: int, window: Size3, drop_paths: Sequence[float], widen: bool
    ) -> None:
        super().__init__()
        self.window = window
        self.shift: Size3 = tuple(v // 2 for v in window)  # type: ignore[assignment]
        self.blocks = nn.ModuleList(
            SwinBlock3D(
                dim, num_heads, window, (0, 0, 0) if i % 2 == 0 else self.shift, drop_path=drop_paths[i]
            )
            for i in range(depth)
        )
        self.downsample = (
            nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim, bias=False)) if widen else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, D, H, W]`` → ``[B, C', D, H, W]``."""
        _, _, d, h, w = x.shape
        ws, ss = effective_window((d, h, w), self.window, self.shift)
        padded = tuple(math.ceil(size / win) * win for size, win in zip((d, h, w), ws, strict=True))
        mask = shifted_window_mask(padded, ws, ss, x.device) if any(ss) else None
        x = x.permute(0, 2, 3, 4, 1)  # [B, D, H, W, C]
        for block in self.blocks:
            x = block(x, mask)
        if self.downsample is not None:
            x = self.downsample(x)
        return x.permute(0, 4, 1, 2, 3).contiguous()


class _PatchEmbed3D(nn.Module):
    """Non-overlapping patches (input zero-padded at the end to whole patches) by a strided Conv3d
    (``proj``), then LayerNorm over channels (``norm``)."""

    def __init__(self, in_channels: int, dim: int, patch: Size3) -> None:
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv3d(in_channels, dim, patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = [(p - size % p) % p for size, p in zip(x.shape[2:], self.patch, strict=True)]
        if any(pads):
            x = F.pad(x, (0, pads[2], 0, pads[1], 0, pads[0]))
        x = self.proj(x)  # [B, C, D, H, W]
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


class SwinTransformer3D(nn.Module):
    """Patch embedding (``(1, 2, 2)`` patches, LayerNorm) and transformer stages of widths
    ``embed_dim · 2**i``, all but the last widening, then a final LayerNorm.

    Args:
        in_channels: Channels of the input maps.
        embed_dim: Token width of the first stage.
        depths: Blocks per stage.
        num_heads: Heads per stage.
        window_size: Window ``(Wd, Wh, Ww)``.
        patch_size: Patch ``(t, h, w)``.
        drop_path_rate: Largest stochastic-depth rate (linearly increasing over all blocks).
    """

    def __init__(
        self,
        in_channels: int,
        embed_dim: int = 256,
        depths: Sequence[int] = (2, 2),
        num_heads: Sequence[int] = (16, 32),
        window_size: Sequence[int] = (3, 3, 5),
        patch_size: Sequence[int] = (1, 2, 2),
        drop_path_rate: float = 0.1,
    ) -> None:
        super().__init__()
        if len(depths) != len(num_heads) or not depths:
            raise ValueError(
                f"depths and num_heads: expected equal, non-empty lists, got {depths}, {num_heads}"
            )
        window: Size3 = tuple(int(v) for v in window_size)  # type: ignore[assignment]
        self.patch_size: Size3 = tuple(int(v) for v in patch_size)  # type: ignore[assignment]
        self.patch_embed = _PatchEmbed3D(in_channels, embed_dim, self.patch_size)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.layers = nn.ModuleList()
        start = 0
        for i, (depth, heads) in enumerate(zip(depths, num_heads, strict=True)):
            widen = i < len(depths) - 1
            stage = SwinStage3D(
                embed_dim * 2**i, int(depth), int(heads), window, rates[start : start + depth], widen
            )
            self.layers.append(stage)
            start += depth
        self.out_channels = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(self.out_channels)

    def init_weights(self) -> None:
        """Truncated-normal (std 0.02) linear maps and bias tables, zero biases, unit LayerNorms."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, WindowAttention3D):
                nn.init.trunc_normal_(m.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, D, H, W]`` → ``[B, out_channels, D/pt, H/ph, W/pw]`` (sizes rounded up)."""
        x = self.patch_embed(x)  # [B, C, D, H, W]
        for layer in self.layers:
            x = layer(x)
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3).contiguous()
