"""Reading and writing images as ``(C, H, W)`` float tensors in [0, 1].

Handles what photographs come as: 8-bit and 16-bit, grey, grey+alpha, RGB, RGBA and palette images,
JPEG, PNG, TIFF, BMP, WebP and (with the ``heic`` extra, ``pip install -e '.[heic]'``) HEIC/HEIF.
Grey images become 3 identical channels (``mode="RGB"``, the default) so an RGB model can run on them;
alpha is dropped (composited on nothing: the colour channels are kept as stored) and returned apart
so callers can put it back.

What a photo looks like is what is read:

- the EXIF orientation (phone photos are often stored sideways with a tag saying so) is applied,
  so the pixels come out as a viewer shows them;
- 16-bit PNG and TIFF keep their precision (divided by 65535), colour ones included (Pillow decodes
  16-bit colour PNG to 8 bits; this module reads both bytes of each sample, and 16-bit colour TIFF
  with tifffile);
- :func:`read_photo` also returns the ICC profile and the EXIF block (its orientation set to 1, as
  the pixels are already turned), which :func:`write_image` can carry to the output.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from .color import LUMA_WEIGHTS

__all__ = [
    "HEIF_SUFFIXES",
    "IMAGE_SUFFIXES",
    "ImageInfo",
    "ImageReadError",
    "Photo",
    "find_images",
    "read_image",
    "read_photo",
    "read_png_text",
    "write_image",
]

#: File name endings read with the optional pillow-heif (``pip install -e '.[heic]'``).
HEIF_SUFFIXES = (".heic", ".heif")

#: File name endings that :func:`find_images` treats as images (lower case).
IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", *HEIF_SUFFIXES,
)  # fmt: skip

#: The message of a HEIC/HEIF read without pillow-heif installed.
HEIF_INSTALL_HINT = "HEIC/HEIF images need pillow-heif: install with pip install -e '.[heic]'"

_EXIF_ORIENTATION = 0x0112
#: Image-layout tags of a TIFF directory (size, samples, strips, tiles, compression, colour
#: space, ICC and XMP blocks kept elsewhere), dropped from the EXIF carried to another file.
_TIFF_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 320, 322, 323, 324,
     325, 338, 339, 340, 341, 530, 531, 532, 700, 33723, 34377, 34675, 37724, 50838, 50839}
)  # fmt: skip


class ImageReadError(OSError):
    """An image file could not be read (missing, corrupt, or not an image); names the path."""


class ImageInfo(NamedTuple):
    """What :func:`read_photo` learnt about a file besides its pixels.

    Attributes:
        bits: bits per sample as stored (16 for 16-bit PNG/TIFF, else 8).
        channels: colour channels as stored, 1 (grey) or 3 (colour), alpha not counted.
        orientation: the EXIF orientation (1-8) that was applied on reading; 1 when none.
        icc_profile: the ICC profile of the returned pixels, or ``None`` (also when the pixels were
            converted from another colour space, e.g. CMYK, so the file's profile no longer fits).
        exif: the file's EXIF block with its orientation set to 1, or ``None``.
        format: Pillow's name of the file format (``"PNG"``, ``"JPEG"``, ...).
    """

    bits: int = 8
    channels: int = 3
    orientation: int = 1
    icc_profile: bytes | None = None
    exif: bytes | None = None
    format: str | None = None


class Photo(NamedTuple):
    """A photo read by :func:`read_photo`: ``image`` ``(C, H, W)``, ``alpha`` ``(1, H, W)`` or
    ``None``, and its :class:`ImageInfo`."""

    image: Tensor
    alpha: Tensor | None
    info: ImageInfo


def _to_float(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype in (np.uint16, np.int32, np.uint32) or arr.dtype.kind in "iu":
        # PIL reports 16-bit files as I;16 or I (int32); their range is 0..65535.
        return arr.astype(np.float32) / 65535.0
    if arr.dtype == bool:
        return arr.astype(np.float32)
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def _register_heif(path: Path) -> None:
    try:
        import pillow_heif
    except ImportError:
        raise ImageReadError(f"{path}: {HEIF_INSTALL_HINT}") from None
    pillow_heif.register_heif_opener()


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Turn ``arr`` ``(H, W, ...)`` as EXIF ``orientation`` says (what Pillow's exif_transpose does)."""
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.swapaxes(0, 1)
    if orientation == 6:
        return arr.swapaxes(0, 1)[:, ::-1]
    if orientation == 7:
        return arr.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return arr.swapaxes(0, 1)[::-1]
    return arr


def _exif_of(im: Image.Image) -> tuple[int, bytes | None]:
    """The EXIF orientation and the EXIF block with the orientation reset to 1."""
    try:
        exif = im.getexif()
    except Exception:  # a broken EXIF block must not stop reading the pixels
        return 1, None
    orientation = exif.get(_EXIF_ORIENTATION, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    # A TIFF's first IFD is also its image directory: its layout tags describe the source file,
    # not the photo, and would be wrong in any other file.
    for tag in _TIFF_LAYOUT_TAGS.intersection(exif):
        del exif[tag]
    if not len(exif):
        return orientation, None
    if _EXIF_ORIENTATION in exif:
        exif[_EXIF_ORIENTATION] = 1
    try:
        return orientation, exif.tobytes()
    except Exception:
        return orientation, None


# 16-bit colour PNG: Pillow's PNG decoder unfilters the rows correctly but keeps one byte per
# sample; its unpackers for big- and little-endian 16-bit data take the high and the low byte of
# the same stored sample, so two decodes give both. Grey+alpha has no such pair; its 4 bytes per
# pixel are decoded as raw RGBA bytes instead (the same bytes per pixel, so the same unfiltering).
_PNG16_PASSES = {
    "RGB;16B": ("RGB", ("RGB;16B", "RGB;16L")),
    "RGBA;16B": ("RGBA", ("RGBA;16B", "RGBA;16L")),
    "LA;16B": ("RGBA", ("RGBA",)),
}


def _png16_rawmode(im: Image.Image) -> str | None:
    if im.format != "PNG" or len(im.tile) != 1:
        return None
    args = im.tile[0][3]
    rawmode = args if isinstance(args, str) else (args[0] if args else None)
    return rawmode if rawmode in _PNG16_PASSES else None


def _decode_with_rawmode(path: Path, rawmode: str) -> np.ndarray:
    with Image.open(path) as im:
        tile = im.tile[0]
        im.tile = [(*tile[:3], rawmode)]
        im.load()
        return np.asarray(im)


def _read_png16(path: Path, rawmode: str) -> np.ndarray:
    """A 16-bit colour (or grey+alpha) PNG as ``(H, W, C)`` uint16, every bit kept."""
    _, passes = _PNG16_PASSES[rawmode]
    planes = [_decode_with_rawmode(path, r).astype(np.uint16) for r in passes]
    if len(planes) == 2:
        return (planes[0] << 8) | planes[1]
    raw = planes[0]  # grey+alpha: bytes L_hi, L_lo, A_hi, A_lo
    return np.stack([(raw[..., 0] << 8) | raw[..., 1], (raw[..., 2] << 8) | raw[..., 3]], -1)


def _tiff16_colour(im: Image.Image) -> bool:
    if im.format != "TIFF":
        return False
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return max(bits) == 16 and tags.get(277, 1) >= 3 and tags.get(262) == 2  # RGB samples


def _read_tiff16(path: Path) -> np.ndarray:
    """The first page of a 16-bit TIFF as ``(H, W, C)`` uint16."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        arr = page.asarray()
        axes = page.axes
    if "S" in axes and axes.index("S") != len(axes) - 1:
        arr = np.moveaxis(arr, axes.index("S"), -1)
    return arr.astype(np.uint16, copy=False)


def _load_tiff16_fallback(path: Path) -> tuple[np.ndarray, np.ndarray | None, ImageInfo]:
    """A 16-bit TIFF Pillow cannot open (e.g. grey+alpha), read with tifffile."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        tags = {t.code: t.value for t in page.tags.values()}
    if page.bitspersample != 16 or page.dtype is None or page.dtype.kind != "u":
        raise ImageReadError(f"{path}: cannot read image (not a TIFF Pillow or tifffile can read)")
    arr = _read_tiff16(path)
    if arr.ndim == 2:
        arr = arr[..., None]
    alpha = None
    if arr.shape[-1] in (2, 4):
        alpha, arr = arr[..., -1], arr[..., :-1]
    orientation = int(tags.get(274, 1))
    orientation = orientation if 1 <= orientation <= 8 else 1
    icc = tags.get(34675)
    info = ImageInfo(16, arr.shape[-1], orientation, bytes(icc) if icc else None, None, "TIFF")
    if orientation != 1:
        arr = _orient(arr, orientation)
        alpha = None if alpha is None else _orient(alpha, orientation)
    return arr, alpha, info


def _load(path: Path) -> tuple[np.ndarray, np.ndarray | None, ImageInfo]:
    """Pixels ``(H, W, C)`` (C 1 or 3, any int/float dtype), alpha ``(H, W)`` or None, and info."""
    if path.suffix.lower() in HEIF_SUFFIXES:
        _register_heif(path)
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        if path.suffix.lower() in (".tif", ".tiff"):
            try:
                return _load_tiff16_fallback(path)
            except Exception:
                pass  # not that either: report Pillow's error
        raise
    with im:
        fmt = im.format
        icc = im.info.get("icc_profile") or None
        png16 = _png16_rawmode(im)
        tiff16 = _tiff16_colour(im)
        im.load()
        orientation, exif = _exif_of(im)
        alpha = None
        if png16 is not None:
            arr = _read_png16(path, png16)
        elif tiff16:
            arr = _read_tiff16(path)
        else:
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            if im.mode in ("RGBA", "LA", "PA"):
                alpha = np.asarray(im.getchannel("A"))
                im = im.convert("RGB" if im.mode == "RGBA" else "L")
            if im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
                icc = None  # the file's profile describes the colour space converted from
            if im.mode == "1":
                im = im.convert("L")
            arr = np.asarray(im)
    if arr.ndim == 2:
        arr = arr[..., None]
    if png16 is not None or tiff16:
        if arr.shape[-1] in (2, 4):
            alpha, arr = arr[..., -1], arr[..., :-1]
        bits = 16
    else:
        bits = 16 if arr.dtype.itemsize >= 2 and arr.dtype.kind in "iu" else 8
    if arr.shape[-1] > 3:
        arr = arr[..., :3]
    info = ImageInfo(bits, arr.shape[-1], orientation, icc, exif, fmt)
    if orientation != 1:
        arr = _orient(arr, orientation)
        alpha = None if alpha is None else _orient(alpha, orientation)
    return arr, alpha, info


def _open_errors(path: Path):
    """Turn what Pillow and the decoders raise into :class:`ImageReadError` naming ``path``."""
    try:
        return _load(path)
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: no such file") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        hint = f"; {HEIF_INSTALL_HINT}" if "heif" in str(exc).lower() else ""
        raise ImageReadError(f"{path}: cannot read image ({exc}){hint}") from exc


def read_photo(path: str | os.PathLike, *, mode: str = "RGB") -> Photo:
    """Read an image file with what a photo carries: pixels, alpha, ICC profile, EXIF.

    The EXIF orientation is applied (the pixels come out as a viewer shows them) and
    ``info.exif`` has it reset to 1, so writing it with the pixels keeps them upright.

    Args:
        path: image file.
        mode: ``"RGB"`` (3 channels; grey is repeated) or ``"L"`` (1 channel, luma for colour input).

    Returns:
        A :class:`Photo`: the ``(C, H, W)`` float32 image in [0, 1], the alpha ``(1, H, W)`` or
        ``None``, and the :class:`ImageInfo`.

    Raises:
        ImageReadError: the file is missing, truncated or not an image, or a HEIC file without
            pillow-heif; the message names it.

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> path = os.path.join(tempfile.mkdtemp(), "turned.jpg")
        >>> exif = Image.Exif()
        >>> exif[0x0112] = 6  # stored 4 wide and 2 high, shown turned a quarter clockwise
        >>> Image.new("RGB", (4, 2)).save(path, exif=exif)
        >>> photo = read_photo(path)
        >>> tuple(photo.image.shape), photo.info.orientation
        ((3, 4, 2), 6)
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"`mode` must be 'RGB' or 'L', got {mode!r}.")
    path = Path(path)
    arr, alpha, info = _open_errors(path)
    arr = _to_float(arr)
    if mode == "RGB" and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif mode == "L" and arr.shape[-1] == 3:
        r, g, b = LUMA_WEIGHTS
        arr = (r * arr[..., 0] + g * arr[..., 1] + b * arr[..., 2])[..., None]
        info = info._replace(icc_profile=None)  # a colour profile does not describe luma
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    a = None if alpha is None else torch.from_numpy(np.ascontiguousarray(_to_float(alpha)))[None]
    return Photo(t, a, info)


def read_image(
    path: str | os.PathLike, *, mode: str = "RGB", return_alpha: bool = False
) -> Tensor | tuple[Tensor, Tensor | None]:
    """Read an image file as a float tensor in [0, 1], turned upright by its EXIF orientation.

    Args:
        path: image file.
        mode: ``"RGB"`` (3 channels; grey is repeated) or ``"L"`` (1 channel, luma for colour input).
        return_alpha: also return the alpha channel ``(1, H, W)`` or ``None``.

    Returns:
        ``(C, H, W)`` float32 tensor, and the alpha when asked.

    Raises:
        ImageReadError: the file is missing, truncated or not an image; the message names it.
    """
    photo = read_photo(path, mode=mode)
    if return_alpha:
        return photo.image, photo.alpha
    return photo.image


# ------------------------------------------------------------------------------------------ writing


def icc_space(profile: bytes) -> str:
    """The colour space an ICC profile describes (``"RGB"``, ``"GRAY"``, ...; ``""`` if too short).

    Example:
        >>> icc_space(bytes(16) + b"GRAY" + bytes(108))
        'GRAY'
    """
    return profile[16:20].decode("latin-1").strip() if len(profile) >= 20 else ""


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _itxt(key: str, value: str) -> bytes:
    return key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")


def _png16_bytes(
    arr: np.ndarray, *, icc_profile: bytes | None, exif: bytes | None, text: Mapping[str, str]
) -> bytes:
    """A 16-bit PNG of ``arr`` ``(H, W, C)`` uint16, C 1-4 (grey, grey+alpha, RGB, RGBA)."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = arr.astype(">u2").reshape(h, w * c).view(np.uint8)  # big-endian bytes, row by row
    # The "Sub" filter (each byte minus the same byte of the pixel to its left) shrinks smooth
    # photos well and needs no per-pixel loop to write.
    bpp = 2 * c
    filtered = rows.copy()
    filtered[:, bpp:] -= rows[:, :-bpp]
    raw = np.concatenate([np.ones((h, 1), np.uint8), filtered], 1)
    parts = [
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)),
    ]
    if icc_profile:
        parts.append(_png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc_profile)))
    if exif:
        parts.append(_png_chunk(b"eXIf", exif.removeprefix(b"Exif\0\0")))
    parts += [_png_chunk(b"iTXt", _itxt(k, v)) for k, v in text.items()]
    parts += [_png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)), _png_chunk(b"IEND", b"")]
    return b"".join(parts)


def _quantise(image: Tensor, bits: int) -> np.ndarray:
    """``(C, H, W)`` in [0, 1] -> ``(H, W, C)`` uint8 or uint16: clamped, scaled, rounded half to even.

    In place on one float32 copy (a 12-MP photo: one float copy and the integer result, instead
    of the three float copies that NumPy's ``round(arr * 255)`` makes).
    """
    scaled = image.detach().to("cpu", torch.float32, copy=True).clamp_(0, 1)
    scaled.mul_(255 if bits == 8 else 65535).round_()
    dtype = torch.uint8 if bits == 8 else torch.int32
    out = scaled.to(dtype).permute(1, 2, 0).contiguous().numpy()
    return out if bits == 8 else out.astype(np.uint16)


def write_image(
    path: str | os.PathLike,
    image: Tensor,
    *,
    alpha: Tensor | None = None,
    bits: int = 8,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    text: Mapping[str, str] | None = None,
) -> None:
    """Write a ``(C, H, W)`` or ``(1, C, H, W)`` tensor in [0, 1] as an image file.

    Args:
        path: destination; parent folders are created. The format follows the suffix.
        image: 1 or 3 channels; values are clamped to [0, 1] and rounded.
        alpha: optional ``(1, H, W)`` alpha to store alongside (RGBA / LA).
        bits: 8 or 16 (16: PNG or TIFF; grey, grey+alpha, RGB and RGBA).
        icc_profile: an ICC profile to embed (its colour space must be RGB for 3 channels, GRAY
            for 1), e.g. ``read_photo(src).info.icc_profile``.
        exif: an EXIF block to embed (PNG, JPEG, WebP, TIFF at 8 bits), e.g.
            ``read_photo(src).info.exif`` (its orientation is 1, matching upright pixels).
        text: PNG text chunks ``{keyword: text}`` (PNG only).

    Raises:
        ValueError: a bad shape, ``bits``, a profile for the other kind of image, or ``text``
            for a format other than PNG.
    """
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"`image` must have shape (C, H, W) with C in (1, 3), got {tuple(image.shape)}."
        )
    if bits not in (8, 16):
        raise ValueError(f"`bits` must be 8 or 16, got {bits}.")
    path = Path(path)
    suffix = path.suffix.lower()
    if icc_profile is not None:
        want = "RGB" if image.shape[0] == 3 else "GRAY"
        if icc_space(icc_profile) != want:
            raise ValueError(
                f"`icc_profile` describes {icc_space(icc_profile) or 'an unknown'} colour space, "
                f"but the image has {image.shape[0]} channel(s) (needs a {want} profile)."
            )
    if text and suffix != ".png":
        raise ValueError(f"`text` chunks can only be written to PNG files, not {path.name}.")
    if bits == 16 and suffix not in (".png", ".tif", ".tiff"):
        raise ValueError(f"16-bit output needs a .png or .tif file, not {path.name}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = _quantise(image, bits)
    if alpha is not None:
        arr = np.concatenate([arr, _quantise(alpha, bits)], -1)
    if bits == 16:
        if suffix == ".png":
            data = _png16_bytes(arr, icc_profile=icc_profile, exif=exif, text=text or {})
            path.write_bytes(data)
        else:
            import tifffile

            photometric = "rgb" if arr.shape[-1] >= 3 else "minisblack"
            extrasamples = ("unassalpha",) if alpha is not None else None
            tifffile.imwrite(
                path, arr if arr.shape[-1] > 1 else arr[..., 0], photometric=photometric,
                extrasamples=extrasamples, iccprofile=icc_profile,
            )  # fmt: skip
        return
    im = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    options: dict = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if exif:
        options["exif"] = exif
    if text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
        options["pnginfo"] = info
    im.save(path, **options)


def read_png_text(path: str | os.PathLike) -> dict[str, str]:
    """The text chunks of a PNG file (``{}`` for a file that is not a readable PNG)."""
    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                return {}
            return {str(k): str(v) for k, v in getattr(im, "text", {}).items()}
    except (OSError, SyntaxError, ValueError):
        return {}


# --------------------------------------------------------------------------------------- finding


def _hidden(path: Path, root: Path) -> bool:
    """Whether ``path`` (under ``root``) or a folder between them has a name starting with '.'."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def find_images(
    inputs: Iterable[str | os.PathLike],
    *,
    recursive: bool = False,
    errors: list[str] | None = None,
) -> list[Path]:
    """Expand files, folders and glob patterns into a sorted, de-duplicated list of image paths.

    Files named explicitly are taken as given. Folders give their image files (by suffix,
    :data:`IMAGE_SUFFIXES`) except hidden ones (a name starting with ``.``: editors' and
    downloads' partial files, macOS ``._name`` resource forks), as globs do.

    Args:
        inputs: files, folders and glob patterns.
        recursive: also search sub-folders of folders (hidden ones are skipped).
        errors: when a list, an input that matches nothing (or a folder without images) is
            described there and the others are still expanded; when ``None`` it raises.

    Raises:
        FileNotFoundError: an input matches nothing, or a folder holds no image files (only when
            ``errors`` is ``None``).
    """
    import glob

    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        problem = None
        if p.is_dir():
            it = p.rglob("*") if recursive else p.iterdir()
            files = sorted(
                f
                for f in it
                if f.suffix.lower() in IMAGE_SUFFIXES and not _hidden(f, p) and f.is_file()
            )
            if not files:
                problem = f"{p}: folder holds no images (looked for {', '.join(IMAGE_SUFFIXES)})."
            found.extend(files)
        elif p.is_file():
            found.append(p)
        else:
            matches = sorted(
                Path(m) for m in glob.glob(str(item), recursive=True) if Path(m).is_file()
            )
            if not matches:
                problem = f"{item}: no such file, folder or glob match."
            found.extend(matches)
        if problem is not None:
            if errors is None:
                raise FileNotFoundError(problem)
            errors.append(problem)
    seen: set[Path] = set()
    unique = []
    for f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
