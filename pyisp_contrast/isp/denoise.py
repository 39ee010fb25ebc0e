"""Edge-aware denoising for enhancement pipelines: a guided filter with a per-pixel noise level.

The guided filter (He, Sun, Tang, "Guided Image Filtering", ECCV 2010 / TPAMI 2013) models the output
as a local affine function of a guide, ``q = a * I + b``, fitted in windows with a regulariser ``eps``:
where the guide varies less than ``eps`` (noise) the output is the local mean, where it varies more
(edges, texture) the guide passes through. The fast variant (He and Sun, arXiv 1505.00996) fits
``a, b`` on a coarse grid and upsamples them.

:func:`block_guided_filter` differs from kornia's ``guided_blur`` in two ways that matter for
low-light photos, so it is written here:

- the coarse grid holds *block means* of ``I``, ``I^2``, ``p`` and ``I p`` taken at full resolution,
  so the local variance still contains the pixel-level noise that ``eps`` must be compared with
  (nearest-neighbour subsampling keeps it too, but from one pixel in ``block^2``);
- ``eps`` may be a map, one value per coarse cell, so a network can set the strength by the noise it
  expects there (dark regions of a dark photo are noisier than lit ones).

With a colour input and a grey guide every channel becomes an affine function of the same guide, so
chroma noise (colour speckle) goes wherever ``a`` is small or equal across channels, and an input
whose channels are equal stays exactly grey.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_finite, check_image, check_int, unbatch
from pyisp_contrast.core.threads import cpu_kernel_applies, follow_torch_threads

__all__ = [
    "BlockGuidedFilter",
    "block_guided_filter",
    "block_statistics",
    "box_mean",
    "guided_coefficients",
    "upsample_cells",
]

#: :func:`block_statistics` takes the numba kernel from this many pixels per image: below, torch
#: is within a fraction of a millisecond and the kernel's compilation on first use (a few
#: seconds, cached afterwards) would dominate a first run on a small photo.
KERNEL_MIN_PIXELS = 500_000


def _check_block_args(block: int, radius: int) -> None:
    check_int(block, "block", 1, hint="pixels per grid cell")
    check_int(radius, "radius", 0, hint="grid cells")


def _use_kernel(images: Tensor, guide: Tensor) -> bool:
    """The numba path of :func:`block_statistics`: CPU float32, contiguous, no gradient, large."""
    return (
        cpu_kernel_applies(images, KERNEL_MIN_PIXELS, guide)
        and cpu_kernel_applies(guide, KERNEL_MIN_PIXELS)
        and guide.shape[0] == images.shape[0]
        and guide.shape[1] == 1
        and guide.shape[-2:] == images.shape[-2:]
    )


def _pad_to_multiple(x: Tensor, block: int) -> Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % block, (-w) % block
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x


def block_statistics(images: Tensor, guide: Tensor, block: int) -> Tensor:
    """Block means of ``[I, I^2, p, I p]`` on a grid of ``block x block`` cells.

    Args:
        images: ``p``, ``(B, C, H, W)``.
        guide: ``I``, ``(B, 1, H, W)``.
        block: cell side in pixels; the image is padded by replication to a multiple of it.

    Returns:
        ``(B, 2 + 2C, ceil(H / block), ceil(W / block))``: channels ``I``, ``I^2``, ``p`` (C of them),
        ``I p`` (C).

    On the CPU in float32 without gradients, for images of at least :data:`KERNEL_MIN_PIXELS`,
    one numba kernel reads each pixel once (1200 x 900 x 3: about 1 ms against torch's 4.5);
    elsewhere torch pools the products term by term. The two agree to float32 rounding.

    Example:
        >>> s = block_statistics(torch.ones(1, 3, 4, 4), torch.full((1, 1, 4, 4), 2.0), 2)
        >>> s.shape, s[0, :, 0, 0].tolist()
        (torch.Size([1, 8, 2, 2]), [2.0, 4.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    """
    _check_block_args(block, 0)
    if block == 1:
        return torch.cat([guide, guide * guide, images, images * guide], 1)
    if _use_kernel(images, guide):
        from pyisp_contrast.isp._denoise_kernel import block_statistics_into

        b, c, h, w = images.shape
        out = images.new_empty((b, 2 + 2 * c, -(-h // block), -(-w // block)))
        follow_torch_threads()
        block_statistics_into(images.detach().numpy(), guide.detach().numpy(), block, out.numpy())
        return out
    g = _pad_to_multiple(guide, block)
    p = _pad_to_multiple(images, block)
    # Pooled one term at a time: no (B, 2 + 2C, H, W) stack at full resolution.
    parts = [g, g * g, p, p * g]
    return torch.cat([F.avg_pool2d(t, block) for t in parts], 1)


#: :func:`box_mean` sums shifted slices up to this radius and running sums above it: the slices'
#: O(r) work passes the running sums' O(1) at about radius 10 (2 threads of this project's CPU,
#: 2026-12-06: 3 x 900 x 1200 at radius 1, 4, 8, 12: 14, 22, 27, 40 ms against 51, 38, 36, 36;
#: 8 x 225 x 300 cells: 2.0, 1.2, 2.7, 3.4 against 3.7, 2.8, 3.0, 2.6).
SLICES_MAX_RADIUS = 8


def box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean over the ``(2 radius + 1)^2`` window around each position of ``(..., H, W)`` maps.

    Windows that cross the border average only the positions inside (the normalisation of He et
    al.'s guided filter; as ``F.avg_pool2d(x, 2 radius + 1, stride=1, padding=radius,
    count_include_pad=False)``, several times faster). Small radii sum shifted slices of the
    zero-padded maps, large ones take differences of running sums (O(1) per position); the two
    agree to float rounding. No input checks: :func:`pyisp_contrast.classical.box_filter` is the
    checked form.

    Example:
        >>> box_mean(torch.arange(5.0).reshape(1, 5), radius=1)
        tensor([[0.5000, 1.0000, 2.0000, 3.0000, 3.5000]])
    """
    if radius == 0:
        return x
    h, w = x.shape[-2], x.shape[-1]
    if radius > SLICES_MAX_RADIUS:
        s = _window_sum(_window_sum(x, radius, -2), radius, -1)
    else:
        k = 2 * radius + 1
        p = F.pad(x, [radius, radius, radius, radius])
        rows = p[..., :, 0:w] + p[..., :, 1 : 1 + w]
        for i in range(2, k):
            rows = rows + p[..., :, i : i + w]
        s = rows[..., 0:h, :] + rows[..., 1 : 1 + h, :]
        for i in range(2, k):
            s = s + rows[..., i : i + h, :]
    return s / (_window_counts(h, radius, x)[:, None] * _window_counts(w, radius, x))


def _window_sum(x: Tensor, radius: int, dim: int) -> Tensor:
    """Sums over ``[i - radius, i + radius]`` (inside the map) along ``dim``, from running sums."""
    n = x.shape[dim]
    cs = torch.cumsum(x, dim=dim)
    cs = torch.cat([torch.zeros_like(cs.narrow(dim, 0, 1)), cs], dim=dim)  # first k entries
    i = torch.arange(n, device=x.device)
    return cs.index_select(dim, (i + radius + 1).clamp(max=n)) - cs.index_select(
        dim, (i - radius).clamp(min=0)
    )


def _window_counts(n: int, radius: int, like: Tensor) -> Tensor:
    """``(n,)``: how many of ``n`` positions each window of ``2 radius + 1`` covers."""
    i = torch.arange(n, device=like.device)
    return ((i + radius).clamp(max=n - 1) - (i - radius).clamp(min=0) + 1).to(like.dtype)


def guided_coefficients(
    stats: Tensor, eps: Tensor | float, radius: int = 1
) -> tuple[Tensor, Tensor]:
    """Affine coefficients ``(a, b)`` of the guided filter from :func:`block_statistics`.

    Window means are box means of ``2 * radius + 1`` cells; ``a = cov(I, p) / (var(I) + eps)``,
    ``b = mean(p) - a mean(I)``, then both are box-averaged again (every window holding a pixel
    votes, as in He et al.).

    Args:
        stats: ``(B, 2 + 2C, h, w)`` from :func:`block_statistics`.
        eps: regulariser in squared guide units, ``> 0``: a float, ``(B,)`` or a ``(B, 1, h, w)`` map.
        radius: window radius in cells.

    Returns:
        ``a`` and ``b``, each ``(B, C, h, w)``.
    """
    _check_block_args(1, radius)
    c = (stats.shape[1] - 2) // 2
    m = box_mean(stats, radius)
    m_i, m_ii, m_p, m_ip = m[:, :1], m[:, 1:2], m[:, 2 : 2 + c], m[:, 2 + c :]
    var = (m_ii - m_i * m_i).clamp_min(0.0)
    cov = m_ip - m_i * m_p
    if isinstance(eps, Tensor) and eps.ndim == 1:
        eps = eps.view(-1, 1, 1, 1)
    a = cov / (var + eps)
    b = m_p - a * m_i
    return box_mean(a, radius), box_mean(b, radius)


def block_guided_filter(
    images: Tensor,
    eps: Tensor | float,
    guide: Tensor | None = None,
    *,
    block: int = 4,
    radius: int = 1,
) -> Tensor:
    r"""Fast guided filter with block statistics and an optional per-cell ``eps`` map.

    ``q = A * I + B`` with ``A, B`` the coefficients of :func:`guided_coefficients` on the grid of
    ``block``-pixel cells, upsampled bilinearly (cell centres) to full resolution. The effective
    window is about ``(2 * radius + 1) * block`` pixels wide. Differentiable with respect to the
    images, the guide and ``eps``.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        eps: regulariser (about the noise variance to remove, in squared intensity units), ``> 0``:
            a float, a ``(B,)`` tensor or a ``(B, 1, ceil(H / block), ceil(W / block))`` map.
        guide: ``(B, 1, H, W)``; default the mean of the channels (the least noisy grey).
        block: grid cell side in pixels (``>= 1``).
        radius: window radius in cells (``>= 0``).

    Returns:
        The filtered images, same shape (not clipped).

    Example:
        >>> x = torch.full((1, 3, 32, 32), 0.2)
        >>> x[..., 16:] = 0.8  # an edge
        >>> noisy = x + 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        >>> q = block_guided_filter(noisy, 4e-3, block=2)
        >>> flat = (..., slice(0, 10))  # away from the edge the noise is averaged out
        >>> bool((q - x)[flat].std() < 0.5 * (noisy - x)[flat].std())
        True
        >>> bool(q[..., 17].mean() - q[..., 14].mean() > 0.5)  # and the edge stays
        True
    """
    x, unb = check_image(images, "images", check_range=False)
    _check_block_args(block, radius)
    b, _, h, w = x.shape
    if guide is None:
        g = x.mean(1, keepdim=True)
    else:
        g, _ = check_image(guide, "guide", channels=(1,), allow_unbatched=False, check_range=False)
        if g.shape[0] != b or g.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"`guide` must be ({b}, 1, {h}, {w}) like the images, got {tuple(g.shape)}."
            )
    grid = (-(-h // block), -(-w // block))
    if isinstance(eps, Tensor):
        check_finite(eps, "eps")
        if eps.ndim == 4 and (eps.shape[0] != b or eps.shape[1] != 1 or eps.shape[-2:] != grid):
            raise ValueError(
                f"an `eps` map must be ({b}, 1, {grid[0]}, {grid[1]}) (one value per cell), got "
                f"{tuple(eps.shape)}."
            )
        if eps.ndim not in (0, 1, 4) or (eps.ndim == 1 and eps.shape[0] != b):
            raise ValueError(
                f"`eps` must be a float, a ({b},) tensor or a ({b}, 1, h, w) map, got {tuple(eps.shape)}."
            )
        bad = bool((eps <= 0).any())
    else:
        bad = not float(eps) > 0
    if bad:
        raise ValueError("`eps` must be > 0 (it is added to a variance).")
    a, bb = guided_coefficients(
        block_statistics(x, g, block), eps.to(x) if isinstance(eps, Tensor) else eps, radius
    )
    if block > 1:
        a = upsample_cells(a, block, (h, w))
        bb = upsample_cells(bb, block, (h, w))
    return unbatch(a * g + bb, unb)


def upsample_cells(x: Tensor, block: int, size: tuple[int, int]) -> Tensor:
    """Bilinear upsampling of per-cell values to pixels, cells centred on their blocks.

    The grid covers the image padded to a multiple of ``block``; the result is cropped to ``size``.

    Example:
        >>> upsample_cells(torch.ones(1, 1, 2, 2), 4, (7, 8)).shape
        torch.Size([1, 1, 7, 8])
    """
    h, w = x.shape[-2:]
    up = F.interpolate(x, size=(h * block, w * block), mode="bilinear", align_corners=False)
    return up[..., : size[0], : size[1]]


class BlockGuidedFilter(nn.Module):
    """Module form of :func:`block_guided_filter`; ``forward(images, eps, guide=None)``.

    Example:
        >>> BlockGuidedFilter(block=2)(torch.rand(1, 3, 8, 8), 1e-2).shape
        torch.Size([1, 3, 8, 8])
    """

    def __init__(self, block: int = 4, radius: int = 1) -> None:
        super().__init__()
        _check_block_args(block, radius)
        self.block, self.radius = block, radius

    def forward(self, images: Tensor, eps: Tensor | float, guide: Tensor | None = None) -> Tensor:
        return block_guided_filter(images, eps, guide, block=self.block, radius=self.radius)
