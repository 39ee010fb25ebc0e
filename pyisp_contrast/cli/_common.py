"""Helpers the sub-commands share: the model options, error lines, CPU threads, signals, writable
output folders."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

__all__ = [
    "TASK_WEIGHTS",
    "THREADS_ENV",
    "CpuThreads",
    "Terminated",
    "add_model_options",
    "check_writable_folder",
    "command_error",
    "remove_empty_folders",
    "terminate_raises",
]


#: Default shipped weights of each ``--task``.
TASK_WEIGHTS = {"lowlight": "pie-physics", "dehaze": "dehaze-default", "derain": "derain-default"}


def command_error(command: str) -> Callable[[str], int]:
    """A printer of ``pyisp-contrast COMMAND: error: MSG`` lines on stderr; it returns 2, the exit
    status of a usage error, so a command can ``return error(...)``."""

    def error(msg: str) -> int:
        print(f"pyisp-contrast {command}: error: {msg}", file=sys.stderr)
        return 2

    return error


def add_model_options(
    p: argparse.ArgumentParser,
    *,
    task_help: str = "what to restore; picks the default weights",
    device: bool = True,
    settings: str | None = None,
) -> None:
    """Add the options that pick and set up a model, the same way in every command.

    ``--task`` (default ``lowlight``) and ``--weights`` (default: the task's in
    :data:`TASK_WEIGHTS`); ``--device`` unless ``device`` is false; and with ``settings`` the
    pie-physics settings ``--exposure`` and ``--denoise``, either applied to the outputs
    (``"apply"``) or baked into an exported file (``"bake"``).
    """
    p.add_argument(
        "--task",
        choices=sorted(TASK_WEIGHTS),
        default="lowlight",
        help=f"{task_help} (default: %(default)s)",
    )
    p.add_argument(
        "--weights",
        default=None,
        metavar="PATH|NAME",
        help="weights file or shipped name (default: the task's, e.g. pie-physics)",
    )
    if device:
        p.add_argument(
            "--device", default="auto", help="cpu, cuda, cuda:1 or auto (default: %(default)s)"
        )
    if settings == "apply":
        exposure = (
            "brighter (+) or darker (-) than the model's own choice, in stops, -3 to 3; shadows "
            "move most, white stays white (pie-physics; default: the model's choice)"
        )
        denoise = (
            "denoise FACTOR times as hard as the model's own choice, 0.01 to 100: e.g. 4 for "
            "photos noisier than usual, 0.25 to keep more texture (pie-physics; default: 1)"
        )
    elif settings == "bake":
        exposure = "bake in an exposure correction, as enhance --exposure (pie-physics)"
        denoise = "bake in a denoiser strength, as enhance --denoise (pie-physics)"
    elif settings is None:
        return
    else:
        raise ValueError(f"`settings` must be 'apply', 'bake' or None, got {settings!r}.")
    p.add_argument("--exposure", type=float, default=None, metavar="STOPS", help=exposure)
    p.add_argument("--denoise", type=float, default=None, metavar="FACTOR", help=denoise)


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


def check_writable_folder(folder: Path, made: list[Path] | None = None) -> str | None:
    """Create ``folder`` if needed and check a file can be made in it; ``None`` or why not.

    The folders this call creates are appended to ``made`` (outermost first), so that a command
    that stops before writing anything can take them away again (:func:`remove_empty_folders`).
    """
    if folder.exists() and not folder.is_dir():
        return f"{folder} exists and is not a folder"
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if made is not None:
            made.extend(reversed(missing))
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".pyisp-contrast-", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return f"cannot write to the output folder {folder}: {reason}"
    return None


def remove_empty_folders(made: list[Path]) -> None:
    """Remove the folders of ``made`` (outermost first) that are still empty, innermost first.

    A folder with anything in it stays, and so do the folders around it.
    """
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            return


# -------------------------------------------------------------------------------------- threads

#: Environment variable giving a fixed CPU thread count (as ``--threads`` does).
THREADS_ENV = "PYISP_CONTRAST_THREADS"


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _busy_seconds(cpus: set[int] | None) -> float | None:
    """CPU-seconds spent not idle on ``cpus`` since boot (Linux ``/proc/stat``), else ``None``."""
    try:
        with open("/proc/stat") as f:
            lines = f.readlines()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = 0
    found = False
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy
        v = [int(x) for x in fields[:8]]
        busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
        found = True
    return busy / tick if found else None


class CpuThreads:
    """The CPU thread count of a command's torch and numba work, and how it was chosen.

    ``fixed`` (``--threads N``, else the :data:`THREADS_ENV` variable) pins the count. Otherwise
    (``auto``) the count is the CPUs this process may use minus the CPUs other programs kept busy
    since the last check (Linux ``/proc/stat``, our own CPU time subtracted), at least 1, and
    :meth:`update` re-checks it between inputs. Why: a parallel region waits for its slowest
    thread, so a thread that shares its core with a busy program stalls the others at every
    barrier; on 2 cores with one taken, 2 threads were several times slower per photo than 1.

    Example:
        >>> CpuThreads(fixed=1).count
        1
    """

    #: Seconds of history an automatic re-check needs (shorter windows are too coarse at 100 Hz).
    MIN_WINDOW = 0.5

    def __init__(self, fixed: int | None = None) -> None:
        if fixed is None:
            env = os.environ.get(THREADS_ENV, "").strip()
            if env:
                try:
                    fixed = int(env)
                except ValueError:
                    fixed = 0
                if fixed < 1:
                    raise ValueError(f"{THREADS_ENV}={env!r} must be a whole number >= 1.")
        elif isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 1:
            raise ValueError(f"--threads must be a whole number >= 1, got {fixed!r}.")
        self.fixed = fixed
        self.cpus = usable_cpus()
        self._mask = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        self.count = fixed if fixed is not None else self.cpus
        self._mark()
        if fixed is None:
            time.sleep(0.1)  # a first look at the other programs' load
            self._choose()
        self.apply()

    @property
    def mode(self) -> str:
        return "fixed" if self.fixed is not None else "auto"

    def _mark(self) -> None:
        self._t = time.monotonic()
        self._own = time.process_time()
        self._busy = _busy_seconds(self._mask)

    def _choose(self) -> None:
        wall = time.monotonic() - self._t
        own = time.process_time() - self._own
        busy = _busy_seconds(self._mask)
        if busy is not None and self._busy is not None and wall > 0:
            others = max(0.0, (busy - self._busy - own) / wall)
            self.count = max(1, min(self.cpus, self.cpus - round(others)))
        self._mark()

    def update(self) -> int:
        """Re-check the automatic count (at most every :attr:`MIN_WINDOW` s); returns it."""
        if self.fixed is None and time.monotonic() - self._t >= self.MIN_WINDOW:
            before = self.count
            self._choose()
            if self.count != before:
                self.apply()
        return self.count

    def apply(self) -> None:
        """Set torch's CPU thread count to :attr:`count` (the library's numba kernels follow it)."""
        torch.set_num_threads(self.count)
