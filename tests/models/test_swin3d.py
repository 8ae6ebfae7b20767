"""3D window attention pieces against brute-force references."""

from __future__ import annotations

import itertools

import torch

from gaitforge.models.swin3d import (
    SwinBlock3D,
    SwinTransformer3D,
    WindowAttention3D,
    relative_position_index,
    shifted_window_mask,
    window_partition,
    window_reverse,
)


def test_partition_round_trip_and_raster_order() -> None:
    x = torch.arange(2 * 4 * 6 * 10 * 3, dtype=torch.float32).reshape(2, 4, 6, 10, 3)
    win = window_partition(x, (2, 3, 5))
    assert win.shape == (2 * 2 * 2 * 2, 30, 3)
    torch.testing.assert_close(win[0, 6], x[0, 0, 1, 1])  # token 6 of window 0: d=0, h=1, w=1
    torch.testing.assert_close(win[1, 0], x[0, 0, 0, 5])  # window 1 is the next one along w
    torch.testing.assert_close(window_reverse(win, (2, 3, 5), 2, 4, 6, 10), x)


def test_relative_position_index_matches_offsets() -> None:
    window = (2, 3, 4)
    index = relative_position_index(window)
    tokens = list(itertools.product(range(2), range(3), range(4)))
    seen = {}
    for i, a in enumerate(tokens):
        for j, b in enumerate(tokens):
            offset = tuple(p - q for p, q in zip(a, b, strict=True))
            seen.setdefault(offset, set()).add(int(index[i, j]))
    assert all(len(v) == 1 for v in seen.values())  # one table row per offset ...
    assert len({next(iter(v)) for v in seen.values()}) == len(seen) == 3 * 5 * 7  # ... and one offset per row


def test_shifted_mask_separates_wrapped_tokens() -> None:
    padded, window, shift = (6, 6, 10), (3, 3, 5), (1, 1, 2)
    mask = shifted_window_mask(padded, window, shift, torch.device("cpu"))
    coords = torch.stack(
        torch.meshgrid(*[torch.arange(s) for s in padded], indexing="ij"), dim=-1
    )  # [6, 6, 10, 3] positions after the cyclic shift
    wrapped = torch.stack([coords[..., k] >= padded[k] - shift[k] for k in range(3)], dim=-1).float()
    win = window_partition(wrapped[None], window)  # [nW, N, 3]
    expected = torch.where((win[:, :, None, :] != win[:, None, :, :]).any(-1), -100.0, 0.0)
    torch.testing.assert_close(mask, expected)
    unshifted = shifted_window_mask((3, 6, 10), (3, 3, 5), (0, 1, 2), torch.device("cpu"))
    assert unshifted.shape == (4, 45, 45)


def test_window_attention_matches_per_head_loop() -> None:
    torch.manual_seed(0)
    attn = WindowAttention3D(dim=8, window=(1, 2, 2), num_heads=2).eval()
    with torch.no_grad():
        attn.relative_position_bias_table.normal_()
    x = torch.randn(3, 4, 8)
    mask = torch.zeros(3, 4, 4)
    mask[1, 0, 2] = -100.0
    out = attn(x, mask)
    q, k, v = attn.qkv(x).chunk(3, dim=-1)
    heads = []
    for h in range(2):
        sl = slice(4 * h, 4 * h + 4)
        bias = attn.relative_position_bias_table[:, h][attn.relative_position_index]
        scores = q[..., sl] @ k[..., sl].transpose(1, 2) / 2.0 + bias + mask
        heads.append(scores.softmax(-1) @ v[..., sl])
    torch.testing.assert_close(out, attn.proj(torch.cat(heads, dim=-1)), rtol=1e-5, atol=1e-5)


def test_block_handles_short_and_odd_sizes() -> None:
    torch.manual_seed(0)
    block = SwinBlock3D(8, 2, (3, 3, 5), (1, 1, 2)).eval()
    for d in (1, 2, 4):
        x = torch.randn(2, d, 7, 9, 8)
        assert block(x).shape == x.shape
    net = SwinTransformer3D(in_channels=4, embed_dim=8, depths=(2, 2), num_heads=(2, 4)).eval()
    assert net(torch.randn(1, 4, 5, 30, 20)).shape == (1, 16, 5, 15, 10)
    keys = list(net.state_dict())
    assert keys[:2] == ["patch_embed.proj.weight", "patch_embed.proj.bias"]
    assert "layers.0.downsample.1.weight" in keys and not any(
        k.startswith("layers.1.downsample") for k in keys
    )
