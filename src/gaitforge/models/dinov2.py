"""A DINOv2-architecture vision transformer, and a safe loader for DINOv2's released checkpoints.

Oquab et al., "DINOv2: Learning Robust Visual Features without Supervision", TMLR 2024; the transformer is
Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, with LayerScale (Touvron et al., "Going deeper
with Image Transformers", ICCV 2021). Parameter names equal those of the released ``dinov2_vit{s,b,l,g}14``
files (``cls_token``, ``pos_embed``, ``mask_token``, ``patch_embed.proj``, ``blocks.<i>.{norm1, attn.qkv,
attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}``, ``norm``), so a user who has downloaded one loads
it with :func:`load_dinov2_checkpoint` (``torch.load(weights_only=True)``: a file carrying code is refused).
Nothing is downloaded here.

:meth:`DinoVisionTransformer.forward_features` also returns BigGait's ``x_norm_patchtokens_mid4``: the
outputs of four evenly spaced blocks concatenated and layer-normalised without affine parameters.
"""

from __future__ import annotations

import logging
import math
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "DINOV2_SIZES",
    "Dinov2Size",
    "DinoVisionTransformer",
    "dinov2_vit",
    "load_dinov2_checkpoint",
    "read_dinov2_state_dict",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dinov2Size:
    """One released DINOv2 size (patch 14, 518-pixel position grid of 37 × 37)."""

    embed_dim: int
    depth: int
    num_heads: int
    ffn: str  # "mlp" or "swiglu"


#: The released sizes: ``dinov2_vits14`` … ``dinov2_vitg14``.
DINOV2_SIZES: dict[str, Dinov2Size] = {
    "small": Dinov2Size(384, 12, 6, "mlp"),
    "base": Dinov2Size(768, 12, 12, "mlp"),
    "large": Dinov2Size(1024, 24, 16, "mlp"),
    "giant": Dinov2Size(1536, 40, 24, "swiglu"),
}


class PatchEmbed(nn.Module):
    """Non-overlapping patches → tokens: ``[B, C, H, W]`` → ``[B, (H/p)·(W/p), D]`` (a strided convolution)."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.patch_size = int(patch_size)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` (``H`` and ``W`` multiples of the patch size) → ``[B, N, D]``."""
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention, ``softmax(q kᵀ / √d) v``, with one ``qkv`` projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Attention: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = int(num_heads)
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]`` → ``[B, N, D]``."""
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]  # [B, heads, N, d/heads]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """``fc2(gelu(fc1(x)))``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., D]`` → ``[..., D]``."""
        return self.fc2(self.act(self.fc1(x)))


class SwiGLUFFN(nn.Module):
    """``w3(silu(a) · b)`` with ``(a, b) = w12(x)`` (the giant model's FFN; Shazeer 2020)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., D]`` → ``[..., D]``."""
        a, b = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(a) * b)


class LayerScale(nn.Module):
    """Per-channel scaling ``x · gamma``."""

    def __init__(self, dim: int, init_value: float = 1.0) -> None:
        super().__init__()
        self.gamma = nn.Parameter(init_value * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., D]`` → ``[..., D]``."""
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale: ``x + ls1(attn(norm1(x)))``, then ``+ ls2(ffn(norm2(·)))``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, ffn: str = "mlp") -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        if ffn == "mlp":
            self.mlp: nn.Module = Mlp(dim, hidden)
        elif ffn == "swiglu":
            self.mlp = SwiGLUFFN(dim, hidden)
        else:
            raise ValueError(f"ffn: expected 'mlp' or 'swiglu', got {ffn!r}")
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]`` → ``[B, N, D]``."""
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoVisionTransformer(nn.Module):
    """DINOv2's ViT: patch embedding, a class token, learned positions (bicubically resized to the input's
    patch grid), ``depth`` blocks and a final LayerNorm.

    Args:
        embed_dim: Token width ``D``.
        depth: Number of blocks.
        num_heads: Attention heads.
        patch_size: Patch side (released models: 14).
        img_size: Side of the square image the position table is built for (released: 518 → 37 × 37).
        in_chans: Input channels.
        mlp_ratio: FFN hidden width / ``D``.
        ffn: ``"mlp"`` (GELU MLP) or ``"swiglu"`` (giant).
    """

    def __init__(
        self,
        embed_dim: int = 384,
        depth: int = 12,
        num_heads: int = 6,
        patch_size: int = 14,
        img_size: int = 518,
        in_chans: int = 3,
        mlp_ratio: float = 4.0,
        ffn: str = "mlp",
    ) -> None:
        super().__init__()
        if depth < 4 or depth % 4:
            raise ValueError(f"depth: expected a positive multiple of 4 (the mid-4 features), got {depth}")
        self.embed_dim, self.depth, self.patch_size = int(embed_dim), int(depth), int(patch_size)
        grid = int(img_size) // self.patch_size
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, embed_dim))
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio, ffn) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))
        self.mid_blocks = tuple(int(i * depth / 4 + depth / 4 - 1) for i in range(4))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def interpolate_pos_encoding(self, tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Position table ``[1, 1 + N, D]`` for an input of ``height × width`` pixels.

        The stored square grid is resized bicubically by the scale factors ``(h/p + 0.1) / g`` and
        ``(w/p + 0.1) / g`` (the released code's offset against rounding down).
        """
        height, width = int(height), int(width)  # constants when traced: the image size is fixed in an export
        n_patches = int(tokens.shape[1]) - 1
        n_table = self.pos_embed.shape[1] - 1
        if n_patches == n_table and height == width:
            return self.pos_embed
        pos = self.pos_embed.float()
        cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
        side = int(math.sqrt(n_table))
        h0, w0 = height // self.patch_size + 0.1, width // self.patch_size + 0.1
        grid = patch_pos.reshape(1, side, side, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=(h0 / math.sqrt(n_table), w0 / math.sqrt(n_table)), mode="bicubic")
        if grid.shape[-2:] != (int(h0), int(w0)):
            raise ValueError(f"position grid resized to {list(grid.shape[-2:])}, expected {[int(h0), int(w0)]}")
        patch_pos = grid.permute(0, 2, 3, 1).reshape(1, -1, pos.shape[-1])
        return torch.cat((cls_pos, patch_pos), dim=1).to(tokens.dtype)

    def prepare_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` → class + patch tokens with positions ``[B, 1 + N, D]``."""
        _, _, h, w = x.shape
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(f"DINOv2: image {h}x{w} is not a multiple of the patch size {self.patch_size}")
        tokens = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        return tokens + self.interpolate_pos_encoding(tokens, h, w)

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Token features of ``[B, C, H, W]`` images.

        Returns:
            ``x_norm_clstoken`` ``[B, D]``, ``x_norm_patchtokens`` ``[B, N, D]`` (final LayerNorm) and
            ``x_norm_patchtokens_mid4`` ``[B, N, 4D]`` (blocks ``mid_blocks`` concatenated, LayerNorm without
            affine parameters).
        """
        tokens = self.prepare_tokens(x)
        mids = []
        for i, blk in enumerate(self.blocks):
            tokens = blk(tokens)
            if i in self.mid_blocks:
                mids.append(tokens)
        mid4 = torch.cat(mids, dim=-1)
        mid4 = F.layer_norm(mid4, (4 * self.embed_dim,), eps=1e-6)
        normed = self.norm(tokens)
        return {
            "x_norm_clstoken": normed[:, 0],
            "x_norm_patchtokens": normed[:, 1:],
            "x_norm_patchtokens_mid4": mid4[:, 1:],
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` → the normalised class token ``[B, D]`` (the released model's output)."""
        return self.forward_features(x)["x_norm_clstoken"]


def dinov2_vit(size: str = "small", **kwargs: object) -> DinoVisionTransformer:
    """A transformer of a released size (``small``, ``base``, ``large``, ``giant``), randomly initialised."""
    if size not in DINOV2_SIZES:
        raise ValueError(f"DINOv2 size: expected one of {sorted(DINOV2_SIZES)}, got {size!r}")
    spec = DINOV2_SIZES[size]
    return DinoVisionTransformer(
        spec.embed_dim,
        spec.depth,
        spec.num_heads,
        ffn=spec.ffn,
        **kwargs,  # type: ignore[arg-type]
    )


def read_dinov2_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a released DINOv2 file (a flat ``name → tensor`` mapping) with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file holds objects other than tensors and plain containers (e.g. a pickle that
            would run code), or is not a ``name → tensor`` mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: DINOv2 checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, EOFError) as exc:
        raise ValueError(
            f"{path}: refused: not a plain tensor checkpoint (torch.load(weights_only=True) failed: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from None
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{path}: expected a mapping of parameter names to tensors (DINOv2's released layout)")
    return dict(state)


def _guess_size(state: Mapping[str, torch.Tensor]) -> str:
    cls = state.get("cls_token")
    if cls is None or cls.dim() != 3:
        return "unknown"
    for name, spec in DINOV2_SIZES.items():
        depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
        if spec.embed_dim == cls.shape[-1] and spec.depth == depth:
            return name
    return f"width {cls.shape[-1]}"


def load_dinov2_checkpoint(
    path: str | Path, size: str = "small", model: DinoVisionTransformer | None = None
) -> DinoVisionTransformer:
    """Load a released DINOv2 checkpoint (``dinov2_vit{s,b,l,g}14_pretrain.pth``) into a transformer.

    Args:
        path: The ``.pth`` file, as downloaded by the user (nothing is fetched here).
        size: The size the caller expects (``small`` for BigGait).
        model: Load into this transformer instead of a new one of ``size``.

    Returns:
        The transformer with the checkpoint's weights (strict: every key, every shape).

    Raises:
        ValueError: The file is refused (not plain tensors), keys are missing or unexpected (register-token
            variants ``*_reg4`` included), or a tensor's shape differs: the message names the key, both
            shapes and the size the file appears to be.
    """
    state = read_dinov2_state_dict(path)
    net = model if model is not None else dinov2_vit(size)
    own = net.state_dict()
    found = _guess_size(state)
    for key, tensor in own.items():
        if key in state and tuple(state[key].shape) != tuple(tensor.shape):
            raise ValueError(
                f"{path}: {key}: shape {list(state[key].shape)} in the file, {list(tensor.shape)} expected for "
                f"DINOv2 {size!r} (the file looks like {found!r})"
            )
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"{path}: not a DINOv2 {size!r} checkpoint (looks like {found!r}): missing keys {missing[:5]}"
            f"{' …' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{' …' if len(unexpected) > 5 else ''}"
        )
    net.load_state_dict(state, strict=True)
    logger.info("loaded DINOv2 %s weights from %s", size, path)
    return net
