"""Tests for the ``pyisp-contrast demo`` sub-command."""

from __future__ import annotations

import json

import pytest
import torch

from pyisp_contrast.cli import main
from pyisp_contrast.cli.demo import make_grid
from pyisp_contrast.core.io import read_image


def test_demo_writes_sample_grid_and_record(tmp_path, capsys) -> None:
    assert main(["demo", "-o", str(tmp_path), "-k", "3", "--size", "32", "--seed", "1"]) == 0
    dark = read_image(tmp_path / "sample_lowlight.png")
    grid = read_image(tmp_path / "boc_negatives.png")
    assert dark.shape == (3, 32, 32) and float(dark.mean()) < 0.25
    # 1 clean + 3 negatives in one row of 4 tiles with 4 px padding
    assert grid.shape == (3, 32 + 8, 4 * 36 + 4)
    log = json.loads((tmp_path / "boc_record.json").read_text())
    assert len(log["negatives"]) == 3 and {"family", "param", "exposure"} <= set(
        log["negatives"][0]
    )
    assert "negative 2" in capsys.readouterr().out


def test_demo_is_reproducible(tmp_path) -> None:
    for d in ("a", "b"):
        main(["demo", "-o", str(tmp_path / d), "-k", "2", "--size", "24"])
    assert torch.equal(
        read_image(tmp_path / "a" / "boc_negatives.png"),
        read_image(tmp_path / "b" / "boc_negatives.png"),
    )


def test_demo_rejects_bad_options(tmp_path) -> None:
    with pytest.raises(SystemExit, match="negatives"):
        main(["demo", "-o", str(tmp_path), "-k", "0"])


def test_make_grid_layout() -> None:
    tiles = torch.zeros(5, 3, 2, 3)
    grid = make_grid(tiles, ncols=2, pad=1)
    assert grid.shape == (3, 3 * 3 + 1, 2 * 4 + 1)
    assert float(grid[:, 1:3, 1:4].abs().max()) == 0.0 and float(grid[:, 0].min()) == 1.0
