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
    with pytest.raises(ValueError, match="single-channel"):
        write_image(tmp_path / "x.png", torch.rand(3, 4, 4), bits=16)


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
