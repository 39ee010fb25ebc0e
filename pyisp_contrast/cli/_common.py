"""Helpers the sub-commands share: device names, signals, writable output folders."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import torch

__all__ = [
    "Terminated",
    "check_writable_folder",
    "cli_device",
    "terminate_raises",
]


def cli_device(name: str, what: str = "--device") -> torch.device:
    """The torch device of a ``--device`` value, or a ``ValueError`` that says what to give instead.

    ``"auto"`` is the first CUDA GPU when there is one, else the CPU. ``what`` names where the
    value came from in the messages.

    Example:
        >>> cli_device("cpu")
        device(type='cpu')
        >>> cli_device("bogus")
        Traceback (most recent call last):
        ...
        ValueError: --device 'bogus' is not a device name; use auto, cpu, cuda or cuda:N.
    """
    from pyisp_contrast.train.distributed import resolve_device

    if name == "auto":
        return resolve_device(name)
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"{what} {name!r} is not a device name; use auto, cpu, cuda or cuda:N."
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{what} {name}: this machine (or this build of torch) has no CUDA GPU; use cpu."
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"{what} {name}: there is no such GPU ({count} found: cuda:0 to cuda:{count - 1})."
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{what} {name}: no Apple GPU (MPS) here; use cpu.")
    elif dev.type != "cpu":
        raise ValueError(f"{what} {name}: not supported; use auto, cpu, cuda or cuda:N.")
    return resolve_device(dev)


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived: raised where the program is, so ``finally`` blocks clean up.

    A ``BaseException`` like ``KeyboardInterrupt``, so ``except Exception`` does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` instead of ending the process.

    Python's default for SIGTERM ends the process without unwinding, so temporary files are left
    behind; SIGINT already raises ``KeyboardInterrupt``. Outside the main thread (where signal
    handlers cannot be set) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated(signum)

    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {n: signal.signal(getattr(signal, n), handler) for n in names}
    try:
        yield
    finally:
        for n, h in previous.items():
            signal.signal(getattr(signal, n), h)


def check_writable_folder(folder: Path) -> str | None:
    """Create ``folder`` if needed and check a file can be made in it; ``None`` or why not."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} exists and is not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".pyisp-contrast-", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return f"cannot write to the output folder {folder}: {reason}"
    return None
