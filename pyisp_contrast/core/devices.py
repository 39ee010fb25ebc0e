"""Device names: one resolver for the library, the trainer and the command line.

:func:`resolve_device` turns what a user writes (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
``"mps"`` or a ``torch.device``) into a ``torch.device`` that exists on this machine, or raises a
:class:`DeviceError` that says what to give instead. ``load_pretrained(device=...)``,
``TrainConfig.device`` and every ``--device`` option go through it, so they accept the same names
and fail with the same messages.
"""

from __future__ import annotations

import torch

__all__ = ["DeviceError", "resolve_device"]

#: What the messages offer instead of a bad name.
_NAMES = "auto, cpu, cuda or cuda:N"


class DeviceError(ValueError, RuntimeError):
    """A device name that is not one, or a device this machine does not have.

    A ``ValueError`` (a bad argument) that is also a ``RuntimeError``, which is what the trainer's
    resolver raised for a missing GPU before the resolvers became one, so ``except`` clauses written
    for either keep working.
    """


def resolve_device(
    device: str | torch.device, local_rank: int = 0, *, what: str = "`device`"
) -> torch.device:
    """The ``torch.device`` that ``device`` names on this machine.

    Args:
        device: ``"auto"`` (the GPU of ``local_rank`` when CUDA is available, else the CPU), a
            device name (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``) or a ``torch.device``.
        local_rank: the GPU that ``"auto"`` and a bare ``"cuda"`` take (torchrun's
            ``LOCAL_RANK``; 0 in a single process).
        what: where the value came from, for the messages (``"--device"``, a config file's key).

    Raises:
        DeviceError: not a device name, a GPU that is not here (no CUDA, an index past the last
            GPU, no Apple GPU), or a device type the library does not run on.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("bogus", what="--device")
        Traceback (most recent call last):
        ...
        pyisp_contrast.core.devices.DeviceError: --device 'bogus' is not a device name; use auto, cpu, cuda or cuda:N.
    """
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device(f"cuda:{local_rank}")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(f"{what} {device!r} is not a device name; use {_NAMES}.") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"{what} {device}: this machine (or this build of torch) has no CUDA GPU; use cpu."
            )
        count = torch.cuda.device_count()
        if dev.index is None:
            dev = torch.device(f"cuda:{local_rank}")
        if dev.index >= count:
            raise DeviceError(
                f"{what} {device}: there is no such GPU ({count} found: cuda:0 to cuda:{count - 1})."
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError(f"{what} {device}: no Apple GPU (MPS) here; use cpu.")
    elif dev.type != "cpu":
        raise DeviceError(f"{what} {device}: not supported; use {_NAMES}.")
    return dev
