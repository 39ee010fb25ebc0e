"""One thread setting for the library's CPU work: numba's parallel kernels follow torch's.

Every numba kernel (the Bag of Curves, the curve estimators, the gain enhancer, the sharpening)
calls :func:`follow_torch_threads` before it runs, so ``torch.set_num_threads`` (and the command
line's ``--threads``) governs them too.
"""

from __future__ import annotations

import torch

__all__ = ["cpu_kernel_applies", "follow_torch_threads"]


def cpu_kernel_applies(images: torch.Tensor, min_pixels: int, *others: torch.Tensor) -> bool:
    """Whether an in-place numba kernel may stand in for torch on ``images``: on the CPU, float32,
    contiguous ``(B, C, H, W)`` of at least ``min_pixels`` per image, and no gradient wanted for
    ``images`` or ``others`` (their per-image settings).

    Example:
        >>> cpu_kernel_applies(torch.zeros(1, 3, 8, 8), 64), cpu_kernel_applies(torch.zeros(1, 3, 8, 8), 65)
        (True, False)
    """
    return (
        images.device.type == "cpu"
        and images.dtype == torch.float32
        and images.ndim == 4
        and images.is_contiguous()
        and images.shape[-2] * images.shape[-1] >= min_pixels
        and not (torch.is_grad_enabled() and any(t.requires_grad for t in (images, *others)))
    )


def follow_torch_threads() -> None:
    """Run numba's parallel loops on as many threads as torch's (``torch.set_num_threads``), at
    most numba's own limit (``NUMBA_NUM_THREADS``).

    Example:
        >>> import numba
        >>> follow_torch_threads()
        >>> numba.get_num_threads() == min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
        True
    """
    import numba  # only for the kernels' callers: importing core stays light

    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
