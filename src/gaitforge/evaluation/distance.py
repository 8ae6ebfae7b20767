"""Part-wise distances between embedding sets, computed in bounded memory.

The field's distance (OpenGait's ``cuda_dist``) treats an embedding ``[C, P]`` as P part vectors and averages
a per-part distance over the parts:

* ``euc``: ``d_k(x, y) = sqrt(relu(|x_k|^2 + |y_k|^2 - 2 x_k.y_k))`` in float32, then ``sum_k d_k / P``;
* ``cos``: part vectors L2-normalised over channels (eps 1e-12), then ``1 - sum_k x_k.y_k / P``.

Smaller is more similar for both. Everything is float32 in the peer's operation order (per-part distance, then
parts added left to right), so two identical embeddings get the same small positive ``euc`` distance the peer
reports (float32 cancellation), not 0.

Extreme magnitudes (Defect 2 of issue 18): squared norms overflow float32 above ~1e19 and underflow below
~1e-19, and F.normalize's eps swallows part vectors shorter than 1e-12. Both are scale problems, so inputs
outside ``[2^-SAFE_EXPONENT, 2^SAFE_EXPONENT]`` are multiplied by a power of two (exact in floating point:
every operation above commutes with it) before the arithmetic: cos per part vector (it is scale-invariant),
euc by one factor common to probe and gallery (it is homogeneous), undone on the result. Inputs inside that
range are used unchanged, so ordinary embeddings get the peer's bits; distances that do not fit float32
raise instead of becoming inf.

The full ``[n, m]`` matrix is never needed: :func:`iter_distance_chunks` yields row blocks whose size follows
a memory cap. Rows are computed in fixed tiles of :data:`TILE_ROWS` probe rows (the last tile zero-padded)
by a fixed number of gallery columns, so every distance is produced by the same matrix-multiply call shape
whatever the chunk size: results are bit-identical for any chunking (BLAS kernels pick different code paths
for different shapes, so without fixed tiles they would differ in the last bit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "METRICS",
    "TILE_ROWS",
    "TILE_ELEMENTS",
    "DEFAULT_MEMORY_LIMIT_MB",
    "PreparedGallery",
    "part_distance",
    "common_scale",
    "SAFE_EXPONENT",
    "distance_rows",
    "chunk_rows_for",
    "iter_distance_chunks",
]

logger = logging.getLogger(__name__)

METRICS = ("euc", "cos")
#: Probe rows per matrix-multiply tile (shrunk only when one tile would not fit the memory cap).
TILE_ROWS = 512
#: Elements of one ``[T, W]`` multiply buffer (sets the gallery columns W per tile).
TILE_ELEMENTS = 2**23
#: Default working-memory cap of the chunked evaluation, in MiB.
DEFAULT_MEMORY_LIMIT_MB = 256
#: Largest magnitudes within ``[2^-SAFE_EXPONENT, 2^SAFE_EXPONENT]`` are used as they are; others are rescaled.
SAFE_EXPONENT = 40
#: A probe may be at most ``2^PROBE_HEADROOM`` times larger than the scale the gallery was prepared with.
PROBE_HEADROOM = 50


def _pow2_scale(amax: torch.Tensor) -> torch.Tensor:
    """Power-of-two factors bringing ``amax`` into ``[0.5, 1)`` where it lies outside the safe range, else 1.

    Args:
        amax: float32 largest magnitudes (any shape), finite and non-negative.
    """
    _, exp = torch.frexp(amax)
    safe = (amax == 0) | ((amax >= 2.0**-SAFE_EXPONENT) & (amax <= 2.0**SAFE_EXPONENT))
    scale = torch.ldexp(torch.ones_like(amax), (-exp).clamp(max=126))
    return torch.where(safe, torch.ones_like(amax), scale)


def _abs_max(x: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Largest magnitude of ``x`` (over ``dim``, kept), without materialising ``|x|``."""
    if dim is None:
        if x.numel() == 0:
            return torch.zeros(())
        return torch.maximum(x.amax(), -x.amin())
    return torch.maximum(x.amax(dim, keepdim=True), -x.amin(dim, keepdim=True))


def common_scale(*embeddings: np.ndarray | torch.Tensor) -> float:
    """One power-of-two factor for euc distances between all of ``embeddings`` (1.0 for ordinary magnitudes).

    Args:
        embeddings: ``[N, C, P]`` arrays (probe and gallery, or one array holding both).
    """
    amax = max((float(_abs_max(_as_tensor(e, "embeddings"))) for e in embeddings), default=0.0)
    return float(_pow2_scale(torch.tensor(amax, dtype=torch.float32)))


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def _as_tensor(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.ndim != 3:
        raise ValueError(f"{name} must be [N, C, P], got shape {tuple(t.shape)}")
    return t.to(torch.float32)


def _gather(x: torch.Tensor, rows: np.ndarray | None, start: int, stop: int) -> torch.Tensor:
    """Rows ``start:stop`` of ``x``, or of ``x[rows]`` when an index array is given (copies only those)."""
    if rows is None:
        return x[start:stop]
    return x[torch.from_numpy(np.asarray(rows[start:stop], dtype=np.int64))]


def _normalize_parts(x: torch.Tensor) -> torch.Tensor:
    """``F.normalize(x, dim=1)`` (eps 1e-12) of ``[n, C, P]``, exact for part vectors of any finite magnitude.

    The norms F.normalize would compute decide: where one is outside ``[2^-SAFE_EXPONENT, 2^SAFE_EXPONENT]``
    (overflowed, underflowed, or under eps), that part vector alone is first brought to a safe range by a
    power of two; every other vector gets F.normalize's bits. Only the flagged vectors cost extra work.
    """
    norm = x.norm(2, 1, keepdim=True)  # [n, 1, P], as F.normalize computes it
    flagged = ~((norm >= 2.0**-SAFE_EXPONENT) & (norm <= 2.0**SAFE_EXPONENT))
    if bool(flagged.any()):
        rows, _, parts = flagged.nonzero(as_tuple=True)
        vectors = x[rows, :, parts]  # [k, C]
        amax = vectors.abs().amax(1)  # [k]
        real = amax > 0  # all-zero vectors (padding) stay zero
        if bool(real.any()):
            x = x.clone()
            x[rows[real], :, parts[real]] = vectors[real] * _pow2_scale(amax[real])[:, None]
            norm = x.norm(2, 1, keepdim=True)
    return x / norm.clamp_min(1e-12)


def _to_parts(x: torch.Tensor, metric: str, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``[n, C, P]`` → part-major ``[P, n, C]`` (normalised for cos, times ``scale`` for euc) and squared
    norms ``[P, n]``."""
    if metric == "cos":
        x = _normalize_parts(x)  # [n, C, P], per part over channels
    elif scale != 1.0:
        x = x * scale
    parts = x.permute(2, 0, 1).contiguous()  # [P, n, C]
    sq = None if metric == "cos" else (parts**2).sum(2)  # [P, n]
    return parts, sq


@dataclass
class PreparedGallery:
    """Gallery embeddings laid out for repeated row-block distance computations.

    Attributes:
        parts: ``[P, M, C]`` contiguous part vectors (L2-normalised for cos, times ``scale`` for euc).
        sq: ``[P, M]`` squared part norms (euc only).
        metric: ``"euc"`` or ``"cos"``.
        scale: Power of two the euc parts were multiplied by (probes get the same; results are divided by it).
    """

    parts: torch.Tensor
    sq: torch.Tensor | None
    metric: str
    scale: float = 1.0

    @classmethod
    def from_embeddings(
        cls,
        gallery: np.ndarray | torch.Tensor,
        metric: str,
        rows: np.ndarray | None = None,
        block_rows: int = 4096,
        scale: float | None = None,
    ) -> PreparedGallery:
        """Prepare ``gallery`` ``[M, C, P]`` (or its ``rows``) for ``metric``, block by block.

        ``scale`` (euc only): the factor shared with the probes, from :func:`common_scale`; ``None`` derives
        it from these gallery rows alone (then probes may be at most ``2^PROBE_HEADROOM`` times larger).
        """
        x = _as_tensor(gallery, "gallery")
        _check_metric(metric)
        m = x.shape[0] if rows is None else len(rows)
        if metric == "cos":
            scale = 1.0
        elif scale is None:
            blocks = (_gather(x, rows, s, s + block_rows) for s in range(0, m, block_rows))
            amax = max((float(_abs_max(b)) for b in blocks), default=0.0)
            scale = float(_pow2_scale(torch.tensor(amax, dtype=torch.float32)))
        num_channels, num_parts = x.shape[1], x.shape[2]
        parts = torch.empty(num_parts, m, num_channels)
        sq = None if metric == "cos" else torch.empty(num_parts, m)
        for s in range(0, m, block_rows):
            e = min(s + block_rows, m)
            pb, sqb = _to_parts(_gather(x, rows, s, e), metric, scale)
            parts[:, s:e] = pb
            if sq is not None:
                sq[:, s:e] = sqb
        return cls(parts, sq, metric, scale)

    @property
    def num_rows(self) -> int:
        return int(self.parts.shape[1])

    @property
    def num_parts(self) -> int:
        return int(self.parts.shape[0])


def _column_block(tile_rows: int, num_gallery: int) -> int:
    """Gallery columns per multiply tile: about :data:`TILE_ELEMENTS` per ``[T, W]`` buffer."""
    return max(1, min(num_gallery, max(256, TILE_ELEMENTS // tile_rows)))


def _tile_distances(
    xp: torch.Tensor,
    xsq: torch.Tensor | None,
    gallery: PreparedGallery,
    out: torch.Tensor,
    rows: int,
    mm: torch.Tensor,
    buf: torch.Tensor,
) -> None:
    """Distances of one padded probe tile ``xp`` ``[P, T, C]`` into the first ``rows`` rows of ``out``.

    Per gallery column block and part: one ``[T, C] x [C, W]`` multiply into ``mm`` and the element-wise steps
    in ``buf`` (both ``[T, W]``), accumulated part by part in order, as the peer's loop does.
    """
    num_parts = xp.shape[0]
    m = gallery.num_rows
    width = mm.shape[1]
    for c0 in range(0, m, width):
        c1 = min(c0 + width, m)
        o = out[:rows, c0:c1]
        mmw, bufw = mm[:, : c1 - c0], buf[:, : c1 - c0]
        for k in range(num_parts):
            torch.mm(xp[k], gallery.parts[k, c0:c1].t(), out=mmw)  # [T, w]
            if gallery.metric == "cos":
                src = mmw
            else:
                torch.add(xsq[k][:, None], gallery.sq[k, c0:c1][None, :], out=bufw)  # |x|^2 + |y|^2
                bufw.sub_(mmw, alpha=2).clamp_(min=0).sqrt_()
                src = bufw
            if k == 0:
                o.copy_(src[:rows])
            else:
                o.add_(src[:rows])
        if gallery.metric == "cos":
            o.div_(num_parts).neg_().add_(1)  # 1 - sum/P
        else:
            o.div_(num_parts)
            if gallery.scale != 1.0:  # back to the embeddings' units (exact: a power of two)
                o.div_(gallery.scale)
                if not bool(torch.isfinite(o).all()):
                    raise ValueError(
                        "euc distances exceed float32's range (embeddings near 1e38); divide the embeddings "
                        "by a common factor first (rankings do not change)"
                    )


def distance_rows(
    probe: np.ndarray | torch.Tensor,
    gallery: PreparedGallery,
    out: torch.Tensor | None = None,
    tile_rows: int = TILE_ROWS,
) -> torch.Tensor:
    """Distances of a block of probe rows to the whole prepared gallery.

    Args:
        probe: ``[B, C, P]`` probe embeddings.
        gallery: Prepared gallery with ``M`` rows.
        out: Optional float32 buffer with at least ``B`` rows and ``M`` columns.
        tile_rows: Rows per multiply tile (keep the default for chunking-invariant results).

    Returns:
        float32 ``[B, M]``.
    """
    x = _as_tensor(probe, "probe")
    b = x.shape[0]
    if x.shape[1:] != (gallery.parts.shape[2], gallery.num_parts):
        raise ValueError(
            f"probe embeddings are [B, {x.shape[1]}, {x.shape[2]}] but the gallery is "
            f"[M, {gallery.parts.shape[2]}, {gallery.num_parts}]"
        )
    if out is None:
        out = torch.empty(b, gallery.num_rows)
    out = out[:b, : gallery.num_rows]
    if gallery.num_rows == 0:
        return out
    width = _column_block(tile_rows, gallery.num_rows)
    mm, buf = torch.empty(tile_rows, width), torch.empty(tile_rows, width)
    for r0 in range(0, b, tile_rows):
        r1 = min(r0 + tile_rows, b)
        tile = x[r0:r1]
        if r1 - r0 < tile_rows:  # zero-pad: every tile has the same shape
            tile = torch.cat([tile, tile.new_zeros((tile_rows - (r1 - r0), *tile.shape[1:]))])
        if gallery.metric == "euc":
            amax = float(_abs_max(tile)) * gallery.scale
            if amax > 2.0**PROBE_HEADROOM:
                raise ValueError(
                    f"probe embeddings reach {amax / gallery.scale:.3g}, more than 2^{PROBE_HEADROOM} times the "
                    f"gallery's scale: prepare the gallery with scale=common_scale(probe, gallery)"
                )
        xp, xsq = _to_parts(tile, gallery.metric, gallery.scale)
        _tile_distances(xp, xsq, gallery, out[r0:r1], r1 - r0, mm, buf)
    return out


def part_distance(
    x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, metric: str = "euc"
) -> torch.Tensor:
    """Full distance matrix, the peer's ``cuda_dist`` on CPU. Only for small inputs (tests, re-ranking).

    Args:
        x: ``[n, C, P]``.
        y: ``[m, C, P]``.
        metric: ``"euc"`` or ``"cos"``.

    Returns:
        float32 ``[n, m]``.
    """
    scale = common_scale(x, y) if metric == "euc" else None
    return distance_rows(x, PreparedGallery.from_embeddings(y, metric, scale=scale))


def chunk_rows_for(num_gallery: int, memory_limit_mb: float, bytes_per_element: int = 32) -> tuple[int, int]:
    """Rows per chunk and rows per tile for a gallery of ``num_gallery`` rows under a memory cap.

    Args:
        num_gallery: Gallery size M.
        memory_limit_mb: Cap on the chunk working set (distance block, the reducers' temporaries and the two
            ``[T, W]`` multiply buffers).
        bytes_per_element: Working bytes per distance entry.

    Returns:
        ``(chunk_rows, tile_rows)``: chunk_rows is a multiple of tile_rows. tile_rows is :data:`TILE_ROWS`
        unless one such tile of full gallery rows exceeds the cap, then the largest power of two that fits
        (down to 1; a warning is logged if even one row exceeds the cap). The tile depends on the gallery size
        and the cap only, so for a given cap the distances are bit-identical whatever the chunking; a cap too
        small for a full tile changes the multiply shape and may move distances in the last bit.
    """
    if memory_limit_mb <= 0:
        raise ValueError(f"memory_limit_mb must be positive, got {memory_limit_mb}")
    budget = int(memory_limit_mb * 2**20)
    per_row = max(1, num_gallery) * bytes_per_element

    def buffers(tile: int) -> int:
        return 2 * 4 * tile * _column_block(tile, max(1, num_gallery))

    tile = TILE_ROWS
    while tile > 1 and buffers(tile) + tile * per_row > budget:
        tile //= 2
    fit = max(0, budget - buffers(tile)) // per_row
    if fit < 1:
        logger.warning(
            "memory cap %.0f MiB is below one probe row against %d gallery rows (%.1f MiB); using one row",
            memory_limit_mb,
            num_gallery,
            per_row / 2**20,
        )
    rows = max(tile, (fit // tile) * tile)
    return rows, tile


def iter_distance_chunks(
    probe: np.ndarray | torch.Tensor,
    gallery: PreparedGallery,
    memory_limit_mb: float = DEFAULT_MEMORY_LIMIT_MB,
    bytes_per_element: int = 32,
    chunk_rows: int | None = None,
    probe_rows: np.ndarray | None = None,
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Yield ``(start, stop, dist)`` with ``dist`` float32 ``[stop - start, M]`` for consecutive probe rows.

    The yielded tensor is a reused buffer: consume it before asking for the next chunk.

    Args:
        probe: ``[N, C, P]`` probe embeddings.
        gallery: Prepared gallery (M rows).
        memory_limit_mb: Working-memory cap for one chunk.
        bytes_per_element: Working bytes per distance entry (see :func:`chunk_rows_for`).
        chunk_rows: Force a chunk size (rounded up to a multiple of the tile); ``None``: from the cap.
        probe_rows: Use only these rows of ``probe`` (in this order); ``start``/``stop`` index into them.
    """
    x = _as_tensor(probe, "probe")
    n = x.shape[0] if probe_rows is None else len(probe_rows)
    rows, tile = chunk_rows_for(gallery.num_rows, memory_limit_mb, bytes_per_element)
    if chunk_rows is not None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        rows = -(-chunk_rows // tile) * tile
    rows = max(1, min(rows, -(-n // tile) * tile)) if n else rows
    buf = torch.empty(min(rows, max(n, 1)), gallery.num_rows)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        yield (
            start,
            stop,
            distance_rows(_gather(x, probe_rows, start, stop), gallery, out=buf, tile_rows=tile),
        )
