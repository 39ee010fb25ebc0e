"""What an output of ``pyisp-contrast enhance`` was made from, recorded in the output itself.

A result is "already there" only if it was made from the same input file with the same model,
task and options. Each output carries a record of those: PNG results in a text chunk
(:data:`KEY`), videos in their container's metadata. :func:`compare` reads a record against the
job about to run and says whether to skip, redo or stop.

The record (JSON)::

    {"tool": "pyisp-contrast enhance", "version": "0.1.0",
     "input": {"path": "/abs/photo.jpg", "size": 123456, "mtime_ns": 1700000000000000000,
               "sha256": "..."},
     "model": {"weights": "pie-physics", "sha256": "..."},
     "task": "lowlight", "options": {"max_side": null}}

The input is the same when its path, size and modification time are, or, when it moved or was
touched, when its SHA-256 is. The model is identified by a hash of its architecture, config and
weights, so the same weights under another name or path count as the same model.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "KEY",
    "VIDEO_KEY",
    "Verdict",
    "compare",
    "file_sha256",
    "input_record",
    "make_record",
    "model_sha256",
    "read",
]

#: PNG text keyword (and, as ``pyisp_contrast``, video metadata key) of the record.
KEY = "pyisp-contrast"
#: Metadata key used in video containers (their tag names do not all allow '-').
VIDEO_KEY = "pyisp_contrast"
TOOL = "pyisp-contrast enhance"


class Verdict(NamedTuple):
    """``action`` is ``"do"`` (no output yet), ``"skip"``, ``"redo"`` or ``"conflict"``; ``why``
    says why for the last two."""

    action: str
    why: str = ""


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def model_sha256(model: Any) -> str:
    """A hash of a model's class, config and parameters: equal for equal weights, wherever loaded from.

    Example:
        >>> from pyisp_contrast.models import FastCurveEstimator
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> a = FastCurveEstimator(channels=4)
        >>> b = FastCurveEstimator(channels=4)
        >>> b.load_state_dict(a.state_dict())
        <All keys matched successfully>
        >>> model_sha256(a) == model_sha256(b)
        True
    """
    import torch

    h = hashlib.sha256()
    h.update(type(model).__qualname__.encode())
    config = getattr(model, "config", None)
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, t in model.state_dict().items():
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{t.numel()}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def input_record(path: Path, *, sha256: str | None = None) -> dict[str, Any]:
    """The ``input`` part of a record: absolute path, size, modification time (and hash if given)."""
    st = path.stat()
    rec: dict[str, Any] = {
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    if sha256 is not None:
        rec["sha256"] = sha256
    return rec


def make_record(
    path: Path, *, weights: str, model_hash: str, task: str, options: Mapping[str, Any]
) -> dict[str, Any]:
    """A full record for an input about to be enhanced (hashes the input)."""
    from pyisp_contrast import __version__

    return {
        "tool": TOOL,
        "version": __version__,
        "input": input_record(path, sha256=file_sha256(path)),
        "model": {"weights": weights, "sha256": model_hash},
        "task": task,
        "options": dict(options),
    }


def _parse(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        rec = json.loads(text)
    except ValueError:
        return None
    if isinstance(rec, dict) and VIDEO_KEY in rec and isinstance(rec[VIDEO_KEY], dict):
        rec = rec[VIDEO_KEY]  # AVI keeps only standard tags: the record sits in its comment
    return rec if isinstance(rec, dict) and rec.get("tool") == TOOL else None


def read(dest: Path) -> dict[str, Any] | None:
    """The record in an existing output, or ``None`` when it has none (or cannot be read)."""
    if dest.suffix.lower() == ".png":
        from pyisp_contrast.core.io import read_png_text

        return _parse(read_png_text(dest).get(KEY))
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(str(dest)) as container:
            meta = {k.lower(): v for k, v in container.metadata.items()}
    except (OSError, ValueError, av.error.FFmpegError):
        return None
    return _parse(meta.get(VIDEO_KEY)) or _parse(meta.get("comment"))


def compare(old: Mapping[str, Any] | None, path: Path, new: Mapping[str, Any]) -> Verdict:
    """What to do with an existing output whose record is ``old`` (``None``: none), for ``path``.

    Args:
        old: the existing output's record.
        path: the input about to be enhanced.
        new: ``{"model": {"weights", "sha256"}, "task", "options"}`` of the job about to run.
    """
    if old is None:
        return Verdict("conflict", "was not written by pyisp-contrast enhance")
    was = old.get("input") or {}
    now = input_record(path)
    same_path = was.get("path") == now["path"]
    if same_path and was.get("size") == now["size"] and was.get("mtime_ns") == now["mtime_ns"]:
        same_input = True
    elif was.get("size") == now["size"] and was.get("sha256"):
        same_input = was["sha256"] == file_sha256(path)
    else:
        same_input = False
    changed = []
    old_model, new_model = old.get("model") or {}, new["model"]
    if old_model.get("sha256") != new_model["sha256"]:
        changed.append(f"other weights ({old_model.get('weights', '?')})")
    if old.get("task") != new["task"]:
        changed.append(f"--task {old.get('task', '?')}")
    if (old.get("options") or {}) != dict(new["options"]):
        opts = ", ".join(f"{k}={v}" for k, v in sorted((old.get("options") or {}).items()))
        changed.append(f"other options ({opts or 'none'})")
    if same_input and not changed:
        return Verdict("skip")
    if same_input:
        return Verdict("redo", "made with " + " and ".join(changed))
    if same_path:
        return Verdict("redo", "the input changed since")
    return Verdict("conflict", f"was made from {was.get('path', 'another file')}")
