"""HEIC/HEIF photos (the ``heic`` extra): read upright, with their EXIF, through the CLI too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

pillow_heif = pytest.importorskip(
    "pillow_heif", reason="HEIC reading needs pillow-heif: install with pip install -e '.[heic]'"
)

from pyisp_contrast.cli import main  # noqa: E402
from pyisp_contrast.core.io import find_images, read_photo  # noqa: E402
from pyisp_contrast.models import FastCurveEstimator, save_pretrained  # noqa: E402


def _heic(path, orientation: int = 1) -> np.ndarray:
    arr = np.zeros((32, 48, 3), np.uint8)
    arr[:, :8] = (200, 40, 40)  # a red stripe on the stored left edge
    arr[:, 8:] = 30
    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[271] = "HeicMaker"
    # as bytes: pillow-heif then stores the turn as the HEIF transform a viewer applies
    Image.fromarray(arr).save(path, exif=exif.tobytes(), quality=95)
    return arr


def test_heic_is_read_upright_with_its_exif(tmp_path) -> None:
    _heic(tmp_path / "p.heic", orientation=6)
    photo = read_photo(tmp_path / "p.heic")
    assert photo.image.shape == (3, 48, 32)  # shown turned a quarter clockwise
    assert float(photo.image[0, :4].mean()) > float(photo.image[0, -4:].mean()) + 0.3
    exif = Image.Exif()
    exif.load(photo.info.exif)
    assert exif[271] == "HeicMaker" and exif.get(0x0112, 1) == 1
    assert [p.name for p in find_images([tmp_path])] == ["p.heic"]


def test_enhance_reads_heic(tmp_path) -> None:
    _heic(tmp_path / "p.heif")
    torch.manual_seed(0)
    save_pretrained(FastCurveEstimator(), tmp_path / "w.pt")
    out = tmp_path / "out"
    assert main(["enhance", str(tmp_path / "p.heif"), "-o", str(out), "--weights",
                 str(tmp_path / "w.pt"), "-q"]) == 0  # fmt: skip
    with Image.open(out / "p.png") as im:
        assert im.size == (48, 32)
