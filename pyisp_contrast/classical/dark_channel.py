"""Dark channel prior dehazing with guided-filter refinement, batched in torch.

The atmospheric scattering model writes a hazy image as ``I = J * t + A * (1 - t)`` with ``J`` the
scene radiance, ``t`` the transmission and ``A`` the global airlight. He, Sun and Tang observed that in
haze-free outdoor patches at least one colour channel is close to zero (the *dark channel prior*), which
gives a coarse transmission ``t = 1 - omega * dark(I / A)`` and an airlight from the haziest pixels.
The blocky coarse map is then refined with the guided filter, an edge-preserving filter that is linear
in the input and computed with box filters in O(1) time per pixel whatever the radius.

Everything here works on ``(B, C, H, W)`` batches on any device and dtype, and is differentiable: the
guided filter is smooth, the dark channel's min-pool passes a subgradient to the minimum, and the
airlight is the colour of one selected pixel (its selection is discrete, its value is not).

References:
    K. He, J. Sun, X. Tang. *Single image haze removal using dark channel prior*. CVPR 2009;
    TPAMI 33(12), 2011. doi:10.1109/TPAMI.2010.168

    K. He, J. Sun, X. Tang. *Guided image filtering*. ECCV 2010; TPAMI 35(6), 2013.
    doi:10.1109/TPAMI.2012.213
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_float, check_image, check_int, unbatch
from pyisp_contrast.core.color import luma
from pyisp_contrast.isp.denoise import box_mean

__all__ = [
    "ColorGuidedFilter",
    "DarkChannel",
    "DarkChannelDehaze",
    "GuidedFilter",
    "box_filter",
    "color_guided_filter",
    "dark_channel",
    "dark_channel_dehaze",
    "dark_channel_estimates",
    "estimate_airlight",
    "estimate_transmission",
    "guided_filter",
]

# Airlight channels below this are treated as this value when normalising I / A (avoids 0 / 0).
_AIRLIGHT_FLOOR = 1e-3


# --------------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------------
def _check_patch_size(patch_size: int) -> int:
    return check_int(patch_size, "patch_size", 1, odd=True, hint="e.g. 15")


def _check_radius(radius: int) -> int:
    return check_int(radius, "radius", 0, hint="window side 2 * radius + 1")


def _check_unit(value: float, name: str) -> float:
    return check_float(value, name, 0.0, 1.0, low_open=True)


def _check_eps(eps: float) -> float:
    return check_float(
        eps, "eps", 0.0, low_open=True, finite=False, hint="regularises the local variance"
    )


def _check_airlight(airlight: Tensor, images: Tensor) -> Tensor:
    if not isinstance(airlight, Tensor):
        raise TypeError(f"`airlight` must be a (B, C) tensor, got {type(airlight).__name__}.")
    b, c = images.shape[:2]
    if airlight.shape not in ((b, c), (c,)):
        raise ValueError(
            f"`airlight` must have shape ({b}, {c}) (one colour per image) or ({c},), "
            f"got {tuple(airlight.shape)}."
        )
    return airlight.to(images.dtype).expand(b, c)


# --------------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------------
def _min_pool(x: Tensor, patch_size: int) -> Tensor:
    # max_pool2d pads with -inf, so the min-pool of x is -max_pool(-x): border windows shrink
    # instead of seeing made-up values.
    if patch_size == 1:
        return x
    return -F.max_pool2d(-x, patch_size, stride=1, padding=patch_size // 2)


def _dark_channel(x: Tensor, patch_size: int) -> Tensor:
    return _min_pool(x.amin(dim=1, keepdim=True), patch_size)


def dark_channel(images: Tensor, patch_size: int = 15) -> Tensor:
    """Dark channel: the minimum over colour channels and a square patch around each pixel.

    ``dark(x) = min_{y in patch(x)} min_c I_c(y)`` (He et al., CVPR 2009, eq. 5). Windows that
    cross the border use only the pixels inside the image.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        patch_size: odd side of the square patch (15 in the paper for ~600x400 images).

    Returns:
        ``(B, 1, H, W)`` (or ``(1, H, W)``) dark channel.

    Example:
        >>> x = torch.ones(1, 3, 5, 5)
        >>> x[0, 1, 2, 2] = 0.2
        >>> dark_channel(x, patch_size=3)[0, 0]
        tensor([[1.0000, 1.0000, 1.0000, 1.0000, 1.0000],
                [1.0000, 0.2000, 0.2000, 0.2000, 1.0000],
                [1.0000, 0.2000, 0.2000, 0.2000, 1.0000],
                [1.0000, 0.2000, 0.2000, 0.2000, 1.0000],
                [1.0000, 1.0000, 1.0000, 1.0000, 1.0000]])
    """
    x, unbatched = check_image(images, "images", channels=None)
    return unbatch(_dark_channel(x, _check_patch_size(patch_size)), unbatched)


def box_filter(images: Tensor, radius: int) -> Tensor:
    """Mean over a ``(2 r + 1) x (2 r + 1)`` window, O(1) per pixel for any radius.

    Border windows average only the pixels inside the image (the normalisation of He et al.'s
    guided filter). Values are not range-checked, so any real-valued map can be filtered.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` float tensor.
        radius: window radius ``r >= 0`` (0 returns the input).

    Returns:
        Tensor of the input's shape.

    Example:
        >>> box_filter(torch.arange(5.0).reshape(1, 1, 1, 5), radius=1)
        tensor([[[[0.5000, 1.0000, 2.0000, 3.0000, 3.5000]]]])
    """
    x, unbatched = check_image(images, "images", channels=None, check_range=False)
    return unbatch(box_mean(x, _check_radius(radius)), unbatched)


def _pair(
    guide: Tensor, src: Tensor, guide_channels: tuple[int, ...] | None
) -> tuple[Tensor, Tensor, bool]:
    g, g_unbatched = check_image(guide, "guide", channels=guide_channels, check_range=False)
    p, p_unbatched = check_image(src, "src", channels=None, check_range=False)
    if g_unbatched != p_unbatched:
        raise ValueError(
            "`guide` and `src` must both be batched (B, C, H, W) or both unbatched (C, H, W)."
        )
    if g.shape[0] != p.shape[0] or g.shape[-2:] != p.shape[-2:]:
        raise ValueError(
            f"`guide` {tuple(g.shape)} and `src` {tuple(p.shape)} must have the same batch size and "
            "spatial size."
        )
    return g, p.to(g.dtype), g_unbatched


def _guided_filter(g: Tensor, p: Tensor, radius: int, eps: float) -> Tensor:
    # He et al. ECCV 2010, eqs. 5-8: a local linear model q = a * I + b fitted per window,
    # then averaged over all windows that cover a pixel.
    mean_g = box_mean(g, radius)
    mean_p = box_mean(p, radius)
    cov_gp = box_mean(g * p, radius) - mean_g * mean_p
    var_g = box_mean(g * g, radius) - mean_g * mean_g
    a = cov_gp / (var_g + eps)
    b = mean_p - a * mean_g
    return box_mean(a, radius) * g + box_mean(b, radius)


def guided_filter(guide: Tensor, src: Tensor, radius: int, eps: float = 1e-3) -> Tensor:
    """Guided filter with a grey (or per-channel) guide (He et al., ECCV 2010).

    The output is locally a linear function of the guide, ``q = a * guide + b`` in every window,
    with ``a`` fitted to ``src`` by ridge regression (``eps`` is the ridge weight). Large ``eps``
    smooths like a box filter; small ``eps`` keeps the guide's edges.

    Args:
        guide: ``(B, 1, H, W)`` grey guide (shared by every channel of ``src``) or
            ``(B, C, H, W)`` with one guide channel per ``src`` channel. ``(C, H, W)`` accepted.
        src: ``(B, C, H, W)`` map to filter (any real values, e.g. a transmission map).
        radius: window radius (side ``2 * radius + 1``).
        eps: regularisation of the local variance (guide values in [0, 1]: 1e-4 keeps fine edges,
            1e-2 smooths more).

    Returns:
        ``(B, C, H, W)`` filtered ``src``.

    Raises:
        ValueError: ``guide`` has neither 1 channel nor ``src``'s channel count; size mismatch.

    Example:
        >>> guide = torch.zeros(1, 1, 8, 8)
        >>> guide[..., 4:] = 1.0  # a vertical edge
        >>> noisy = guide + 0.05 * torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> out = guided_filter(guide, noisy, radius=2, eps=1e-3)
        >>> bool((out - guide).abs().mean() < (noisy - guide).abs().mean())
        True
    """
    g, p, unbatched = _pair(guide, src, None)
    if g.shape[1] not in (1, p.shape[1]):
        raise ValueError(
            f"`guide` must have 1 channel or as many as `src` ({p.shape[1]}), got {g.shape[1]}; "
            "use color_guided_filter for a 3-channel guide of a 1-channel map."
        )
    return unbatch(_guided_filter(g, p, _check_radius(radius), _check_eps(eps)), unbatched)


def _color_guided_filter(g: Tensor, p: Tensor, radius: int, eps: float) -> Tensor:
    # He et al. ECCV 2010, eq. 14: with a colour guide, a_k is a 3-vector
    # (Sigma_k + eps U)^-1 cov_k(I, p) per window; solved batched for every pixel at once.
    b_, c, h, w = g.shape
    mean_g = box_mean(g, radius)  # (B, 3, H, W)
    mean_p = box_mean(p, radius)  # (B, K, H, W)
    # Covariance of the guide: (B, 3, 3, H, W).
    gg = (g[:, :, None] * g[:, None, :]).reshape(b_, c * c, h, w)
    sigma = box_mean(gg, radius).reshape(b_, c, c, h, w) - mean_g[:, :, None] * mean_g[:, None, :]
    sigma = sigma + eps * torch.eye(c, device=g.device, dtype=g.dtype)[None, :, :, None, None]
    k = p.shape[1]
    gp = (g[:, :, None] * p[:, None, :]).reshape(b_, c * k, h, w)
    cov = box_mean(gp, radius).reshape(b_, c, k, h, w) - mean_g[:, :, None] * mean_p[:, None, :]
    # Solve per pixel: move (H, W) to the batch side of linalg.solve.
    a = torch.linalg.solve(sigma.permute(0, 3, 4, 1, 2), cov.permute(0, 3, 4, 1, 2))  # (B,H,W,3,K)
    a = a.permute(0, 3, 4, 1, 2)  # (B, 3, K, H, W)
    bias = mean_p - (a * mean_g[:, :, None]).sum(dim=1)
    mean_a = box_mean(a.reshape(b_, c * k, h, w), radius).reshape(b_, c, k, h, w)
    return (mean_a * g[:, :, None]).sum(dim=1) + box_mean(bias, radius)


def color_guided_filter(guide: Tensor, src: Tensor, radius: int, eps: float = 1e-3) -> Tensor:
    """Guided filter with a colour guide (He et al., ECCV 2010, eq. 14).

    Each output window is a linear function of all three guide channels, which keeps edges that
    differ in colour but not in brightness; the price is a 3x3 solve per pixel.

    Args:
        guide: ``(B, 3, H, W)`` colour guide (or ``(3, H, W)``).
        src: ``(B, K, H, W)`` maps to filter, each channel on its own (e.g. ``K = 1`` transmission).
        radius: window radius (side ``2 * radius + 1``).
        eps: ridge regularisation added to the guide's 3x3 covariance.

    Returns:
        ``(B, K, H, W)`` filtered ``src``.

    Example:
        >>> guide = torch.zeros(1, 3, 8, 8)
        >>> guide[:, 0, :, 4:] = 1.0  # an edge in red only
        >>> out = color_guided_filter(guide, guide[:, :1], radius=2, eps=1e-4)
        >>> torch.allclose(out, guide[:, :1], atol=1e-3)
        True
    """
    g, p, unbatched = _pair(guide, src, (3,))
    return unbatch(_color_guided_filter(g, p, _check_radius(radius), _check_eps(eps)), unbatched)


# --------------------------------------------------------------------------------------------------
# the dehazing pipeline
# --------------------------------------------------------------------------------------------------
def _estimate_airlight(x: Tensor, dark: Tensor, top_fraction: float) -> Tensor:
    b, c = x.shape[:2]
    n = max(1, round(top_fraction * dark.shape[-1] * dark.shape[-2]))
    # The haziest pixels are the brightest of the dark channel; among them the brightest in the
    # input is taken as the airlight (He et al. 2009, sec. 4.4), not simply the brightest pixel,
    # which is often a white object.
    cand = dark.flatten(1).topk(n, dim=1).indices  # (B, n)
    colours = x.flatten(2).gather(2, cand[:, None, :].expand(b, c, n))  # (B, C, n)
    best = colours.sum(dim=1).argmax(dim=1)  # (B,)
    return colours.gather(2, best[:, None, None].expand(b, c, 1)).squeeze(2)


def estimate_airlight(images: Tensor, patch_size: int = 15, top_fraction: float = 0.001) -> Tensor:
    """Global airlight from the haziest pixels (He et al., CVPR 2009, sec. 4.4).

    Takes the ``top_fraction`` brightest pixels of the dark channel and returns the colour of the
    one with the highest intensity in the input.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` hazy images in [0, 1].
        patch_size: odd dark-channel patch side.
        top_fraction: share of pixels taken as haze-opaque candidates (0.1 % in the paper).

    Returns:
        ``(B, C)`` airlight (``(C,)`` for an unbatched input).

    Example:
        >>> x = torch.full((1, 3, 4, 4), 0.2)
        >>> x[0, :, 0, 0] = torch.tensor([0.9, 0.8, 0.7])
        >>> estimate_airlight(x, patch_size=1, top_fraction=0.1)
        tensor([[0.9000, 0.8000, 0.7000]])
    """
    x, unbatched = check_image(images, "images", channels=None)
    top_fraction = _check_unit(top_fraction, "top_fraction")
    a = _estimate_airlight(x, _dark_channel(x, _check_patch_size(patch_size)), top_fraction)
    return a.squeeze(0) if unbatched else a


def _estimate_transmission(x: Tensor, airlight: Tensor, patch_size: int, omega: float) -> Tensor:
    norm = x / airlight.clamp(min=_AIRLIGHT_FLOOR)[:, :, None, None]
    return 1.0 - omega * _dark_channel(norm, patch_size)


def estimate_transmission(
    images: Tensor, airlight: Tensor, patch_size: int = 15, omega: float = 0.95
) -> Tensor:
    """Coarse transmission ``t = 1 - omega * dark(I / A)`` (He et al., CVPR 2009, eq. 12).

    ``omega < 1`` keeps a little haze for distant objects so the result looks natural. The map is
    blocky (constant over patches); refine it with :func:`guided_filter`.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` hazy images in [0, 1].
        airlight: ``(B, C)`` or ``(C,)`` airlight colour.
        patch_size: odd dark-channel patch side.
        omega: share of the haze removed, in (0, 1].

    Returns:
        ``(B, 1, H, W)`` coarse transmission (may be below 0 where ``I > A``; clamp before use).

    Example:
        >>> x = torch.full((1, 3, 4, 4), 0.5)
        >>> estimate_transmission(x, torch.ones(1, 3), patch_size=3, omega=1.0)[0, 0, 0, 0]
        tensor(0.5000)
    """
    x, unbatched = check_image(images, "images", channels=None)
    a = _check_airlight(airlight, x)
    t = _estimate_transmission(x, a, _check_patch_size(patch_size), _check_unit(omega, "omega"))
    return unbatch(t, unbatched)


def _estimates(
    x: Tensor, patch_size: int, omega: float, radius: int, eps: float, top_fraction: float
) -> tuple[Tensor, Tensor]:
    dark = _dark_channel(x, patch_size)
    airlight = _estimate_airlight(x, dark, top_fraction)
    t = _estimate_transmission(x, airlight, patch_size, omega)
    if x.shape[1] == 3:
        t = _guided_filter(luma(x), t, radius, eps)  # the grey guide: Rec. 601 luma
    else:
        t = _guided_filter(x, t, radius, eps)
    return t.clamp(0.0, 1.0), airlight


def dark_channel_estimates(
    images: Tensor,
    patch_size: int = 15,
    omega: float = 0.95,
    radius: int = 40,
    eps: float = 1e-3,
    top_fraction: float = 0.001,
) -> tuple[Tensor, Tensor]:
    """Transmission (refined with a grey guided filter) and airlight by the dark channel prior.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` hazy images in [0, 1].
        patch_size: odd dark-channel patch side (15 in the paper).
        omega: share of the haze removed (0.95 in the paper).
        radius: guided-filter radius; a few times ``patch_size`` so the refined map forgets the
            patches' blocks.
        eps: guided-filter regularisation.
        top_fraction: share of haze-opaque airlight candidates (0.1 % in the paper).

    Returns:
        ``(t, A)``: ``(B, 1, H, W)`` transmission in [0, 1] and ``(B, C)`` airlight (unbatched
        input: ``(1, H, W)`` and ``(C,)``).

    Example:
        >>> t, a = dark_channel_estimates(torch.rand(2, 3, 32, 32), patch_size=7, radius=8)
        >>> t.shape, a.shape
        (torch.Size([2, 1, 32, 32]), torch.Size([2, 3]))
    """
    x, unbatched = check_image(images, "images", channels=None)
    t, a = _estimates(
        x,
        _check_patch_size(patch_size),
        _check_unit(omega, "omega"),
        _check_radius(radius),
        _check_eps(eps),
        _check_unit(top_fraction, "top_fraction"),
    )
    if unbatched:
        return t.squeeze(0), a.squeeze(0)
    return t, a


def _recover(x: Tensor, t: Tensor, airlight: Tensor, t_min: float) -> Tensor:
    # J = (I - A) / max(t, t0) + A (He et al. 2009, eq. 22); the floor t0 keeps noise in dense
    # haze from being amplified without bound.
    a = airlight[:, :, None, None]
    return ((x - a) / t.clamp(min=t_min) + a).clamp(0.0, 1.0)


def dark_channel_dehaze(
    images: Tensor,
    patch_size: int = 15,
    omega: float = 0.95,
    t_min: float = 0.1,
    radius: int = 40,
    eps: float = 1e-3,
    top_fraction: float = 0.001,
) -> Tensor:
    """Dehaze with the dark channel prior and guided-filter refinement (He et al. 2009 / 2010).

    Estimates the airlight and transmission with :func:`dark_channel_estimates`, then inverts the
    scattering model ``J = (I - A) / max(t, t_min) + A`` and clamps to [0, 1].

    The prior fails where it does not hold: large bright surfaces (sky, white walls) look hazy
    to it and are over-corrected. Parameters are for images of a few hundred pixels a side;
    scale ``patch_size`` and ``radius`` with the image size.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` hazy images in [0, 1].
        patch_size: odd dark-channel patch side.
        omega: share of the haze removed.
        t_min: lower bound on the transmission in the inversion, in (0, 1].
        radius: guided-filter radius.
        eps: guided-filter regularisation.
        top_fraction: share of haze-opaque airlight candidates.

    Returns:
        Dehazed images, same shape as ``images``, in [0, 1].

    Example:
        >>> clear = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 0.5
        >>> hazy = 0.6 * clear + 0.4 * 0.9  # t = 0.6, A = 0.9 everywhere
        >>> out = dark_channel_dehaze(hazy, patch_size=3, radius=4)
        >>> bool((out - clear).abs().mean() < (hazy - clear).abs().mean())
        True
    """
    x, unbatched = check_image(images, "images", channels=None)
    t_min = _check_unit(t_min, "t_min")
    t, a = _estimates(
        x,
        _check_patch_size(patch_size),
        _check_unit(omega, "omega"),
        _check_radius(radius),
        _check_eps(eps),
        _check_unit(top_fraction, "top_fraction"),
    )
    return unbatch(_recover(x, t, a, t_min), unbatched)


# --------------------------------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------------------------------
class DarkChannel(nn.Module):
    """Module form of :func:`dark_channel`.

    Example:
        >>> DarkChannel(patch_size=3)(torch.rand(2, 3, 8, 8)).shape
        torch.Size([2, 1, 8, 8])
    """

    def __init__(self, patch_size: int = 15) -> None:
        super().__init__()
        self.patch_size = _check_patch_size(patch_size)

    def forward(self, images: Tensor) -> Tensor:
        return dark_channel(images, self.patch_size)

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}"


class GuidedFilter(nn.Module):
    """Module form of :func:`guided_filter`; ``forward(guide, src)``.

    Example:
        >>> GuidedFilter(radius=2)(torch.rand(1, 1, 8, 8), torch.rand(1, 2, 8, 8)).shape
        torch.Size([1, 2, 8, 8])
    """

    def __init__(self, radius: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.radius = _check_radius(radius)
        self.eps = _check_eps(eps)

    def forward(self, guide: Tensor, src: Tensor) -> Tensor:
        return guided_filter(guide, src, self.radius, self.eps)

    def extra_repr(self) -> str:
        return f"radius={self.radius}, eps={self.eps:g}"


class ColorGuidedFilter(GuidedFilter):
    """Module form of :func:`color_guided_filter`; ``forward(guide, src)``.

    Example:
        >>> ColorGuidedFilter(radius=2)(torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8)).shape
        torch.Size([1, 1, 8, 8])
    """

    def forward(self, guide: Tensor, src: Tensor) -> Tensor:
        return color_guided_filter(guide, src, self.radius, self.eps)


class DarkChannelDehaze(nn.Module):
    """Module form of :func:`dark_channel_dehaze` (no learnable parameters).

    Example:
        >>> DarkChannelDehaze(patch_size=3, radius=4)(torch.rand(3, 16, 16)).shape
        torch.Size([3, 16, 16])
    """

    def __init__(
        self,
        patch_size: int = 15,
        omega: float = 0.95,
        t_min: float = 0.1,
        radius: int = 40,
        eps: float = 1e-3,
        top_fraction: float = 0.001,
    ) -> None:
        super().__init__()
        self.patch_size = _check_patch_size(patch_size)
        self.omega = _check_unit(omega, "omega")
        self.t_min = _check_unit(t_min, "t_min")
        self.radius = _check_radius(radius)
        self.eps = _check_eps(eps)
        self.top_fraction = _check_unit(top_fraction, "top_fraction")

    def forward(self, images: Tensor) -> Tensor:
        return dark_channel_dehaze(
            images,
            self.patch_size,
            self.omega,
            self.t_min,
            self.radius,
            self.eps,
            self.top_fraction,
        )

    def extra_repr(self) -> str:
        return (
            f"patch_size={self.patch_size}, omega={self.omega:g}, t_min={self.t_min:g}, "
            f"radius={self.radius}, eps={self.eps:g}"
        )
