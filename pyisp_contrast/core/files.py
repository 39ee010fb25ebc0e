"""Writing files so that an interruption never leaves a half-written one under the real name.

Every writer of the package (enhanced photos, exported models, weights, training checkpoints, the
exposure encoder's weights) writes into a hidden partial file beside the destination and renames it
over the destination only once the write has finished: the rename is atomic on one file system, so
a reader sees the old file or the new one, never a mix. On any error, Ctrl-C or a signal turned into
an exception, the partial file is removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["partial_path", "written_atomically"]


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
