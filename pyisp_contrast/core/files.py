"""Weight files: writing them so that an interruption never leaves a half-written one under the
real name, and reading them safely.

Every writer of the package (enhanced photos, exported models, weights, training checkpoints, the
exposure encoder's weights) writes into a hidden partial file beside the destination and renames it
over the destination only once the write has finished: the rename is atomic on one file system, so
a reader sees the old file or the new one, never a mix. On any error, Ctrl-C or a signal turned into
an exception, the partial file is removed. :func:`load_weights` reads what ``torch.save`` wrote,
with ``weights_only=True`` (a weight file is untrusted input) and one clear error for a file that
cannot be read.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from collections.abc import Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import torch

__all__ = ["WeightsError", "load_weights", "partial_path", "written_atomically"]


class WeightsError(ValueError):
    """A weight file exists but cannot be used (corrupt, truncated, or not the expected kind)."""


def load_weights(
    source: Path | Traversable,
    label: str,
    remedy: str,
    map_location: str | torch.device = "cpu",
) -> Any:
    """What ``torch.save`` stored in ``source`` (a path or a packaged resource).

    Args:
        source: the file.
        label: what it is, for the message (``"weights file 'w.pt'"``).
        remedy: what to do about a file that cannot be read, for the message.
        map_location: where its tensors go (``torch.load``'s argument).

    Raises:
        WeightsError: the file is corrupt, truncated or not loadable with ``weights_only=True``.
    """
    stream: Any = source if isinstance(source, Path) else io.BytesIO(source.read_bytes())
    try:
        return torch.load(stream, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise WeightsError(
            f"could not read the {label}: it is corrupt, truncated or not a PyTorch checkpoint "
            f"loadable with weights_only=True ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:200]}). {remedy}"
        ) from err


def partial_path(dest: str | os.PathLike) -> Path:
    """A hidden, unique name beside ``dest``, with its suffix (writers that pick a format by the
    suffix still pick the right one): ``photo.png`` -> ``.photo.1a2b3c4d.partial.png``."""
    dest = Path(dest)
    return dest.with_name(f".{dest.stem}.{secrets.token_hex(4)}.partial{dest.suffix}")


@contextlib.contextmanager
def written_atomically(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a partial path to write; it replaces ``dest`` when the block ends without an error.

    The destination's folder is created if needed. Whatever stops the block (an exception,
    ``KeyboardInterrupt``) removes the partial file and leaves ``dest`` as it was.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> with written_atomically(folder / "notes.txt") as tmp:
        ...     _ = tmp.write_text("done")
        >>> (folder / "notes.txt").read_text(), [p.name for p in folder.iterdir()]
        ('done', ['notes.txt'])
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(dest)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
