"""One thread setting for the library's CPU work: numba's parallel kernels follow torch's.

Every numba kernel (the Bag of Curves, the curve estimators, the gain enhancer, the sharpening)
calls :func:`follow_torch_threads` before it runs, so ``torch.set_num_threads`` (and the command
line's ``--threads``) governs them too.
"""

from __future__ import annotations

import torch

__all__ = ["follow_torch_threads"]


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
