"""Tests for pyisp_contrast.core.io (files written to tmp_path; nothing outside the repo is read)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pyisp_contrast.core.io import (
    IMAGE_SUFFIXES,
    ImageReadError,
    find_images,
    read_image,
    read_photo,
    read_png_text,
    write_image,
)


def _rgb(h=5, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------------------------------ reading


def test_read_rgb_8bit_values_and_layout(tmp_path) -> None:
    arr = _rgb()
    Image.fromarray(arr).save(tmp_path / "a.png")
    t = read_image(tmp_path / "a.png")
    assert t.shape == (3, 5, 7) and t.dtype == torch.float32
    np.testing.assert_allclose(t.permute(1, 2, 0).numpy(), arr / 255.0, atol=1e-7)


def test_read_grey_becomes_three_channels_or_stays_one(tmp_path) -> None:
    arr = _rgb()[..., 0]
    Image.fromarray(arr).save(tmp_path / "g.png")
    t = read_image(tmp_path / "g.png")
    assert t.shape == (3, 5, 7) and torch.equal(t[0], t[1]) and torch.equal(t[1], t[2])
    t1 = read_image(tmp_path / "g.png", mode="L")
    assert t1.shape == (1, 5, 7)
    np.testing.assert_allclose(t1[0].numpy(), arr / 255.0, atol=1e-7)


def test_read_colour_as_luma(tmp_path) -> None:
    arr = _rgb()
    Image.fromarray(arr).save(tmp_path / "a.png")
    t = read_image(tmp_path / "a.png", mode="L")
    f = arr / 255.0
    ref = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    np.testing.assert_allclose(t[0].numpy(), ref, atol=1e-6)


def test_read_16bit_keeps_precision(tmp_path) -> None:
    arr = (np.arange(35, dtype=np.uint16).reshape(5, 7) * 1871).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "d.png")
    t = read_image(tmp_path / "d.png", mode="L")
    np.testing.assert_allclose(t[0].numpy(), arr / 65535.0, atol=1e-7)
    # values that differ by less than one 8-bit step stay distinct
    assert len(torch.unique(t)) == 35


def test_read_rgba_returns_alpha_apart(tmp_path) -> None:
    arr = np.concatenate([_rgb(), np.full((5, 7, 1), 128, np.uint8)], axis=-1)
    Image.fromarray(arr, mode="RGBA").save(tmp_path / "a.png")
    t, alpha = read_image(tmp_path / "a.png", return_alpha=True)
    assert t.shape == (3, 5, 7) and alpha.shape == (1, 5, 7)
    np.testing.assert_allclose(alpha.numpy(), 128 / 255.0, atol=1e-7)
    np.testing.assert_allclose(t.permute(1, 2, 0).numpy(), arr[..., :3] / 255.0, atol=1e-7)
    assert torch.equal(read_image(tmp_path / "a.png"), t)  # without return_alpha: the image only


def test_read_grey_alpha_and_no_alpha(tmp_path) -> None:
    la = np.stack([_rgb()[..., 0], np.full((5, 7), 255, np.uint8)], axis=-1)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    t, alpha = read_image(tmp_path / "la.png", return_alpha=True)
    assert t.shape == (3, 5, 7) and float(alpha.min()) == 1.0
    Image.fromarray(_rgb()).save(tmp_path / "rgb.png")
    _, alpha = read_image(tmp_path / "rgb.png", return_alpha=True)
    assert alpha is None


def test_read_palette_and_bilevel(tmp_path) -> None:
    arr = _rgb()
    Image.fromarray(arr).convert("P", palette=Image.Palette.ADAPTIVE, colors=8).save(
        tmp_path / "p.png"
    )
    t = read_image(tmp_path / "p.png")
    assert t.shape == (3, 5, 7) and float(t.min()) >= 0 and float(t.max()) <= 1
    Image.fromarray(arr[..., 0] > 127).save(tmp_path / "b.png")
    t = read_image(tmp_path / "b.png")
    assert set(torch.unique(t).tolist()) <= {0.0, 1.0}


def test_read_jpeg_and_bmp(tmp_path) -> None:
    for suffix in (".jpg", ".bmp"):
        Image.fromarray(_rgb(16, 16)).save(tmp_path / f"a{suffix}")
        assert read_image(tmp_path / f"a{suffix}").shape == (3, 16, 16)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_read_corrupt_files_name_the_path(tmp_path, content) -> None:
    p = tmp_path / "broken.png"
    p.write_bytes(content)
    with pytest.raises(ImageReadError, match=r"broken\.png: cannot read image"):
        read_image(p)


def test_read_missing_file_and_bad_mode(tmp_path) -> None:
    with pytest.raises(ImageReadError, match=r"nope\.png: no such file"):
        read_image(tmp_path / "nope.png")
    assert issubclass(ImageReadError, OSError)
    with pytest.raises(ValueError, match="mode"):
        read_image(tmp_path / "nope.png", mode="RGBA")


# ------------------------------------------------------------------------------------------ writing


def test_write_then_read_round_trip_8bit(tmp_path) -> None:
    x = torch.rand(3, 6, 9)
    write_image(tmp_path / "sub" / "x.png", x)  # creates the folder
    back = read_image(tmp_path / "sub" / "x.png")
    assert float((back - x).abs().max()) <= 0.5 / 255 + 1e-6
    write_image(tmp_path / "b.png", x.unsqueeze(0))  # (1, C, H, W) accepted
    assert read_image(tmp_path / "b.png").shape == (3, 6, 9)


def test_write_clamps_and_handles_grey_and_16bit(tmp_path) -> None:
    write_image(tmp_path / "c.png", torch.tensor([[[-1.0, 2.0]]]).expand(3, 1, 2))
    assert read_image(tmp_path / "c.png")[0, 0].tolist() == [0.0, 1.0]
    g = torch.rand(1, 4, 4)
    write_image(tmp_path / "g16.png", g, bits=16)
    back = read_image(tmp_path / "g16.png", mode="L")
    assert float((back - g).abs().max()) <= 0.5 / 65535 + 1e-7
    write_image(tmp_path / "g8.png", g)
    assert read_image(tmp_path / "g8.png", mode="L").shape == (1, 4, 4)


@pytest.mark.parametrize("bits, suffix", [(8, ".png"), (16, ".png"), (16, ".tif")])
def test_write_rounds_half_to_even_like_numpy(tmp_path, bits: int, suffix: str) -> None:
    scale = 255 if bits == 8 else 65535
    g = torch.Generator().manual_seed(0)
    # exact halves (ties), values out of range and plain random values, with alpha
    ties = (torch.arange(12, dtype=torch.float64) + 0.5) / scale
    image = torch.rand(3, 4, 9, generator=g) * 1.2 - 0.1
    image[0, 0, :9] = ties[:9].float()
    alpha = torch.rand(1, 4, 9, generator=g)
    write_image(tmp_path / f"x{suffix}", image, alpha=alpha, bits=bits)
    img, alpha_read, _ = read_photo(tmp_path / f"x{suffix}")
    got = (torch.cat([img, alpha_read]).double() * scale).round().numpy().transpose(1, 2, 0)
    arr = np.concatenate([image.numpy(), alpha.numpy()]).transpose(1, 2, 0).clip(0, 1)
    want = np.round(arr * np.float32(scale))
    np.testing.assert_array_equal(got, want)


def test_write_with_alpha(tmp_path) -> None:
    x, a = torch.rand(3, 4, 4), torch.full((1, 4, 4), 0.5)
    write_image(tmp_path / "a.png", x, alpha=a)
    back, alpha = read_image(tmp_path / "a.png", return_alpha=True)
    assert float((alpha - 0.5).abs().max()) <= 0.5 / 255 + 1e-6
    assert float((back - x).abs().max()) <= 0.5 / 255 + 1e-6


def test_write_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="image"):
        write_image(tmp_path / "x.png", torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match="image"):
        write_image(tmp_path / "x.png", torch.rand(4, 4))
    with pytest.raises(ValueError, match="bits"):
        write_image(tmp_path / "x.png", torch.rand(3, 4, 4), bits=12)
    with pytest.raises(ValueError, match=r"16-bit output needs a \.png or \.tif"):
        write_image(tmp_path / "x.jpg", torch.rand(3, 4, 4), bits=16)
    with pytest.raises(ValueError, match="only be written to PNG"):
        write_image(tmp_path / "x.jpg", torch.rand(3, 4, 4), text={"k": "v"})
    with pytest.raises(ValueError, match="needs a GRAY profile"):
        write_image(tmp_path / "x.png", torch.rand(1, 4, 4), icc_profile=_fake_icc("RGB "))


# ------------------------------------------------------------------------------------- find_images


def test_find_images_files_folders_globs(tmp_path) -> None:
    (tmp_path / "d" / "deep").mkdir(parents=True)
    for name in ("b.png", "a.JPG", "notes.txt"):
        (tmp_path / "d" / name).write_bytes(b"x")
    (tmp_path / "d" / "deep" / "c.bmp").write_bytes(b"x")
    found = find_images([tmp_path / "d"])
    assert [p.name for p in found] == ["a.JPG", "b.png"]  # sorted, images only, not recursive
    found = find_images([tmp_path / "d"], recursive=True)
    assert [p.name for p in found] == ["a.JPG", "b.png", "c.bmp"]
    found = find_images([str(tmp_path / "d" / "*.png")])
    assert [p.name for p in found] == ["b.png"]
    # explicit files are taken as given, duplicates removed, order kept
    found = find_images([tmp_path / "d" / "b.png", tmp_path / "d", tmp_path / "d" / "notes.txt"])
    assert [p.name for p in found] == ["b.png", "a.JPG", "notes.txt"]
    assert ".png" in IMAGE_SUFFIXES


def test_find_images_errors(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="holds no images"):
        find_images([tmp_path / "empty"])
    with pytest.raises(FileNotFoundError, match="no such file, folder or glob"):
        find_images([tmp_path / "missing*.png"])


def test_find_images_skips_hidden_files_and_folders(tmp_path) -> None:
    d = tmp_path / "d"
    (d / ".cache").mkdir(parents=True)
    (d / "sub").mkdir()
    for name in ("a.png", ".a.1234.partial.png", "._a.png", ".cache/b.png", "sub/c.png"):
        (d / name).write_bytes(b"x")
    assert [p.name for p in find_images([d])] == ["a.png"]
    assert [p.name for p in find_images([d], recursive=True)] == ["a.png", "c.png"]
    assert [p.name for p in find_images([str(d / "*.png")])] == ["a.png"]  # as the shell does
    # a hidden file named explicitly is taken as given
    assert [p.name for p in find_images([d / "._a.png"])] == ["._a.png"]
    (tmp_path / "only_hidden").mkdir()
    (tmp_path / "only_hidden" / "._x.png").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="holds no images"):
        find_images([tmp_path / "only_hidden"])


def test_find_images_collects_problems_when_asked(tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    problems: list[str] = []
    found = find_images(
        [tmp_path / "gone.png", tmp_path / "a.png", tmp_path / "empty"], errors=problems
    )
    assert [p.name for p in found] == ["a.png"]
    assert len(problems) == 2
    assert "gone.png: no such file" in problems[0] and "holds no images" in problems[1]


# -------------------------------------------------------------------------- photos: orientation


def _exif(orientation: int, **tags) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    for tag, value in tags.items():
        exif[int(tag.removeprefix("t"))] = value
    return exif


def test_exif_orientation_6_is_shown_upright(tmp_path) -> None:
    # The case: a phone JPEG stored 400x200 with Orientation=6 is shown 200x400.
    arr = np.zeros((200, 400, 3), np.uint8)
    arr[:, :20] = 255  # a bright stripe on the stored left edge
    Image.fromarray(arr).save(tmp_path / "phone.jpg", exif=_exif(6), quality=95)
    photo = read_photo(tmp_path / "phone.jpg")
    assert photo.image.shape == (3, 400, 200) and photo.info.orientation == 6
    # turned a quarter clockwise: the stored left edge is now the top
    assert float(photo.image[:, :10].mean()) > 0.9 and float(photo.image[:, -10:].mean()) < 0.1
    assert read_image(tmp_path / "phone.jpg").shape == (3, 400, 200)
    # the EXIF kept for the output says the pixels are upright now
    kept = Image.Exif()
    kept.load(photo.info.exif)
    assert kept[0x0112] == 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path, orientation) -> None:
    from PIL import ImageOps

    arr = _rgb(3, 5, seed=orientation)
    Image.fromarray(arr).save(tmp_path / "o.png", exif=_exif(orientation))
    with Image.open(tmp_path / "o.png") as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    photo = read_photo(tmp_path / "o.png")
    got = np.round(photo.image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(got, expected)
    assert photo.info.orientation == orientation


def test_orientation_turns_alpha_too(tmp_path) -> None:
    rgba = np.zeros((2, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0  # the stored top-left pixel is transparent
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png", exif=_exif(8))
    photo = read_photo(tmp_path / "a.png")
    assert photo.image.shape == (3, 4, 2) and photo.alpha.shape == (1, 4, 2)
    # orientation 8 turns a quarter counter-clockwise: stored top-left goes to bottom-left
    assert float(photo.alpha[0, 3, 0]) == 0.0 and float(photo.alpha.sum()) == 7.0


# ------------------------------------------------------------------- photos: ICC and EXIF carried


def _fake_icc(space: str) -> bytes:
    """A header-only ICC profile of the given colour space (enough for the checks here)."""
    header = bytearray(128)
    header[0:4] = (128).to_bytes(4, "big")
    header[12:16] = b"mntr"
    header[16:20] = space.encode("latin-1")
    header[36:40] = b"acsp"
    return bytes(header)


@pytest.mark.parametrize("bits", [8, 16])
def test_icc_and_exif_carried_to_png(tmp_path, bits) -> None:
    icc = _fake_icc("RGB ")
    Image.fromarray(_rgb(6, 8)).save(
        tmp_path / "in.jpg", exif=_exif(3, t271="PhoneMaker", t272="Model 9"), icc_profile=icc
    )
    photo = read_photo(tmp_path / "in.jpg")
    assert photo.info.icc_profile == icc and photo.info.format == "JPEG"
    write_image(tmp_path / "out.png", photo.image, bits=bits, icc_profile=photo.info.icc_profile,
                exif=photo.info.exif, text={"made-by": "test ✓"})  # fmt: skip
    back = read_photo(tmp_path / "out.png")
    assert back.info.icc_profile == icc and back.info.bits == bits
    assert back.info.orientation == 1  # not turned a second time
    assert back.image.shape == photo.image.shape
    exif = Image.Exif()
    exif.load(back.info.exif)
    assert exif[271] == "PhoneMaker" and exif[272] == "Model 9" and exif[0x0112] == 1
    assert read_png_text(tmp_path / "out.png") == {"made-by": "test ✓"}


def test_converted_colour_space_drops_its_profile(tmp_path) -> None:
    Image.new("CMYK", (4, 4), (0, 128, 255, 0)).save(
        tmp_path / "cmyk.jpg", icc_profile=_fake_icc("CMYK")
    )
    photo = read_photo(tmp_path / "cmyk.jpg")
    assert photo.image.shape == (3, 4, 4) and photo.info.icc_profile is None
    Image.fromarray(_rgb()).save(tmp_path / "rgb.png", icc_profile=_fake_icc("RGB "))
    assert read_photo(tmp_path / "rgb.png", mode="L").info.icc_profile is None


def test_tiff_layout_tags_are_not_carried_as_exif(tmp_path) -> None:
    Image.fromarray(_rgb()).save(tmp_path / "a.tif", exif=_exif(1, t271="Maker"))
    exif = Image.Exif()
    exif.load(read_photo(tmp_path / "a.tif").info.exif)
    assert exif[271] == "Maker"
    assert not {256, 257, 258, 273, 279} & set(exif)  # sizes and strips of the source file


def test_read_png_text_of_other_files(tmp_path) -> None:
    Image.fromarray(_rgb()).save(tmp_path / "a.jpg")
    assert read_png_text(tmp_path / "a.jpg") == {}
    assert read_png_text(tmp_path / "missing.png") == {}


# ------------------------------------------------------------------------ photos: 16-bit colour


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    a, b, c = (v.astype(np.int16) for v in (a, b, c))
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c)).astype(np.uint8)


def _filtered_rows(rows: np.ndarray, bpp: int) -> bytes:
    """PNG scanlines of ``rows`` (H, row bytes) uint8, cycling through all five filter types."""
    out = []
    prev = np.zeros_like(rows[0])
    for i, row in enumerate(rows):
        kind = i % 5
        left = np.concatenate([np.zeros(bpp, np.uint8), row[:-bpp]])
        up_left = np.concatenate([np.zeros(bpp, np.uint8), prev[:-bpp]])
        if kind == 0:
            f = row
        elif kind == 1:
            f = row - left
        elif kind == 2:
            f = row - prev
        elif kind == 3:
            f = row - ((left.astype(np.uint16) + prev) // 2).astype(np.uint8)
        else:
            f = row - _paeth(left, prev, up_left)
        out.append(bytes([kind]) + f.astype(np.uint8).tobytes())
        prev = row
    return b"".join(out)


#: Adam7 passes: (row start, column start, row step, column step).
_ADAM7 = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2),
          (1, 0, 2, 1)]  # fmt: skip


def _png16(arr: np.ndarray, *, interlaced: bool = False) -> bytes:
    """A 16-bit PNG of ``arr`` (H, W, C) written by hand (all filter types; Adam7 if asked)."""
    import struct
    import zlib

    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    big = arr.astype(">u2")
    if interlaced:
        passes = [big[r::dr, col::dc] for r, col, dr, dc in _ADAM7]
        data = b"".join(
            _filtered_rows(p.reshape(p.shape[0], -1).view(np.uint8), 2 * c)
            for p in passes
            if p.size
        )
    else:
        data = _filtered_rows(big.reshape(h, -1).view(np.uint8), 2 * c)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, int(interlaced))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(data))
            + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("channels", [2, 3, 4])
@pytest.mark.parametrize("interlaced", [False, True])
def test_16bit_colour_png_read_at_full_precision(tmp_path, channels, interlaced) -> None:
    rng = np.random.default_rng(channels)
    arr = rng.integers(0, 65536, size=(13, 11, channels), dtype=np.uint16)
    (tmp_path / "c.png").write_bytes(_png16(arr, interlaced=interlaced))
    photo = read_photo(tmp_path / "c.png")
    colour = arr[..., : channels - 1] if channels in (2, 4) else arr
    expected = np.repeat(colour, 3, axis=-1) if colour.shape[-1] == 1 else colour
    np.testing.assert_array_equal(
        np.round(photo.image.permute(1, 2, 0).numpy().astype(np.float64) * 65535), expected
    )
    assert photo.info.bits == 16 and photo.info.channels == (1 if channels == 2 else 3)
    if channels in (2, 4):
        np.testing.assert_array_equal(np.round(photo.alpha[0].numpy() * 65535.0), arr[..., -1])
    else:
        assert photo.alpha is None


def test_16bit_colour_ramp_keeps_every_level(tmp_path) -> None:
    # The hand-made ramp: 300 levels a step of 200 apart came out as 52 distinct values.
    ramp = (np.arange(300, dtype=np.uint16) * 200)[None, :, None]
    arr = np.broadcast_to(ramp, (4, 300, 3)) * np.array([1, 1, 0], np.uint16)
    (tmp_path / "ramp.png").write_bytes(_png16(arr))
    t = read_image(tmp_path / "ramp.png")
    assert len(torch.unique(t[0])) == 300
    np.testing.assert_allclose(t[0, 0].numpy(), ramp[0, :, 0] / 65535.0, atol=1e-7)


@pytest.mark.parametrize("channels,alpha", [(3, False), (3, True), (1, True)])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_write_round_trip(tmp_path, channels, alpha, suffix) -> None:
    g = torch.Generator().manual_seed(channels)
    x = torch.rand(channels, 9, 7, generator=g)
    a = torch.rand(1, 9, 7, generator=g) if alpha else None
    write_image(tmp_path / f"x{suffix}", x, alpha=a, bits=16)
    photo = read_photo(tmp_path / f"x{suffix}", mode="RGB" if channels == 3 else "L")
    assert photo.info.bits == 16 and photo.info.channels == channels
    assert float((photo.image - x).abs().max()) <= 0.5 / 65535 + 1e-7
    if alpha:
        assert float((photo.alpha - a).abs().max()) <= 0.5 / 65535 + 1e-7


def test_written_16bit_png_is_a_valid_png_for_pillow(tmp_path) -> None:
    x = torch.rand(3, 5, 6)
    write_image(tmp_path / "x.png", x, bits=16)
    with Image.open(tmp_path / "x.png") as im:
        im.load()  # CRCs and the zlib stream check out
        assert im.size == (6, 5) and im.mode == "RGB"
        # Pillow's own 8-bit reading keeps the high byte of each sample
        np.testing.assert_array_equal(
            np.asarray(im), (np.round(x.permute(1, 2, 0).numpy() * 65535).astype(np.uint16) >> 8)
        )


# ------------------------------------------------------------------------------------- HEIC


def test_heic_without_the_extra_says_how_to_install(tmp_path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if not installed
    (tmp_path / "p.heic").write_bytes(b"\0\0\0\x18ftypheic")
    with pytest.raises(ImageReadError, match=r"p\.heic: .*pip install -e '\.\[heic\]'"):
        read_image(tmp_path / "p.heic")
    assert ".heic" in IMAGE_SUFFIXES and ".heif" in IMAGE_SUFFIXES
