"""Tone: a camera-like S-curve on the luma, keeping chromaticity.

A camera renders its raw light with an S-shaped tone curve: midtones get more contrast than a
straight gamma gives. Lifting a dark photo by a gain in linear light brings its exposure back but
not that rendering, so the result looks flatter than the same scene shot well exposed.
:func:`luma_s_curve` applies the logistic S-curve of
:func:`~pyisp_contrast.isp.curves.sigmoid_contrast` to the luma, steepest at each photo's mean
luma (the midtones of that photo, whatever its exposure), blended in by ``amount``, and scales every channel by
the luma's ratio, so a grey stays exactly grey:

.. code-block:: text

    Y = clip(luma, 1e-4, 1),   c = mean(Y),
    S(Y) = (sig(g (Y - c)) - sig(-g c)) / (sig(g (1 - c)) - sig(-g c)),
    Y' = Y + amount (S(Y) - Y),   RGB' = clip(RGB Y' / Y, 0, 1).

0 and 1 stay fixed and the curve is monotone, so the lightness order is kept.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pyisp_contrast.core.checks import check_float, check_image, per_image_amount, unbatch
from pyisp_contrast.core.color import LUMA_WEIGHTS
from pyisp_contrast.core.threads import cpu_kernel_applies, follow_torch_threads
from pyisp_contrast.isp.sharpen import LUMA_FLOOR, luma

__all__ = ["luma_s_curve", "s_curve_about_mean", "s_curve_about_mean_"]

#: :func:`s_curve_about_mean_` takes the numba kernel from this many pixels per image (below,
#: torch's temporaries are small and the kernel's compilation on first use would dominate).
KERNEL_MIN_PIXELS = 500_000


def s_curve_about_mean(
    images: Tensor, gain: float, amount: Tensor, floor: float = LUMA_FLOOR
) -> Tensor:
    """:func:`luma_s_curve` without input checks: ``images`` ``(B, 3, H, W)``, ``amount``
    ``(B,)`` in their dtype, ``gain > 0``. Compiles with ``torch.jit.script``; differentiable."""
    y = luma(images).clamp(floor, 1.0)
    c = y.mean((1, 2, 3), keepdim=True)
    s0 = torch.sigmoid(-gain * c)
    span = torch.sigmoid(gain * (1.0 - c)) - s0
    s = ((torch.sigmoid(gain * (y - c)) - s0) / span).clamp(0.0, 1.0)
    toned = torch.lerp(y, s, amount.view(-1, 1, 1, 1))
    return (images * (toned / y)).clamp(0.0, 1.0)


def s_curve_about_mean_(images: Tensor, gain: float, amount: Tensor) -> Tensor:
    """:func:`s_curve_about_mean` at inference, in place where it can.

    On the CPU in float32 with no gradient, for images of at least :data:`KERNEL_MIN_PIXELS`, one
    numba kernel tones ``images`` in place (no full-size temporaries; 12 megapixels: several
    hundred megabytes less at the peak) and returns it; anything else returns
    :func:`s_curve_about_mean`'s new tensor. For callers that own ``images``; no checks.
    """
    if not (cpu_kernel_applies(images, KERNEL_MIN_PIXELS, amount) and images.shape[1] == 3):
        return s_curve_about_mean(images, gain, amount)
    from pyisp_contrast.isp._tone_kernel import s_curve_inplace

    follow_torch_threads()
    s_curve_inplace(
        images.detach().numpy(),
        amount.detach().to(torch.float32).contiguous().numpy(),
        np.float32(gain),
        np.asarray(LUMA_WEIGHTS, dtype=np.float32),
        np.float32(LUMA_FLOOR),
    )
    return images


def luma_s_curve(images: Tensor, amount: float | Tensor, *, gain: float = 3.0) -> Tensor:
    """Blend a camera-like S-curve into the luma of RGB ``images``, chromaticity kept.

    See the module notes for the formula.

    Args:
        images: ``(B, 3, H, W)`` or ``(3, H, W)`` RGB in [0, 1].
        amount: how much of the curve, in [0, 1]: a number, or one per image ``(B,)``.
        gain: the S-curve's steepness, ``> 0`` (3 is mild, 10 strong).

    Returns:
        The toned images, same shape, in [0, 1].

    Raises:
        ValueError: ``images`` is not RGB in [0, 1]; ``amount`` is outside [0, 1], not finite or
            has another length than the batch; ``gain`` is not ``> 0``.

    Example:
        >>> ramp = torch.linspace(0.1, 0.9, 9).expand(1, 3, 4, 9)
        >>> out = luma_s_curve(ramp, 1.0, gain=5.0)
        >>> bool(out[0, 0, 0, 0] < ramp[0, 0, 0, 0] and out[0, 0, 0, -1] > ramp[0, 0, 0, -1])
        True
        >>> bool((out[:, 0] == out[:, 1]).all())  # greys stay grey
        True
    """
    x, unbatched = check_image(images, "images", channels=(3,))
    gain = check_float(gain, "gain", 0.0, low_open=True, hint="the S-curve's steepness")
    amounts = per_image_amount(amount, "amount", x, high=1.0, hint="how much of the curve")
    return unbatch(s_curve_about_mean(x, gain, amounts), unbatched)
