"""Reading and writing images as ``(C, H, W)`` float tensors in [0, 1].

Handles what photographs come as: 8-bit and 16-bit, grey, grey+alpha, RGB, RGBA and palette images.
Grey images become 3 identical channels (``mode="RGB"``, the default) so an RGB model can run on them;
alpha is dropped (composited on nothing: the colour channels are kept as stored) and returned apart
so callers can put it back. 16-bit PNG/TIFF keep their precision (divided by 65535).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

__all__ = ["IMAGE_SUFFIXES", "ImageReadError", "find_images", "read_image", "write_image"]

#: File name endings that :func:`find_images` treats as images (lower case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageReadError(OSError):
    """An image file could not be read (missing, corrupt, or not an image); names the path."""


def _to_float(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype in (np.uint16, np.int32, np.uint32) or arr.dtype.kind in "iu":
        # PIL reports 16-bit files as I;16 or I (int32); their range is 0..65535.
        return arr.astype(np.float32) / 65535.0
    if arr.dtype == bool:
        return arr.astype(np.float32)
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def read_image(
    path: str | os.PathLike, *, mode: str = "RGB", return_alpha: bool = False
) -> Tensor | tuple[Tensor, Tensor | None]:
    """Read an image file as a float tensor in [0, 1].

    Args:
        path: image file.
        mode: ``"RGB"`` (3 channels; grey is repeated) or ``"L"`` (1 channel, luma for colour input).
        return_alpha: also return the alpha channel ``(1, H, W)`` or ``None``.

    Returns:
        ``(C, H, W)`` float32 tensor, and the alpha when asked.

    Raises:
        ImageReadError: the file is missing, truncated or not an image; the message names it.
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"`mode` must be 'RGB' or 'L', got {mode!r}.")
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            alpha = None
            if im.mode in ("RGBA", "LA", "PA"):
                alpha = _to_float(np.asarray(im.getchannel("A")))
                im = im.convert("RGB" if im.mode == "RGBA" else "L")
            if im.mode == "CMYK" or im.mode == "YCbCr":
                im = im.convert("RGB")
            if im.mode == "1":
                im = im.convert("L")
            arr = _to_float(np.asarray(im))
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: no such file") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc})") from exc
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[-1] > 3:
        arr = arr[..., :3]
    if mode == "RGB" and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif mode == "L" and arr.shape[-1] == 3:
        arr = (0.299 * arr[..., 0] + 0.587 * arr[..., 1] + 0.114 * arr[..., 2])[..., None]
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if return_alpha:
        return t, (None if alpha is None else torch.from_numpy(alpha)[None])
    return t


def write_image(
    path: str | os.PathLike, image: Tensor, *, alpha: Tensor | None = None, bits: int = 8
) -> None:
    """Write a ``(C, H, W)`` or ``(1, C, H, W)`` tensor in [0, 1] as an image file (PNG for 16-bit).

    Args:
        path: destination; parent folders are created.
        image: 1 or 3 channels; values are clamped to [0, 1] and rounded.
        alpha: optional ``(1, H, W)`` alpha to store alongside (RGBA / LA).
        bits: 8 or 16 (16 only for single-channel PNG/TIFF, a PIL limit).
    """
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"`image` must have shape (C, H, W) with C in (1, 3), got {tuple(image.shape)}."
        )
    if bits not in (8, 16):
        raise ValueError(f"`bits` must be 8 or 16, got {bits}.")
    arr = image.detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
    if alpha is not None:
        arr = np.concatenate(
            [arr, alpha.detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0)], -1
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if bits == 16:
        if arr.shape[-1] != 1:
            raise ValueError(
                "16-bit output is supported for single-channel images only (a PIL limit)."
            )
        Image.fromarray(np.round(arr[..., 0] * 65535).astype(np.uint16)).save(path)
        return
    u8 = np.round(arr * 255).astype(np.uint8)
    Image.fromarray(u8[..., 0] if u8.shape[-1] == 1 else u8).save(path)


def find_images(inputs: Iterable[str | os.PathLike], *, recursive: bool = False) -> list[Path]:
    """Expand files, folders and glob patterns into a sorted, de-duplicated list of image paths.

    Raises:
        FileNotFoundError: an input matches nothing, or a folder holds no image files.
    """
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            it = p.rglob("*") if recursive else p.iterdir()
            files = sorted(f for f in it if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise FileNotFoundError(
                    f"{p}: folder holds no images (looked for {', '.join(IMAGE_SUFFIXES)})."
                )
            found.extend(files)
        elif p.is_file():
            found.append(p)
        else:
            import glob

            matches = sorted(
                Path(m) for m in glob.glob(str(item), recursive=True) if Path(m).is_file()
            )
            if not matches:
                raise FileNotFoundError(f"{item}: no such file, folder or glob match.")
            found.extend(matches)
    seen: set[Path] = set()
    unique = []
    for f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
