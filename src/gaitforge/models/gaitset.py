"""GaitSet: gait as an unordered set of silhouettes.

Chao et al., "GaitSet: Regarding Gait as a Set for Cross-View Gait Recognition", AAAI 2019. Per-frame set
blocks, a global path fed by set pooling after every block, horizontal pyramid pooling of both paths and
part-wise FCs. Module names equal OpenGait's ``GaitSet`` (``set_block1``, ``gl_block2``, ``Head``) so its
checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from gaitforge.data.batch import Batch
from gaitforge.models.base import GaitModel, ModelOutput
from gaitforge.models.blocks import (
    HorizontalPyramidPooling,
    PerFrame,
    SeparateFCs,
    init_peer_parameters,
    plain_layers,
    temporal_max_pool,
    to_sequence_tensor,
)

__all__ = ["GaitSet"]

logger = logging.getLogger(__name__)


class GaitSet(GaitModel):
    """GaitSet (Chao et al. AAAI 2019): per-frame set blocks and a set-pooled global path, HPP, FCs.

    Outputs embeddings ``[B, C, 2·P]`` (frame path, then global path), no logits.

    Args:
        num_classes: Accepted so every model takes the same keyword arguments; unused (no classifier).
        in_channels: Input channels (1 for silhouettes).
        channels: Widths of the three set blocks (peer CASIA-B: 32/64/128; OU-MVLP, GREW: 64/128/256).
        embed_dim: Output channels ``C`` of the part-wise FCs (peer: 256).
        bins: HPP strip counts, applied to both paths (peer: 16/8/4/2/1 → 62 parts).
        modality: Key of ``Batch.inputs`` to read.
    """

    def __init__(
        self,
        num_classes: int | None = None,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128),
        embed_dim: int = 256,
        bins: Sequence[int] = (16, 8, 4, 2, 1),
        modality: str = "sil",
    ) -> None:
        super().__init__()
        if len(channels) != 3:
            raise ValueError(f"channels: expected 3 set-block widths, got {list(channels)}")
        c1, c2, c3 = (int(c) for c in channels)
        self.input_modalities = (modality,)
        self.in_channels = int(in_channels)
        spec2, spec3 = [f"BC-{c2}", f"BC-{c2}", "M"], [f"BC-{c3}", f"BC-{c3}"]
        # Registration order is the peer's state-dict order; the global path has the frame path's layout.
        self.set_block1 = PerFrame(plain_layers([f"BC-{c1}", f"BC-{c1}", "M"], in_channels))
        self.set_block2 = PerFrame(plain_layers(spec2, c1, first_kernel=3))
        self.set_block3 = PerFrame(plain_layers(spec3, c2, first_kernel=3))
        self.gl_block2 = plain_layers(spec2, c1, first_kernel=3)
        self.gl_block3 = plain_layers(spec3, c2, first_kernel=3)
        self.HPP = HorizontalPyramidPooling(bins)
        self.Head = SeparateFCs(2 * self.HPP.parts, c3, embed_dim)
        init_peer_parameters(self)

    def forward(self, batch: Batch) -> ModelOutput:
        """Embeddings ``[B, C, 2·P]``; logits ``None``.

        Reads ``batch.inputs[modality]``: stacked ``[B, T, H, W]`` or packed ``[1, ΣT, H, W]`` with
        ``batch.seq_lens``. Only set pooling is per sequence; the blocks work per frame.
        """
        name = self.input_modalities[0]
        x = to_sequence_tensor(batch.inputs[name], self.in_channels, name)  # [n, c, s, h, w]
        seq_lens = batch.seq_lens
        outs = self.set_block1(x)  # [n, c1, s, h/2, w/2]
        gl = self.gl_block2(temporal_max_pool(outs, seq_lens))  # [B, c2, h/4, w/4]
        outs = self.set_block2(outs)
        gl = self.gl_block3(gl + temporal_max_pool(outs, seq_lens))  # [B, c3, h/4, w/4]
        outs = temporal_max_pool(self.set_block3(outs), seq_lens)  # [B, c3, h/4, w/4]
        gl = gl + outs
        feature = torch.cat([self.HPP(outs), self.HPP(gl)], dim=-1)  # [B, c3, 2P]
        return ModelOutput(embeddings=self.Head(feature), logits=None)
