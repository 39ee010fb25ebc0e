"""Tests for the ``pyisp-contrast demo`` sub-command."""

from __future__ import annotations

import json

import pytest
import torch

from pyisp_contrast.cli import main
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


@pytest.mark.parametrize(
    ("option", "message"),
    [(["-k", "0"], "--negatives must be >= 1, got 0"), (["--size", "8"], "--size must be >= 16")],
)
def test_demo_rejects_bad_options(tmp_path, capsys, option, message) -> None:
    """A usage error like the other commands': exit status 2 and one line on stderr."""
    assert main(["demo", "-o", str(tmp_path / "out"), *option]) == 2
    assert f"pyisp-contrast demo: error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_demo_grid_fills_the_last_row_with_white(tmp_path) -> None:
    """1 clean + 4 negatives: two rows of four tiles, the last three of the second row blank;
    ``--out``, the option's old name, still works."""
    assert main(["demo", "--out", str(tmp_path), "-k", "4", "--size", "16"]) == 0
    grid = read_image(tmp_path / "boc_negatives.png")
    assert grid.shape == (3, 2 * 20 + 4, 4 * 20 + 4)
    second_row_blank = grid[:, 24:40, 24 : 4 * 20]
    assert float(second_row_blank.min()) == 1.0
    assert float(grid[:, 24:40, 4:20].min()) < 1.0  # the fifth tile, a negative
